import ArtifactStore
import Foundation
import Gemma2
import Gemma3
import JumpReLUSAE
import Pipeline
import SteeringCore
import SteeringTestSupport
import Testing

/// Probe work done once: the site residual read while generating equals the unsteered re-encode,
/// calibration losses from cached site residuals equal full passes, and effects measured both ways
/// agree — on both runtime backends (Gemma-2, Gemma-3 tiny fixtures) and the demo model.
///
/// Tolerances: site rows and losses are float32 sums taken in another order (batched decode steps
/// instead of one prefill; a vectorised `exp`), so they agree to a few float32 ulps of the values'
/// scale: |a − b| ≤ 2e-5 · (1 + |b|) for rows, 2e-6 relative for losses. Effects are means of
/// JumpReLU features over every position: ≤ 1e-4 · (1 + max |effect|).
@Suite("Probe work: capture and cached calibration")
struct ProbeWorkTests {
    /// The backends under test, with a site layer inside each.
    static func backends() throws -> [(name: String, model: any SiteReadoutBackend, layer: Int)] {
        [
            ("gemma2 tiny-f32", try Gemma2Backend(directory: fixturePath("gemma2/tiny-f32")), 1),
            ("gemma3 tiny-5to1", try Gemma3Backend(path: fixturePath("gemma3/tiny-5to1")), 3),
            ("demo", try Gemma2Backend(directory: repositoryRoot.appendingPathComponent("Demo/model").path), 3),
        ]
    }

    static func unit(_ width: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return Vector.normalized((0..<width).map { _ in Float(generator.nextUnit() - 0.5) })
    }

    static func prompts(_ model: any ModelBackend, count: Int, seed: UInt64) -> [[Int32]] {
        var generator = SplitMix64(seed: seed)
        let vocab = UInt64(model.descriptor.vocabularySize - 3)
        return (0..<count).map { i in
            [model.descriptor.bosToken] + (0..<(i % 4)).map { _ in Int32(3 + generator.next() % vocab) }
        }
    }

    static func close(_ a: [Float], _ b: [Float], relative: Float) -> Float? {
        guard a.count == b.count else { return .infinity }
        var worst: Float = 0
        for (x, y) in zip(a, b) { worst = max(worst, abs(x - y) / (1 + abs(y))) }
        return worst <= relative ? nil : worst
    }

    @Test("the site residual read while generating steered equals the unsteered re-encode of the rollouts")
    func captureEqualsReencode() throws {
        for (name, model, layer) in try Self.backends() {
            let d = model.descriptor.hiddenSize
            let site = ActivationSite(layer: layer)
            let prompts = Self.prompts(model, count: 6, seed: 1)
            let steering = Intervention(site: site, vector: Self.unit(d, seed: 2), scale: 12)
            let sampling = SamplingConfig(temperature: 1, topK: 50, maxNewTokens: 9, stopAtEOS: false, seed: 4)
            var read = [[Float]](repeating: [], count: prompts.count)
            // One group per row: pieces arrive step by step, so each row's positions come in order.
            let captured = try model.generate(
                prompts: prompts, sampling: sampling, interventions: [],
                rowInterventions: prompts.map { _ in [steering] }, streams: Array(prompts.indices), readingSite: site,
                groups: Array(prompts.indices)
            ) { group, rows in read[group] += rows.values }
            let plain = try model.generate(prompts: prompts, sampling: sampling, interventions: [steering])
            #expect(captured == plain, "\(name): the same tokens as generate")
            let reencoded = try model.activations(at: site, sequences: captured)
            for (i, sequence) in captured.enumerated() {
                #expect(read[i].count == sequence.count * d, "\(name) row \(i): every position read once")
                let worst = Self.close(read[i], reencoded[i].values, relative: 2e-5)
                #expect(worst == nil, "\(name) row \(i): worst relative difference \(worst ?? 0)")
            }
            // The steering did change the rollouts (so the comparison is not of unsteered text).
            let unsteered = try model.generate(prompts: prompts, sampling: sampling, interventions: [])
            #expect(unsteered != captured, "\(name): steering at scale 12 changes some rollout")
        }
    }

