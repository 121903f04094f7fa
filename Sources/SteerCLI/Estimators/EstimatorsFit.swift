import ArgumentParser
import ArtifactStore
import Foundation
import Pipeline
import SteeringCore

/// `steer estimators fit`: fit one estimator on a dataset's training split and store it.
struct EstimatorsFit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit an effect estimator on a dataset (all rows but the last --validation-size) and store it.",
        discussion: """
            A fit whose recipe (estimator, version, hyper-parameters, split, dataset) is already in the store is \
            reused, not refitted. Held-out diagnostics are printed when --validation-size > 0.
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var data: DatasetArguments
    @OptionGroup var hyperparameters: EstimatorHyperparameters

    @Option(help: "Estimator: ridge or linear-adam.")
    var estimator: String

    @Option(help: ArgumentHelp("Also write the model as tensors W and b to this .safetensors file.", valueName: "file"))
    var out: String?

    @Option(help: "Point this alias at the fitted estimator.")
    var alias: String?

    @Option(help: "k of the held-out top-k overlap.")
    var topK = 10

    func validate() throws {
        if let out, !out.lowercased().hasSuffix(".safetensors") {
            throw ValidationError("--out must end in .safetensors, got '\(out)'.")
        }
        if let alias { try ArtifactStore.validateAliasName(alias) }
        guard topK >= 1 else { throw ValidationError("--top-k must be ≥ 1.") }
    }

    func run() async throws {
        let estimator = try hyperparameters.makeEstimators([self.estimator])[0]
        let store = try store.open(readOnly: false, create: true)
        let located = try data.open(store: store, streaming: estimator.name == "ridge")
        let split = EffectDataSplit(validationSize: data.validationSize)
        let (training, validation) = try split.partition(count: located.source.count)
        let result = try EstimatorFitting.fit(
            estimator, on: located.source, split: split, store: store,
            progress: fitProgress(estimator, trainingRows: training.count))
        if result.reused {
            print("Estimator \(result.key.short) with this recipe is already in the store; reusing it, not refitting.")
        } else {
            let seconds = String(format: "%.2f", result.seconds)
            print("Fitted \(estimator.name) on \(training.count) rows in \(seconds) s; stored as \(result.key.short).")
        }
        if let alias {
            try store.setAlias(alias, to: result.key)
            print("Alias \(alias) → \(result.key.short).")
        }
        if let out {
            try SafetensorsEstimatorFormat.write(
                result.model, to: out,
                metadata: ["key": result.key.hex, "recipe": result.recipe.canonicalValue.canonicalJSON])
            print("Wrote W [\(result.model.inputWidth), \(result.model.outputWidth)] and b to \(out).")
        }
        if !validation.isEmpty {
            printDiagnostics(
                try EstimatorDiagnostics.evaluate(result.model, on: located.source, rows: validation, topK: topK))
        }
        print(result.key.hex)
    }
}
