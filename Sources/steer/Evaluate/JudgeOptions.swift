import ArgumentParser
import Foundation
import Judges
import Pipeline
import SteeringCore

/// Which judges score behaviour and coherence, and how to reach an OpenAI-compatible endpoint.
struct JudgeOptions: ParsableArguments {
    @Option(
        help: "Behaviour judge: lexicon (task word list), feature-activation (the task's target features) or openai.")
    var behaviourJudge = "lexicon"

    @Option(help: "Coherence judge: coherence-loglik (the unsteered model's log-likelihood) or openai.")
    var coherenceJudge = "coherence-loglik"

    @Option(help: "OpenAI-compatible base URL (OpenAI, vLLM, llama.cpp server, Ollama).")
    var judgeBaseUrl = "https://api.openai.com/v1"

    @Option(help: "Judge model name.")
    var judgeModel = "gpt-4o-mini"

    @Option(help: "Environment variable holding the API key (never stored or logged).")
    var judgeApiKeyEnv = "OPENAI_API_KEY"

    @Option(help: "Judge requests in flight.")
    var judgeConcurrency = 8

    @Flag(help: "Do not ask the endpoint for JSON mode (some llama.cpp and Ollama versions lack it).")
    var judgeNoJsonMode = false

    func openAI() throws -> OpenAIJudge {
        try OpenAIJudge(
            configuration: OpenAIJudgeConfiguration(
                baseURL: judgeBaseUrl, model: judgeModel, apiKeyEnvironmentVariable: judgeApiKeyEnv,
                concurrency: judgeConcurrency, jsonMode: !judgeNoJsonMode))
    }

    /// The coherence judge; the offline one is anchored on unsteered completions of the evaluation prompt.
    func coherence(model: any ModelBackend, settings: EvaluationSettings) throws -> any Judge {
        switch coherenceJudge {
        case "openai": return try openAI()
        case "coherence-loglik":
            var reference = settings
            reference.seed = settings.seed &+ 0x5EED
            reference.samples = min(64, settings.samples)
            let prompt = model.encode(settings.prompt, addBOS: true)
            let tokens = try model.generate(
                prompts: Array(repeating: prompt, count: reference.samples), sampling: reference.sampling,
                interventions: [])
            let requests = tokens.map {
                JudgeRequest(
                    prompt: settings.prompt,
                    completion: model.decode(Array($0.dropFirst(prompt.count)), skipSpecialTokens: true),
                    criterion: "coherence", tokens: $0)
            }
            let anchors = try CoherenceLogLikelihoodJudge.calibrateAnchors(model: model, references: requests)
            return try CoherenceLogLikelihoodJudge(model: model, anchors: anchors)
        default:
            throw ValidationError("--coherence-judge '\(coherenceJudge)': use coherence-loglik or openai.")
        }
    }

    /// One behaviour judge per task.
    func behaviour(tasks: [SteeringTask], model: any ModelBackend, dictionary: any FeatureDictionary) throws
        -> [String: any Judge]
    {
        var judges = [String: any Judge]()
        let shared: (any Judge)? = behaviourJudge == "openai" ? try openAI() : nil
        for task in tasks {
            switch behaviourJudge {
            case "openai": judges[task.name] = shared
            case "lexicon":
                guard let words = task.lexicon, !words.isEmpty else {
                    throw ValidationError(
                        "Task \(task.name) has no lexicon; use --behaviour-judge feature-activation or openai.")
                }
                judges[task.name] = try LexiconJudge(words: words)
            case "feature-activation":
                let targets = task.targets(forStrategy: "sae-ts")
                let texts = task.positivePrompts.map {
                    JudgeRequest(prompt: "", completion: $0, criterion: task.behaviourCriterion)
                }
                let reference = try FeatureActivationJudge.calibrateReference(
                    model: model, dictionary: dictionary, targets: targets, site: task.site, texts: texts)
                judges[task.name] = try FeatureActivationJudge(
                    model: model, dictionary: dictionary, targets: targets, reference: reference, site: task.site)
            default:
                throw ValidationError(
                    "--behaviour-judge '\(behaviourJudge)': use lexicon, feature-activation or openai.")
            }
        }
        return judges
    }
}