    @Test("rows of several probes in one generation keep each probe's tokens and site rows")
    func batchedProbes() throws {
        for (name, model, layer) in try Self.backends() {
            let d = model.descriptor.hiddenSize
            let site = ActivationSite(layer: layer)
            let prompts = Self.prompts(model, count: 5, seed: 7)
            let vectors = (0..<3).map {
                Intervention(site: site, vector: Self.unit(d, seed: 10 + UInt64($0)), scale: 9)
            }
            let sampling = SamplingConfig(temperature: 1, topK: 50, maxNewTokens: 7, stopAtEOS: false, seed: 8)
            func sums(_ rows: Matrix, into total: inout [Double]) {
                for r in 0..<rows.rows { for c in 0..<d { total[c] += Double(rows[r, c]) } }
            }
            var alone = [[Int32]](), aloneSums = [[Double]]()
            for vector in vectors {
                var total = [Double](repeating: 0, count: d)
                alone += try model.generate(
                    prompts: prompts, sampling: sampling, interventions: [],
                    rowInterventions: prompts.map { _ in [vector] }, streams: Array(prompts.indices),
                    readingSite: site, groups: prompts.map { _ in 0 }
                ) { _, rows in sums(rows, into: &total) }
                aloneSums.append(total)
            }
            var together = [[Double]](repeating: [Double](repeating: 0, count: d), count: vectors.count)
            let batched = try model.generate(
                prompts: Array(repeating: prompts, count: vectors.count).flatMap { $0 }, sampling: sampling,
                interventions: [], rowInterventions: vectors.flatMap { v in prompts.map { _ in [v] } },
                streams: Array(repeating: Array(prompts.indices), count: vectors.count).flatMap { $0 },
                readingSite: site,
                groups: vectors.indices.flatMap { k in prompts.map { _ in k } }
            ) { group, rows in sums(rows, into: &together[group]) }
            #expect(batched == alone, "\(name): batched rows sample the tokens they sample alone")
            for k in vectors.indices {
                let worst = Self.close(together[k].map(Float.init), aloneSums[k].map(Float.init), relative: 2e-5)
                #expect(worst == nil, "\(name) probe \(k): site-row sums differ by \(worst ?? 0)")
            }
        }
    }

    @Test("next-token losses from cached site residuals equal full recomputation, at every scale and policy")
    func cachedCalibrationEqualsFull() throws {
        for (name, model, layer) in try Self.backends() {
            let d = model.descriptor.hiddenSize
            let site = ActivationSite(layer: layer)
            var generator = SplitMix64(seed: 21)
            let vocab = UInt64(model.descriptor.vocabularySize - 3)
            let sequences = (0..<6).map { i in
                [model.descriptor.bosToken] + (0..<(5 + 3 * i)).map { _ in Int32(3 + generator.next() % vocab) }
            }
            let residuals = try model.siteResiduals(sequences: sequences, site: site)
            #expect(residuals.rows.count == sequences.reduce(0) { $0 + $1.count } * d)
            let vector = Self.unit(d, seed: 22)
            let above = Intervention(
                site: ActivationSite(layer: model.descriptor.layerCount - 1), vector: Self.unit(d, seed: 23), scale: 3)
            var cases: [[Intervention]] = [[]]
            for scale: Float in [4, 20, 60] {
                cases.append([Intervention(site: site, vector: vector, scale: scale)])
            }
            cases.append([
                Intervention(site: site, vector: vector, scale: 20, positions: PositionPolicy(includeBOS: false)),
                above,
            ])
            for interventions in cases {
                let full = try model.nextTokenLoss(sequences: sequences, interventions: interventions)
                let cached = try model.nextTokenLoss(from: residuals, interventions: interventions)
                for (a, b) in zip(cached, full) {
                    #expect(
                        abs(a - b) <= 2e-6 * abs(b),
                        "\(name), scales \(interventions.map(\.scale)): cached \(a) vs full \(b)")
                }
            }
        }
    }

    @Test("bad input: an intervention below the cached site, residuals of another width")
    func cachedCalibrationRefusals() throws {
        let model = try Gemma2Backend(directory: fixturePath("gemma2/tiny-f32"))
        let d = model.descriptor.hiddenSize
        let residuals = try model.siteResiduals(sequences: [[2, 5, 6, 7]], site: ActivationSite(layer: 1))
        let below = Intervention(site: ActivationSite(layer: 0), vector: Self.unit(d, seed: 1), scale: 1)
        #expect {
            try model.nextTokenLoss(from: residuals, interventions: [below])
        } throws: { "\($0)".contains("below the stored residuals' layer 1") }
        let narrow = SiteResiduals(
            site: residuals.site, sequences: residuals.sequences, rows: Array(residuals.rows.prefix(4 * 8)), width: 8)
        #expect(throws: SteeringError.self) { try model.nextTokenLoss(from: narrow, interventions: []) }
        let short = SiteResiduals(
            site: residuals.site, sequences: residuals.sequences, rows: Array(residuals.rows.prefix(d)), width: d)
        #expect(throws: SteeringError.self) { try model.nextTokenLoss(from: short, interventions: []) }
        #expect(throws: SteeringError.self) {
            try model.siteResiduals(sequences: [[2, 5]], site: ActivationSite(layer: model.descriptor.layerCount))
        }
    }
}

