import ArgumentParser
import Foundation
import Pipeline
import SteeringCore
import SteeringPlugins

struct Evaluate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sweep scales × strategies × tasks, score with judges, and write a report.",
        discussion: """
            Every generation and score is stored: rerunning computes nothing new, and adding a strategy or a scale \
            computes only the new cells. A task's score is the maximum over scales of mean(behaviour) × \
            mean(coherence), with judge scores normalised from 1–10 to [0, 1].
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var sae: SAEOptions

    @Option(help: "Estimator (store key, prefix, alias, or W/b .safetensors) for sae-ts, pinv and rotation.")
    var estimator: String?

    @Option(help: "Comma-separated built-in task names or task JSON files (default: all built-in tasks).")
    var tasks: String?

    @Option(help: "Comma-separated strategies.")
    var strategies = "caa,sae-direct,sae-ts"

    @Option(
        help: ArgumentHelp(
            "The claim the report tests per task, CANDIDATE:BASELINE,BASELINE (default: the paper's).",
            valueName: "candidate:baselines"))
    var compare = "sae-ts:sae-direct,caa"

    @Option(
        name: .customLong("strategy-option"),
        help: "Strategy option as NAME.KEY=VALUE (repeatable), e.g. sae-ts.lambda=0.5; `steer plugins` lists them.")
    var strategyOptions: [String] = []

    @Option(help: "Scales START:STEP:END.")
    var scales = "0:20:300"

    @Option(help: "Completions per cell.")
    var samples = 256

    @Option(help: "Prompt (BOS is prepended).")
    var prompt = "I think"

    @Option(help: "New tokens per completion.")
    var maxNewTokens = 30

    @Option(help: "Sampler seed.")
    var seed: UInt64 = 0

    @OptionGroup var judges: JudgeOptions

    @Option(help: "Write index.html, results.csv and results.json here.")
    var report: String?

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let backend = try model.load()
        let dictionary = try sae.load()
        try dictionary.checkCompatible(with: backend.descriptor)
        let site = try SAEOptions.site(of: dictionary)
        let store = try storeOptions.open(readOnly: false, create: true)
        let taskList =
            try tasks.map { try $0.split(separator: ",").map { try TaskCatalog.load(String($0)) } }
            ?? TaskCatalog.builtins()
        let strategyList = try strategies.split(separator: ",").map { try Steer.registry.strategy(String($0)) }
        let named = try pluginOptionValues(strategyOptions, kind: .strategy, flag: "--strategy-option")
        try checkPluginOptionsApply(named, to: strategyList.map(\.name), flag: "--strategy-option")
        let estimatorModel = try estimator.map { try EstimatorReference.resolve($0, store: store) }
        let settings = EvaluationSettings(
            site: site, scales: try parseScales(scales), samples: samples, prompt: prompt, maxNewTokens: maxNewTokens,
            seed: seed)
        let subjects = try TaskVectors(
            store: store, model: backend, dictionary: dictionary, estimator: estimatorModel,
            strategyOptions: named.mapValues { $0.mapValues { .string($0) } }
        ).subjects(tasks: taskList, strategies: strategyList)
        let runner = try EvaluationRunner(
            model: backend, store: store, settings: settings,
            behaviourJudges: try judges.judges().behaviour(tasks: taskList, model: backend, dictionary: dictionary),
            coherenceJudge: try judges.judges().coherence(model: backend, settings: settings))
        let progress = ProgressReporter(
            label: "evaluation", total: subjects.count * settings.scales.count, unit: "cells")
        let result = try await runner.run(subjects, progress: progress)
        print(EvaluationTable.text(result))
        printError("\(result.cells.count) cells, \(result.computedCells) computed now")
        if let report {
            let output = try EvaluationReport.write(
                result, to: report, title: "Steering evaluation",
                notes: [
                    "Model: \(backend.descriptor.name) (\(backend.descriptor.fingerprint.short)); dictionary: \(dictionary.descriptor.name).",
                    "Judges: behaviour \(judges.behaviourJudge), coherence \(judges.coherenceJudge).",
                ], comparison: try comparison())
            printError("report: \(output.html)")
        }
    }
}

/// Parses START:STEP:END into an inclusive grid.
func parseScales(_ text: String) throws -> [Float] {
    let parts = text.split(separator: ":").compactMap { Float($0) }
    if parts.count == 1 { return parts }
    guard parts.count == 3, parts[1] > 0, parts[2] >= parts[0] else {
        throw ValidationError("Scales must be START:STEP:END with STEP > 0 (e.g. 0:20:300) or a single value.")
    }
    return Array(stride(from: parts[0], through: parts[2] + parts[1] / 1000, by: parts[1]))
}

extension Evaluate {
    /// `--compare CANDIDATE:BASELINE,…` as a comparison, labelled with the strategies' display names.
    func comparison() throws -> StrategyComparison {
        let parts = compare.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else {
            throw ValidationError(
                "--compare '\(compare)': expected CANDIDATE:BASELINE,BASELINE, e.g. sae-ts:sae-direct,caa.")
        }
        let baselines = parts[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !baselines.isEmpty else { throw ValidationError("--compare '\(compare)': give at least one baseline.") }
        let registry = Steer.registry
        return StrategyComparison(
            candidate: try registry.strategy(parts[0]), baselines: try baselines.map { try registry.strategy($0) })
    }
}
