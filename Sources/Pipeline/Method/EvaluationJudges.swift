import Foundation
import SteeringCore

/// Creates an evaluation's judges through a registry: one behaviour judge per task, configured from the
/// task (criterion, lexicon, target features, positive prompts), and one coherence judge, which may ask
/// for unsteered reference completions of the evaluation prompt (generated only if it does).
public struct EvaluationJudges: Sendable {
    /// The registry that creates the judges (and loads anything else they need by name).
    public let registry: PluginRegistry
    /// Registered judge names.
    public let behaviourJudge: String
    public let coherenceJudge: String
    /// Options per judge name (`lexicon.saturation=5`, say), checked by each judge against its declarations.
    public let options: [String: [String: String]]

    public init(
        registry: PluginRegistry, behaviourJudge: String, coherenceJudge: String,
        options: [String: [String: String]] = [:]
    ) {
        self.registry = registry
        self.behaviourJudge = behaviourJudge
        self.coherenceJudge = coherenceJudge
        self.options = options
    }

    /// One behaviour judge per task name.
    /// - Throws: ``PipelineError`` naming the task and judge when a judge cannot be created for it.
    public func behaviour(tasks: [SteeringTask], model: any ModelBackend, dictionary: any FeatureDictionary) throws
        -> [String: any Judge]
    {
        var judges = [String: any Judge]()
        for task in tasks {
            let subject = JudgeSubject(
                criterion: task.behaviourCriterion, lexicon: task.lexicon, targets: task.targets, site: task.site,
                examples: task.positivePrompts)
            do {
                judges[task.name] = try registry.judge(
                    behaviourJudge, PluginOptions(values: options[behaviourJudge] ?? [:]),
                    context: JudgeContext(model: model, dictionary: dictionary, subject: subject))
            } catch {
                throw PipelineError.invalidInput(
                    what: "task \(task.name)", problem: "behaviour judge \(behaviourJudge): \(error)")
            }
        }
        return judges
    }

    /// The coherence judge. A judge that anchors its scale on unsteered completions of the evaluation
    /// prompt (coherence-loglik) gets up to 64 of them, generated only if it asks.
    public func coherence(model: any ModelBackend, settings: EvaluationSettings) throws -> any Judge {
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
        return try registry.judge(
            coherenceJudge, PluginOptions(values: options[coherenceJudge] ?? [:]),
            context: JudgeContext(model: model, subject: JudgeSubject(criterion: "coherence", references: references)))
    }
}