/// The same equivalences through the measurer: effects, calibrated scales and keys.
@Suite("Probe work: effects by capture and by re-encode")
struct ProbeEffectEquivalenceTests {
    struct Case {
        var name: String
        var model: any SiteReadoutBackend
        var sae: JumpReLUSAE
        var measurement: MeasurementProtocol
        var calibration: CalibrationSet
        var grid: [Float]
    }

    static func cases() throws -> [Case] {
        let tinySAE = try PipelineFixtures.sae()
        let tinySpec = CalibrationSetSpec(sequenceLength: 16, batchSize: 4, batchCount: 2)
        let gemma2 = try PipelineFixtures.model()
        let gemma3 = try Gemma3Backend(path: fixturePath("gemma3/tiny-5to1"))
        let demoDirectory = repositoryRoot.appendingPathComponent("Demo").path
        let demo = try Gemma2Backend(directory: demoDirectory + "/model")
        let demoSAE = try JumpReLUSAE(path: demoDirectory + "/sae/layer_3/width_2k/average_l0_53")
        let demoMeasurement = MeasurementProtocol(
            site: ActivationSite(layer: 3), prompts: ["", "I think", "Breaking news"], rolloutsPerPrompt: 4,
            totalLength: 16, baselineMultiplier: 2, seed: 3)
        return [
            Case(
                name: "gemma2 tiny", model: gemma2, sae: tinySAE, measurement: PipelineFixtures.measurement,
                calibration: try CalibrationSet(
                    path: try PipelineFixtures.calibrationFile(), model: gemma2, spec: tinySpec),
                grid: (0...10).map { Float($0) * 10 }),
            Case(
                name: "gemma3 tiny", model: gemma3, sae: tinySAE, measurement: PipelineFixtures.measurement,
                calibration: try CalibrationSet(
                    path: try PipelineFixtures.calibrationFile(), model: gemma3, spec: tinySpec),
                grid: (0...10).map { Float($0) * 10 }),
            Case(
                name: "demo", model: demo, sae: demoSAE, measurement: demoMeasurement,
                calibration: try CalibrationSet(
                    path: demoDirectory + "/calibration.jsonl", model: demo,
                    spec: CalibrationSetSpec(sequenceLength: 32, batchSize: 8, batchCount: 2)),
                grid: (0...10).map { Float($0) * 10 }),
        ]
    }

