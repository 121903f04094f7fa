import ArtifactStore
import Foundation
import Pipeline
import SteeringCore
import SteeringTestSupport
import Testing

@Suite("Effect measurement")
struct EffectMeasurementTests {
    func withStore<R>(_ body: (ArtifactStore, String) throws -> R) throws -> R {
        let dir = try makeTemporaryDirectory("effects")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try body(try ArtifactStore(path: dir + "/store"), dir)
    }

    @Test("same inputs and seed give identical effect bytes and keys; a second run runs the model zero times")
    func determinismAndCache() throws {
        let sae = try PipelineFixtures.sae()
        let probes = try PipelineFixtures.probes(sae, 0..<3)
        let a = try withStore { store, _ in
            let model = CountingBackend(try PipelineFixtures.model())
            let measurer = try EffectMeasurer(
                model: model, dictionary: sae, store: store, measurement: PipelineFixtures.measurement,
                scaling: .fixed(6))
            let first = try EffectJob(measurer: measurer, vectors: probes).run()
            #expect(first.measured == 3 && first.skipped == 0)
            #expect(model.totalCalls > 0)
            let callsAfterFirst = model.totalCalls
            let second = try EffectJob(measurer: measurer, vectors: probes).run()
            #expect(second.measured == 0 && second.skipped == 3)
            #expect(model.totalCalls == callsAfterFirst, "a repeated job must not run the model")
            let again = try measurer.measure(probes[1])
            #expect(again.cached)
            #expect(model.totalCalls == callsAfterFirst)
            return try PipelineFixtures.contents(store)
        }
        let b = try withStore { store, _ in
            // The counting wrapper above is no SiteReadoutBackend, so it measured by re-encode.
            let measurer = try EffectMeasurer(
                model: try PipelineFixtures.model(), dictionary: sae, store: store,
                measurement: PipelineFixtures.measurement, scaling: .fixed(6), execution: .reencode)
            _ = try EffectJob(measurer: measurer, vectors: probes).run()
            return try PipelineFixtures.contents(store)
        }
        #expect(a == b, "identical keys and payload digests in two independent runs")
        #expect(a.count == 1 + 3 + 3, "baseline, 3 vectors, 3 effects")
    }

    @Test("the zero vector changes nothing: steered means equal unsteered means bit for bit")
    func zeroVector() throws {
        try withStore { store, _ in
            let model = try PipelineFixtures.model()
            let sae = try PipelineFixtures.sae()
            let measurer = try EffectMeasurer(
                model: model, dictionary: sae, store: store, measurement: PipelineFixtures.measurement,
                scaling: .fixed(1))
            let zero = Intervention(site: ActivationSite(layer: 1), vector: [Float](repeating: 0, count: 64), scale: 7)
            let steered = try measurer.meanFeaturesForTesting(steering: zero)
            let unsteered = try measurer.meanFeaturesForTesting(steering: nil)
            #expect(steered == unsteered)
            let baseline = try measurer.baseline()
            let effect = zip(steered, baseline).map { $0 - $1 }
            let expected = zip(unsteered, baseline).map { $0 - $1 }
            #expect(effect == expected)
        }
    }

    @Test("an effect is the steered mean minus the baseline, and steering moves the features")
    func effectDefinition() throws {
        try withStore { store, _ in
            let model = try PipelineFixtures.model()
            let sae = try PipelineFixtures.sae()
            let measurer = try EffectMeasurer(
                model: model, dictionary: sae, store: store, measurement: PipelineFixtures.measurement,
                scaling: .fixed(8))
            let probe = try PipelineFixtures.probes(sae, 7..<8)[0]
            let measured = try measurer.measure(probe)
            let steering = Intervention(site: ActivationSite(layer: 1), vector: probe.values, scale: 8)
            let steered = try measurer.meanFeaturesForTesting(steering: steering)
            let expected = zip(steered, try measurer.baseline()).map { $0 - $1 }
            #expect(measured.effect == expected)
            #expect(Vector.norm(measured.effect) > 0)
            #expect(measured.effect.count == 256)
        }
    }

