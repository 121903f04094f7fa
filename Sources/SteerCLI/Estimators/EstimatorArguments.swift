import ArgumentParser
import ArtifactStore
import Pipeline
import SteeringCore
import SteeringPlugins

/// `--dataset` and `--validation-size`, shared by `fit` and `compare`.
struct DatasetArguments: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Effect dataset: a store alias, key or key prefix, or a .safetensors file with 'features' and 'effects' "
                + "(imported into the store first).", valueName: "key-alias-or-file"))
    var dataset: String

    @Option(help: "Held-out rows: the last N rows of the dataset (the authors' split holds out 100).")
    var validationSize = 100

    func validate() throws {
        guard validationSize >= 0 else {
            throw ValidationError("--validation-size must be ≥ 0, got \(validationSize).")
        }
    }

    /// Opens the dataset, importing a file and saying so. With `streaming` (every estimator reads the rows
    /// in order, as ridge does) a stored dataset keeps only a few decoded chunks in memory; otherwise it
    /// caches them all, for the random batches of linear-adam.
    func open(store: ArtifactStore, streaming: Bool) throws -> EffectDatasetLocator.Located {
        let isFile = EffectDatasetLocator.isFile(dataset)
        let progress = isFile ? ProgressReporter(label: "import", total: nil, unit: "rows") : nil
        let located = try EffectDatasetLocator.open(
            dataset, store: store, cacheLimitBytes: streaming ? 256 << 20 : StoredEffectDataset.defaultCacheLimit,
            progress: progress)
        progress?.finish()
        switch located.imported {
        case .some(true): print("Imported \(dataset) as dataset \(located.key.short).")
        case .some(false): print("Dataset \(dataset) is already in the store as \(located.key.short).")
        case .none: break
        }
        let source = located.source
        print("Dataset \(located.key.short): \(source.count) rows, \(source.inputWidth) → \(source.outputWidth).")
        return located
    }
}

/// Hyper-parameter flags; each applies to one estimator and is passed to it as a plugin option.
struct EstimatorHyperparameters: ParsableArguments {
    @Option(help: "linear-adam: peak learning rate (default 2e-4).") var learningRate: Double?
    @Option(help: "linear-adam: epochs (default 15).") var epochs: Int?
    @Option(help: "linear-adam: batch size (default 64).") var batchSize: Int?
    @Option(help: "linear-adam: cosine period T_max in epochs (default: --epochs).") var tMax: Int?
    @Option(help: "linear-adam: Adam β₁ (default 0.9).") var beta1: Double?
    @Option(help: "linear-adam: Adam β₂ (default 0.999).") var beta2: Double?
    @Option(help: "linear-adam: Adam ε (default 1e-8).") var epsilon: Double?
    @Option(help: "linear-adam: seed of the initial M and the batch order (default 0).") var seed: Int?
    @Option(help: "linear-adam: stop after this many steps (default 0 = no limit).") var maxSteps: Int?
    @Option(help: "ridge: candidate penalties, comma-separated (default 1e-4,1e-3,…,1e3).") var lambdas: String?
    @Option(help: "ridge: one fixed penalty (no cross-validation).") var lambda: Double?
    @Option(help: "ridge: cross-validation folds (default 5).") var folds: Int?
    @Option(help: "ridge: rows per streamed chunk (default 1024).") var chunkRows: Int?
    @Option(
        name: .customLong("estimator-option"),
        help: ArgumentHelp(
            "Any estimator's option as NAME.KEY=VALUE (repeatable), e.g. linear-adam.epochs=300.",
            discussion: "`steer plugins` lists every estimator's options and defaults."))
    var estimatorOptions: [String] = []

    /// Option values per estimator name: the flags above, then `--estimator-option` (a key set both
    /// ways to different values is an error).
    func values() throws -> [String: [String: String]] {
        var table = flagValues
        for (name, options) in try pluginOptionValues(estimatorOptions, kind: .estimator, flag: "--estimator-option") {
            for (key, value) in options {
                if let flag = table[name]?[key], flag != value {
                    throw ValidationError("--\(key) \(flag) and --estimator-option \(name).\(key)=\(value) disagree.")
                }
                table[name, default: [:]][key] = value
            }
        }
        return table
    }

    /// Option values per estimator name from the dedicated flags.
    private var flagValues: [String: [String: String]] {
        var adam: [String: String] = [:], ridge: [String: String] = [:]
        func set(_ table: inout [String: String], _ key: String, _ value: (some CustomStringConvertible)?) {
            if let value { table[key] = value.description }
        }
        set(&adam, "learning-rate", learningRate)
        set(&adam, "epochs", epochs)
        set(&adam, "batch-size", batchSize)
        set(&adam, "t-max", tMax)
        set(&adam, "beta1", beta1)
        set(&adam, "beta2", beta2)
        set(&adam, "epsilon", epsilon)
        set(&adam, "seed", seed)
        set(&adam, "max-steps", maxSteps)
        set(&ridge, "lambdas", lambdas)
        set(&ridge, "lambda", lambda)
        set(&ridge, "folds", folds)
        set(&ridge, "chunk-rows", chunkRows)
        return ["linear-adam": adam, "ridge": ridge]
    }

    /// Creates the named estimators from the registry; flags for an estimator not named are an error.
    func makeEstimators(_ names: [String]) throws -> [any EffectEstimator] {
        let table = try values()
        for (estimator, options) in table where !options.isEmpty && !names.contains(estimator) {
            throw ValidationError(
                "--\(options.keys.sorted().joined(separator: ", --")) only apply to \(estimator), "
                    + "which is not being fitted (\(names.joined(separator: ", "))).")
        }
        return try names.map { name in
            try Steer.registry.estimator(name, PluginOptions(values: table[name] ?? [:]))
        }
    }
}

/// A progress reporter for an estimator's fit (steps for linear-adam, rows for ridge); draws on a terminal only.
func fitProgress(_ estimator: any EffectEstimator, trainingRows: Int) -> ProgressReporter {
    let (total, unit) = EstimatorFitting.progressTotal(for: estimator, trainingRows: trainingRows)
    return ProgressReporter(label: "fit \(estimator.name)", total: total, unit: unit)
}

/// Prints the held-out diagnostics of one model.
func printDiagnostics(_ d: EstimatorDiagnostics) {
    func f(_ x: Double) -> String { String(format: "%.4f", x) }
    print("Held-out rows: \(d.rows)")
    print("  MSE             \(String(format: "%.6e", d.meanSquaredError))")
    print("  R²              \(f(d.rSquared))")
    if let features = d.featureRSquaredSummary {
        print(
            "  feature R²      median \(f(features.median)), "
                + "quartiles \(f(features.lowerQuartile))…\(f(features.upperQuartile))")
    }
    let c = d.cosine
    print(
        "  cosine          mean \(f(c.mean)), min \(f(c.min)), "
            + "quartiles \(f(c.lowerQuartile)) / \(f(c.median)) / \(f(c.upperQuartile)), max \(f(c.max))")
    let overlap = "top-\(d.topK) overlap".padding(toLength: 16, withPad: " ", startingAt: 0)
    print("  \(overlap)mean \(String(format: "%.3f", d.topKOverlap.mean))")
}
