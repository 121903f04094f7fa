import ArgumentParser
import Foundation
import Pipeline
import SteeringCore
import SteeringPlugins
import TensorFormats

struct VectorMake: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make", abstract: "Build a steering vector with a strategy and store it.",
        discussion: """
            Strategies: caa (needs --model and --task prompts), sae-direct (--sae), sae-ts, pinv, rotation \
            (--estimator, and --sae for rotation). Targets come from --target or the task.
            """)

    @Option(help: "Strategy: caa, sae-direct, sae-ts, pinv, rotation.")
    var strategy: String

    @Option(help: "Target features, e.g. 14455 or 8392:0.5,15769:0.5.")
    var target: String?

    @Option(help: "Estimator: store key, prefix or alias, or a .safetensors file with W and b.")
    var estimator: String?

    @Option(help: "Gemma Scope params.npz (or folder) or SAELens directory.")
    var sae: String?

    @Option(help: "Checkpoint directory (CAA).")
    var model: String?

    @Option(help: "Built-in task name or task JSON file (targets, prompts).")
    var task: String?

    @Option(help: "Layer the vector is for (default: the task's, else the SAE's).")
    var layer: Int?

    @Option(name: .customLong("option"), help: "Strategy option KEY=VALUE (repeatable), e.g. lambda=0.5.")
    var options: [String] = []

    @Option(
        name: .customLong("strategy-option"),
        help: "Strategy option as NAME.KEY=VALUE (repeatable), e.g. sae-ts.lambda=0.5; `steer plugins` lists them.")
    var strategyOptions: [String] = []

    @Option(help: "Write the vector here as .npy.")
    var out: String?

    @Option(help: "Alias for the vector artifact.")
    var alias: String?

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let store = try storeOptions.open(readOnly: false, create: true)
        let registry = Steer.registry
        let strategy = try registry.strategy(self.strategy)
        let loadedTask = try task.map { try TaskCatalog.load($0) }
        let dictionary = try sae.map { try SAEOptions.load($0) }
        let backend = try model.map { try ModelOptions.load($0) }
        let estimatorModel = try estimator.map { try EstimatorReference.resolve($0, store: store) }
        guard let site = (layer ?? loadedTask?.layer).map({ ActivationSite(layer: $0) }) ?? dictionary?.descriptor.site
        else { throw ValidationError("Give --layer (or a --task or an --sae whose layer is known).") }
        var inputs = try loadedTask?.strategyInputs(for: strategy) ?? StrategyInputs(site: site)
        inputs.site = site
        if let target { inputs.targets = try FeatureTarget.parseList(target) }
        inputs.model = backend
        inputs.dictionary = dictionary
        inputs.effectModel = estimatorModel?.model
        for option in options {
            guard let equals = option.firstIndex(of: "=") else {
                throw ValidationError("--option '\(option)': expected KEY=VALUE.")
            }
            inputs.options[String(option[..<equals])] = .string(String(option[option.index(after: equals)...]))
        }
        let named = try pluginOptionValues(strategyOptions, kind: .strategy, flag: "--strategy-option")
        try checkPluginOptionsApply(named, to: [strategy.name], flag: "--strategy-option")
        for (key, value) in named[strategy.name] ?? [:] { inputs.options[key] = .string(value) }
        let built = try VectorBuilder(store: store).build(
            strategy: strategy, inputs: inputs, estimatorKey: estimatorModel?.key, task: loadedTask?.name)
        if let alias { _ = try store.setAlias(alias, to: built.key) }
        if let out { try NPY.write(NDArray(floats: built.vector.values, shape: [built.vector.values.count]), to: out) }
        print(built.key.hex)
        printError(
            "\(strategy.name) vector for \(site): norm \(String(format: "%.4f", Vector.norm(built.vector.values)))"
                + (built.cached ? " (already in the store)" : "") + (out.map { ", written to \($0)" } ?? ""))
    }
}