    @Test("effects, calibrated scales and baselines agree; keys differ by algorithm version only")
    func effectsAgree() throws {
        for c in try Self.cases() {
            let dir = try makeTemporaryDirectory("probe-work")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let probes = try ProbeVector.decoderRows(of: c.sae, range: 0..<4)
            let settings = CalibrationSettings(grid: c.grid, target: .aboveBaseline(0.05))
            var results = [MeasurementExecution: [String: (scale: Float, effect: [Float])]]()
            var keys = [MeasurementExecution: Set<String>]()
            var baselines = [MeasurementExecution: [Float]]()
            var failures = [MeasurementExecution: Set<String>]()
            for execution in MeasurementExecution.allCases {
                let store = try ArtifactStore(path: dir + "/\(execution.rawValue)")
                for scaling: EffectMeasurer.Scaling in [.fixed(6), .calibrated(c.calibration, settings)] {
                    let measurer = try EffectMeasurer(
                        model: c.model, dictionary: c.sae, store: store, measurement: c.measurement, scaling: scaling,
                        execution: execution)
                    #expect(measurer.effectRecipe(for: probes[0]).version == (execution == .capture ? 2 : 1))
                    let report = try EffectJob(measurer: measurer, vectors: probes).run { vector, effect in
                        let label = "\(vector.label) \(scaling)".prefix(40)
                        results[execution, default: [:]][String(label)] = (effect.scale, effect.effect)
                    }
                    failures[execution, default: []].formUnion(report.failures.map { "\($0.label) \(scaling)" })
                    baselines[execution] = try measurer.baseline()
                }
                keys[execution] = Set(try store.list().map(\.key.hex))
            }
            // Vector artifacts are shared; baselines, calibrations and effects are not.
            let shared = keys[.capture]!.intersection(keys[.reencode]!)
            #expect(shared.count == probes.count, "\(c.name): only the vector artifacts are shared")
            let base = Self.worst(baselines[.capture]!, baselines[.reencode]!)
            #expect(base <= 1e-4, "\(c.name): baselines differ by \(base)")
            // A vector whose loss never crosses the target fails both ways; most cross.
            #expect(failures[.capture] ?? [] == failures[.reencode] ?? [], "\(c.name): the same vectors fail")
            #expect(results[.capture]!.count == 2 * probes.count - (failures[.capture]?.count ?? 0))
            #expect(results[.capture]!.count >= probes.count + 2, "\(c.name): calibrated effects were compared")
            for (label, captured) in results[.capture]! {
                let reencoded = results[.reencode]![label]!
                #expect(
                    abs(captured.scale - reencoded.scale) <= 1e-4 * (1 + abs(reencoded.scale)),
                    "\(c.name) \(label): scale \(captured.scale) vs \(reencoded.scale)")
                let worst = Self.worst(captured.effect, reencoded.effect)
                #expect(worst <= 1e-4, "\(c.name) \(label): effects differ by \(worst) of their scale")
                #expect(Vector.norm(captured.effect) > 0)
            }
        }
    }

    @Test("probes measured in one shared generation give the effects they give one at a time")
    func batchedJobEqualsSingle() throws {
        let c = try Self.cases()[2]
        let probes = try ProbeVector.decoderRows(of: c.sae, range: 4..<9)
        var stores = [[String: String]]()
        var effects = [[[Float]]]()
        for batchRows in [1, 10_000] {
            let dir = try makeTemporaryDirectory("probe-batch")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let store = try ArtifactStore(path: dir + "/store")
            let measurer = try EffectMeasurer(
                model: c.model, dictionary: c.sae, store: store, measurement: c.measurement, scaling: .fixed(40),
                execution: .capture, batchRows: batchRows)
            #expect(measurer.probesPerBatch == (batchRows == 1 ? 1 : 10_000 / 12))
            var measured = [[Float]]()
            _ = try EffectJob(measurer: measurer, vectors: probes).run { _, effect in measured.append(effect.effect) }
            effects.append(measured)
            stores.append(try PipelineFixtures.contents(store).mapValues { _ in "" })
        }
        #expect(stores[0] == stores[1], "the same artifact keys")
        for (a, b) in zip(effects[0], effects[1]) { #expect(Self.worst(a, b) <= 1e-5) }
    }

    /// max |a − b| / (1 + max |b|).
    static func worst(_ a: [Float], _ b: [Float]) -> Float {
        let scale = 1 + (b.map { abs($0) }.max() ?? 0)
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? .infinity
    }
}
