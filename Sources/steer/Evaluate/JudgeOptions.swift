import ArgumentParser
import Foundation
import Pipeline
import SteeringCore
import SteeringPlugins

/// Which judges score behaviour and coherence, resolved by name through the registry, with their
/// options (`--judge-option NAME.KEY=VALUE`; the `--judge-*` flags are shorthands for the `openai`
/// judge's options).
struct JudgeOptions: ParsableArguments {
    @Option(
        help:
            "Behaviour judge (a registered judge, `steer plugins --kind judge`): lexicon (task word list), feature-activation (the task's target features) or openai."
    )
    var behaviourJudge = "lexicon"

    @Option(help: "Coherence judge: coherence-loglik (the unsteered model's log-likelihood) or openai.")
    var coherenceJudge = "coherence-loglik"

    @Option(
        name: .customLong("judge-option"),
        help: "A judge's option as NAME.KEY=VALUE (repeatable), e.g. openai.model=gpt-4o or lexicon.saturation=5.")
    var judgeOptions: [String] = []

    @Option(help: "OpenAI-compatible base URL (OpenAI, vLLM, llama.cpp server, Ollama); openai.base-url.")
    var judgeBaseUrl: String?

    @Option(help: "Judge model name (default gpt-4o-mini); openai.model.")
    var judgeModel: String?

    @Option(help: "Environment variable holding the API key (never stored or logged); openai.api-key-env.")
    var judgeApiKeyEnv: String?

    @Option(help: "Judge requests in flight (default 8); openai.concurrency.")
    var judgeConcurrency: Int?

    @Flag(help: "Do not ask the endpoint for JSON mode (some llama.cpp and Ollama versions lack it).")
    var judgeNoJsonMode = false

    /// Options per judge name: `--judge-option`, then the shorthand flags.
    func values() throws -> [String: [String: String]] {
        var table = try pluginOptionValues(judgeOptions, kind: .judge, flag: "--judge-option")
        let shorthands: [(String, String?)] = [
            ("base-url", judgeBaseUrl), ("model", judgeModel), ("api-key-env", judgeApiKeyEnv),
            ("concurrency", judgeConcurrency.map(String.init)), ("json-mode", judgeNoJsonMode ? "false" : nil),
        ]
        for case (let key, let value?) in shorthands {
            if let given = table["openai"]?[key], given != value {
                throw ValidationError("--judge-option openai.\(key)=\(given) and its shorthand flag disagree.")
            }
            table["openai", default: [:]][key] = value
        }
        try checkPluginOptionsApply(table, to: [behaviourJudge, coherenceJudge], flag: "--judge-option")
        return table
    }

    /// The coherence judge. A judge that anchors its scale on unsteered completions of the evaluation
    /// prompt (coherence-loglik) gets up to 64 of them, generated only if it asks.
    func coherence(model: any ModelBackend, settings: EvaluationSettings) throws -> any Judge {
        let references: @Sendable () throws -> [JudgeRequest] = {
            var reference = settings
            reference.seed = settings.seed &+ 0x5EED
            reference.samples = min(64, settings.samples)
            let prompt = model.encode(settings.prompt, addBOS: true)
            let tokens = try model.generate(
                prompts: Array(repeating: prompt, count: reference.samples), sampling: reference.sampling,
                interventions: [])
            return tokens.map {
                JudgeRequest(
                    prompt: settings.prompt,
                    completion: model.decode(Array($0.dropFirst(prompt.count)), skipSpecialTokens: true),
                    criterion: "coherence", tokens: $0)
            }
        }
        return try PluginRegistry.standard.judge(
            coherenceJudge, PluginOptions(values: try values()[coherenceJudge] ?? [:]),
            context: JudgeContext(
                model: model, subject: JudgeSubject(criterion: "coherence", references: references)))
    }

    /// One behaviour judge per task, configured from the task (its lexicon, target features and
    /// positive prompts) unless options say otherwise.
    func behaviour(tasks: [SteeringTask], model: any ModelBackend, dictionary: any FeatureDictionary) throws
        -> [String: any Judge]
    {
        let options = PluginOptions(values: try values()[behaviourJudge] ?? [:])
        var judges = [String: any Judge]()
        for task in tasks {
            let subject = JudgeSubject(
                criterion: task.behaviourCriterion, lexicon: task.lexicon, targets: task.targets(forStrategy: "sae-ts"),
                site: task.site, examples: task.positivePrompts)
            do {
                judges[task.name] = try PluginRegistry.standard.judge(
                    behaviourJudge, options,
                    context: JudgeContext(model: model, dictionary: dictionary, subject: subject))
            } catch {
                throw ValidationError("Task \(task.name): behaviour judge \(behaviourJudge): \(error)")
            }
        }
        return judges
    }
}
