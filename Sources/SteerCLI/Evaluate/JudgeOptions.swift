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

    /// The judges these options name, created through the standard registry with their options.
    func judges() throws -> EvaluationJudges {
        EvaluationJudges(
            registry: Steer.registry, behaviourJudge: behaviourJudge, coherenceJudge: coherenceJudge,
            options: try values())
    }
}