    @Test("calibrated scales are stored and reused")
    func calibratedJob() throws {
        try withStore { store, _ in
            let model = CountingBackend(try PipelineFixtures.model())
            let sae = try PipelineFixtures.sae()
            let set = try CalibrationSet(
                path: try PipelineFixtures.calibrationFile(), model: model,
                spec: CalibrationSetSpec(batchSize: 4, batchCount: 1))
            let settings = CalibrationSettings(grid: [0, 2, 4, 6, 8], target: .aboveBaseline(0.01))
            let measurer = try EffectMeasurer(
                model: model, dictionary: sae, store: store, measurement: PipelineFixtures.measurement,
                scaling: .calibrated(set, settings))
            let probes = try PipelineFixtures.probes(sae, 0..<4)
            let report = try EffectJob(measurer: measurer, vectors: probes).run()
            #expect(report.measured + report.failures.count == 4)
            #expect(report.measured > 0, "some vector's loss must cross the target: \(report.failures)")
            #expect(try store.list(kind: .calibration).count == report.measured)
            // Rerun only the vectors that were measured: their stored calibrations and effects are reused.
            let failed = Set(report.failures.map(\.label))
            let measured = probes.filter { !failed.contains($0.label) }
            let lossCalls = model.lossCalls, total = model.totalCalls
            let again = try EffectJob(measurer: measurer, vectors: measured).run()
            #expect(again.skipped == measured.count)
            #expect(model.lossCalls == lossCalls && model.totalCalls == total, "stored work is not recomputed")
        }
    }

    @Test("bad input: a wrong-width vector, an SAE from another site, an over-long prompt; nothing partial is stored")
    func badInput() throws {
        try withStore { store, _ in
            let model = try PipelineFixtures.model()
            let sae = try PipelineFixtures.sae()
            var otherSite = PipelineFixtures.measurement
            otherSite.site = ActivationSite(layer: 2)
            #expect(throws: PipelineError.self) {
                try EffectMeasurer(
                    model: model, dictionary: sae, store: store, measurement: otherSite, scaling: .fixed(1))
            }
            var longPrompt = PipelineFixtures.measurement
            longPrompt.prompts = [String(repeating: "the cat sat ", count: 10)]
            #expect(throws: PipelineError.self) {
                try EffectMeasurer(
                    model: model, dictionary: sae, store: store, measurement: longPrompt, scaling: .fixed(1))
            }
            let measurer = try EffectMeasurer(
                model: model, dictionary: sae, store: store, measurement: PipelineFixtures.measurement,
                scaling: .fixed(1))
            let wide = try ProbeVector(
                values: [Float](repeating: 1, count: 65), recipe: Recipe(kind: .vector, algorithm: "test"),
                label: "wide")
            #expect(throws: SteeringError.self) { try measurer.measure(wide) }
            #expect(throws: PipelineError.self) {
                try ProbeVector(
                    values: [Float](repeating: 0, count: 64), recipe: Recipe(kind: .vector, algorithm: "t"),
                    label: "zero")
            }
            #expect(try store.count == 0, "nothing was stored")
        }
    }

    @Test("shards partition the job deterministically and read scheduler variables")
    func shards() throws {
        let shards = try (0..<3).map { try Shard(index: $0, count: 3) }
        let owners = (0..<10).map { item in shards.filter { $0.contains(item) }.count }
        #expect(owners == [Int](repeating: 1, count: 10))
        #expect(
            try Shard.fromEnvironment([
                "SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "5", "SLURM_ARRAY_TASK_MIN": "1",
            ]) == Shard(index: 3, count: 5))
        #expect(
            try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "2", "STEER_SHARD_COUNT": "4"])
                == Shard(index: 2, count: 4))
        #expect(try Shard.fromEnvironment([:]) == nil)
        #expect(throws: PipelineError.self) { try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "2"]) }
        #expect(throws: PipelineError.self) { try Shard(parsing: "3/3") }
        #expect(try Shard(parsing: "1/4") == Shard(index: 1, count: 4))
    }
}
