import ArgumentParser
import ArtifactStore
import Foundation
import JumpReLUSAE
import Pipeline
import SteeringCore
import TransformerRuntime

#if canImport(Glibc)
    import Glibc
#endif

/// `steer bench --probe`: the method's protocol for N probe vectors, timed by part.
struct ProbeBench {
    let backend: any TransformerBackend
    let dictionary: any FeatureDictionary
    let layer: Int
    let probes: Int
    let rollouts: Int
    let length: Int
    let gridPoints: Int
    let calibrationBatches: Int
    let calibrationBatchSize: Int
    let baselineMultiplier: Int
    let executions: [MeasurementExecution]
    let batchRows: Int

    /// One execution's figures.
    struct Figures {
        var execution: MeasurementExecution
        var baselineSeconds: Double
        var baselineTimings: MeasurementTimings
        var probeSeconds: Double
        /// Process CPU time (user + system) of the probe phase: less sensitive than wall time to other
        /// jobs sharing the cores (spinning workers count in it).
        var probeCPUSeconds: Double
        var timings: MeasurementTimings
        var failures: Int
    }

    func run(report: (String, String) -> Void) throws -> [String: Any] {
        let d = backend.descriptor
        let site = ActivationSite(layer: layer)
        let architecture = backend.architecture
        let flopModel = FlopModel(architecture: architecture)
        var generator = SplitMix64(seed: 17)
        let vocab = UInt64(d.vocabularySize - 3)
        // Calibration text: random tokens (a random model has no tokenizer); BOS first, as the method cuts it.
        let batches = (0..<calibrationBatches).map { _ in
            (0..<calibrationBatchSize).map { _ in
                [d.bosToken] + (1..<length).map { _ in Int32(3 + generator.next() % vocab) }
            }
        }
        let calibration = try CalibrationSet(batches: batches, sourceDigest: ContentDigest(ofString: "bench-probe"))
        // An absolute target no loss reaches: every probe walks the whole grid (the method's worst case).
        let grid = (0..<gridPoints).map { Float($0) * 20 }
        let settings = CalibrationSettings(grid: grid, target: .absolute(1e30))
        let measurement = MeasurementProtocol(
            site: site, rolloutsPerPrompt: rollouts, totalLength: length, baselineMultiplier: baselineMultiplier)
        let vectors = try (0..<probes).map { i in
            try ProbeVector(
                values: (0..<d.hiddenSize).map { _ in Float(generator.nextUnit() - 0.5) },
                recipe: Recipe(kind: .vector, algorithm: "bench-random", parameters: ["index": .int(i)]),
                label: "random \(i)")
        }
        let promptTokens = measurement.prompts.map { backend.encode($0, addBOS: true).count }
        let rows = measurement.prompts.count * rollouts
        var results: [String: Any] = [
            "probe_protocol": [
                "prompts": measurement.prompts.count, "rollouts_per_prompt": rollouts, "total_length": length,
                "prompt_tokens": promptTokens, "layer": layer, "sae_width": dictionary.descriptor.featureCount,
                "grid_points": gridPoints, "calibration_batches": calibrationBatches,
                "calibration_batch_size": calibrationBatchSize, "baseline_multiplier": baselineMultiplier,
                "probes": probes, "batch_rows": batchRows,
            ] as [String: Any]
        ]
        var figures = [Figures]()
        for execution in executions {
            let directory = NSTemporaryDirectory() + "steer-bench-probe-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let store = try ArtifactStore(path: directory)
            // Calibration and effects are timed through two measurers sharing the store: the grid walk
            // (which never crosses the target here) and the rollouts at a fixed scale.
            let calibrating = try EffectMeasurer(
                model: backend, dictionary: dictionary, store: store, measurement: measurement,
                scaling: .calibrated(calibration, settings), execution: execution, batchRows: batchRows)
            let measuring = try EffectMeasurer(
                model: backend, dictionary: dictionary, store: store, measurement: measurement, scaling: .fixed(8),
                execution: execution, batchRows: batchRows)
            let b0 = ProgressReporter.now()
            _ = try measuring.baseline()
            let baselineSeconds = ProgressReporter.now() - b0
            let baselineTimings = measuring.timings
            measuring.resetTimings()
            var failures = 0
            let c0 = Self.cpuSeconds()
            let p0 = ProgressReporter.now()
            for vector in vectors {
                do { _ = try calibrating.scale(for: vector) } catch is PipelineError { failures += 1 }
            }
            var start = 0
            let group = measuring.probesPerBatch
            while start < vectors.count {
                let part = Array(vectors[start..<min(start + group, vectors.count)])
                for outcome in try measuring.measure(batch: part) {
                    if case .failure = outcome { failures += 1 }
                }
                start += part.count
            }
            let probeSeconds = ProgressReporter.now() - p0
            let probeCPUSeconds = Self.cpuSeconds() - c0
            var timings = measuring.timings
            let calibrationTimings = calibrating.timings
            timings.calibration = calibrationTimings.calibration
            timings.calibrationSite = calibrationTimings.calibrationSite
            timings.calibrationTokens = calibrationTimings.calibrationTokens
            figures.append(
                Figures(
                    execution: execution, baselineSeconds: baselineSeconds, baselineTimings: baselineTimings,
                    probeSeconds: probeSeconds, probeCPUSeconds: probeCPUSeconds, timings: timings,
                    failures: failures))
        }
        // Work per probe, for tokens/s and GFLOP/s.
        let positions = rows * length
        let generationFlops = flopModel.flops(
            sequences: rows, positions: length, layers: architecture.layerCount,
            logitRows: rows * (length - (promptTokens.min() ?? 1)))
        let reencodeFlops = flopModel.flops(sequences: rows, positions: length, layers: layer + 1, logitRows: 0)
        let encodeFlops = Double(positions) * 2 * Double(d.hiddenSize * dictionary.descriptor.featureCount)
        let calibrationSequences = calibrationBatches * calibrationBatchSize
        for f in figures {
            let n = Double(probes)
            let t = f.timings
            let name = f.execution.rawValue
            let calibrationLayers =
                f.execution == .capture ? architecture.layerCount - layer - 1 : architecture.layerCount
            // Scale 0 is the unsteered loss: every evaluation with capture, re-used across probes.
            let evaluated = f.execution == .capture ? gridPoints - 1 : gridPoints
            let calibrationFlops =
                Double(evaluated)
                * flopModel.flops(
                    sequences: calibrationSequences, positions: length, layers: calibrationLayers,
                    logitRows: calibrationSequences * (length - 1))
            func part(_ key: String, seconds: Double, tokens: Double, flops: Double) {
                let perProbe = seconds / n
                results["probe_\(name)_\(key)_seconds_per_probe"] = perProbe
                results["probe_\(name)_\(key)_tokens_per_second"] = perProbe > 0 ? tokens / perProbe : 0
                results["probe_\(name)_\(key)_gflops"] = perProbe > 0 ? flops / perProbe / 1e9 : 0
                report(
                    "probe_\(name)_\(key)",
                    perProbe > 0
                        ? String(
                            format: "%8.3f s/probe  %9.1f tok/s  %7.1f GFLOP/s", perProbe, tokens / perProbe,
                            flops / perProbe / 1e9) : "       — (not a separate pass)")
            }
            part("generation", seconds: t.generation, tokens: Double(positions), flops: generationFlops)
            part("reencode", seconds: t.reencode, tokens: Double(positions), flops: reencodeFlops)
            part("sae_encoding", seconds: t.encoding, tokens: Double(positions), flops: encodeFlops)
            part(
                "calibration", seconds: t.calibration,
                tokens: Double(evaluated * calibrationSequences * length), flops: calibrationFlops)
            let perProbe = f.probeSeconds / n
            results["probe_\(name)_seconds_per_probe"] = perProbe
            results["probe_\(name)_cpu_seconds_per_probe"] = f.probeCPUSeconds / n
            results["probe_\(name)_grid_walks_without_crossing"] = f.failures
            results["probe_\(name)_baseline_seconds"] = f.baselineSeconds
            results["probe_\(name)_calibration_site_seconds"] = t.calibrationSite
            report(
                "probe_\(name)_total",
                String(
                    format:
                        "%8.3f s/probe, %.3f CPU s/probe  (%d probes; baseline ×%d once: %.2f s; calibration site pass once: %.2f s)",
                    perProbe, f.probeCPUSeconds / n, probes, baselineMultiplier, f.baselineSeconds, t.calibrationSite))
            results["probe_\(name)_hours_per_1000_probes"] = perProbe * 1000 / 3600
            results["probe_\(name)_hours_per_50000_probes"] = perProbe * 50000 / 3600
        }
        if let capture = figures.first(where: { $0.execution == .capture }),
            let reencode = figures.first(where: { $0.execution == .reencode })
        {
            let ratio = capture.probeSeconds / reencode.probeSeconds
            let cpuRatio = capture.probeCPUSeconds / reencode.probeCPUSeconds
            results["probe_capture_over_reencode"] = ratio
            results["probe_capture_over_reencode_cpu"] = cpuRatio
            report(
                "probe_capture_over_reencode",
                String(format: "%8.3f × the re-encode execution's wall time, %.3f × its CPU time", ratio, cpuRatio))
        }
        return results
    }

    /// User plus system CPU seconds of this process so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
