import ArgumentParser
import ArtifactStore
import Foundation
import Pipeline
import SteeringCore

/// `steer estimators compare`: fit several estimators on the same split and tabulate held-out quality.
struct EstimatorsCompare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Fit several estimators on the same training split and compare them on the held-out rows.",
        discussion: """
            Every estimator is fitted anew (so fit times are measured) and stored. The table is also stored as an \
            `evaluation` artifact (JSON) whose key is printed last.
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var data: DatasetArguments
    @OptionGroup var hyperparameters: EstimatorHyperparameters

    @Option(help: "Comma-separated estimators to compare.")
    var estimators = "ridge,linear-adam"

    @Option(help: "k of the held-out top-k overlap.")
    var topK = 10

    @Option(help: "Point this alias at the evaluation artifact.")
    var alias: String?

    func validate() throws {
        guard data.validationSize > 0 else { throw ValidationError("--validation-size must be > 0 to compare.") }
        guard topK >= 1 else { throw ValidationError("--top-k must be ≥ 1.") }
        guard !names.isEmpty else { throw ValidationError("--estimators names no estimator.") }
        if let alias { try ArtifactStore.validateAliasName(alias) }
    }

    var names: [String] {
        estimators.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() async throws {
        let models = try hyperparameters.makeEstimators(names)
        let store = try store.open(readOnly: false, create: true)
        let located = try data.open(store: store, streaming: names.allSatisfy { $0 == "ridge" })
        let split = EffectDataSplit(validationSize: data.validationSize)
        let comparison = try EffectEstimatorComparison.run(
            models, on: located.source, split: split, store: store, topK: topK,
            progress: { fitProgress($0, trainingRows: $1) })
        print("Trained on \(comparison.trainingRows) rows; evaluated on the last \(split.validationSize).")
        print(comparison.table())
        let key = try store.put(recipe: comparison.recipe, json: comparison)
        if let alias { try store.setAlias(alias, to: key) }
        print("Stored the comparison as evaluation \(key.short)\(alias.map { " (alias \($0))" } ?? "").")
        print(key.hex)
    }
}
