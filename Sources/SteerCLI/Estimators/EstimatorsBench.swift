import ArgumentParser
import Foundation
import Pipeline
import SteeringCore
import SteeringNumerics

/// `steer estimators bench`: time the estimators on a synthetic dataset of a given size.
struct EstimatorsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time ridge and linear-adam on a synthetic dataset (default: the authors' 50,000 × 2304 → 16384).",
        discussion: """
            Rows come from SyntheticEffectDataset (a rank-16 linear map plus noise) and are materialised in memory \
            first (not timed) unless --on-the-fly. Both estimators train on all rows but the last --validation-size. \
            ridge runs completely; linear-adam runs --adam-steps steps and its full run (epochs × batches) is \
            extrapolated from the measured time per step. See Docs/Benchmarks.md.
            """)

    @OptionGroup var hyperparameters: EstimatorHyperparameters

    @Option(help: "Rows of the synthetic dataset.") var samples = 50_000
    @Option(help: "Input width d_model.") var dModel = 2304
    @Option(help: "Effect width d_sae.") var dSae = 16_384
    @Option(help: "Held-out rows (not used for training).") var validationSize = 100
    @Option(help: "Comma-separated estimators to time.") var estimators = "ridge,linear-adam"
    @Option(help: "linear-adam steps to measure (0: the full run).") var adamSteps = 200
    @Option(help: "Rank of the synthetic map.") var rank = 16
    @Flag(help: "Generate rows on every read instead of materialising them (for sizes that do not fit in memory).")
    var onTheFly = false

    func validate() throws {
        guard samples > validationSize, validationSize >= 0, dModel > 0, dSae > 0, rank > 0, adamSteps >= 0 else {
            throw ValidationError(
                "Sizes must be positive, with --samples > --validation-size ≥ 0 and --adam-steps ≥ 0.")
        }
    }

    func run() async throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        print("Machine: \(Self.cpuModel()), \(cores) cores, BLAS threads \(blasThreads)")
        let shape = "\(samples) × \(dModel) → \(dSae)"
        print("Dataset: \(shape) (synthetic, rank \(rank)), training rows \(samples - validationSize)")
        let synthetic = SyntheticEffectDataset(count: samples, inputWidth: dModel, outputWidth: dSae, rank: rank)
        var data: any EffectDataSource = synthetic
        if !onTheFly {
            let start = ProgressReporter.now()
            let (inputs, effects) = try synthetic.read(rows: Array(0..<samples))
            data = try InMemoryEffectDataset(inputs: inputs, effects: effects, digest: synthetic.digest)
            print(
                String(format: "Generated the rows in memory in %.1f s (not counted).", ProgressReporter.now() - start))
        }
        let training = Array(0..<(samples - validationSize))
        let names = estimators.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var table = try hyperparameters.values()
        if names.contains("linear-adam"), adamSteps > 0, table["linear-adam"]?["max-steps"] == nil {
            table["linear-adam", default: [:]]["max-steps"] = String(adamSteps)
        }
        for name in names {
            let estimator = try Steer.registry.estimator(name, PluginOptions(values: table[name] ?? [:]))
            let progress = fitProgress(estimator, trainingRows: training.count)
            let start = ProgressReporter.now()
            _ = try estimator.fit(data, rows: training, progress: progress)
            let seconds = ProgressReporter.now() - start
            progress.finish()
            report(estimator, seconds: seconds, trainingRows: training.count, done: progress.completed)
        }
    }

    private func report(_ estimator: any EffectEstimator, seconds: Double, trainingRows: Int, done: Int) {
        guard case .int(let epochs) = estimator.parameters["epochs"],
            case .int(let batch) = estimator.parameters["batch-size"]
        else {
            print(String(format: "%@: full fit in %.1f s (measured)", estimator.name, seconds))
            return
        }
        let fullSteps = epochs * ((trainingRows + batch - 1) / batch)
        let perStep = seconds / Double(max(done, 1))
        print(
            String(
                format: "%@: %d steps in %.1f s = %.1f ms/step; full run %d steps ≈ %.0f s (%@, %@)", estimator.name,
                done, seconds, perStep * 1000, fullSteps, perStep * Double(fullSteps),
                ProgressReporter.formatDuration(perStep * Double(fullSteps)),
                done < fullSteps ? "extrapolated" : "measured"))
    }

    /// The `model name` line of /proc/cpuinfo, or "unknown CPU".
    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
                ?? "unknown CPU"
        }
        return "unknown CPU"
    }
}
