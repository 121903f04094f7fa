import ArtifactStore
import Foundation
import SteeringCore

/// Runs scale sweeps: generations and judge scores are artifacts, so a rerun computes nothing and a
/// new scale or strategy computes only its own cells.
public final class EvaluationRunner: Sendable {
    public let model: any ModelBackend
    public let store: ArtifactStore
    public let settings: EvaluationSettings
    /// The behaviour judge of each task (key `*` for every task without its own).
    public let behaviourJudges: [String: any Judge]
    public let coherenceJudge: any Judge
    /// Largest fraction of failed judge calls a score set may have and still be stored and used.
    public let maxFailureFraction: Double

    /// One behaviour judge for every task.
    public convenience init(
        model: any ModelBackend, store: ArtifactStore, settings: EvaluationSettings, behaviourJudge: any Judge,
        coherenceJudge: any Judge, maxFailureFraction: Double = 0.1
    ) throws {
        try self.init(
            model: model, store: store, settings: settings, behaviourJudges: ["*": behaviourJudge],
            coherenceJudge: coherenceJudge, maxFailureFraction: maxFailureFraction)
    }

    /// A behaviour judge per task name (`*` as the fallback).
    public init(
        model: any ModelBackend, store: ArtifactStore, settings: EvaluationSettings,
        behaviourJudges: [String: any Judge],
        coherenceJudge: any Judge, maxFailureFraction: Double = 0.1
    ) throws {
        try settings.validate()
        self.model = model
        self.store = store
        self.settings = settings
        self.behaviourJudges = behaviourJudges
        self.coherenceJudge = coherenceJudge
        self.maxFailureFraction = maxFailureFraction
    }

    /// Generated completions of one cell.
    public struct Generations: Sendable, Codable {
        public var tokens: [[Int32]]
        public var texts: [String]
    }

    /// Stored judge scores of one cell (1–10, `nil` where the call failed).
    public struct ScoreSet: Sendable, Codable {
        public var scores: [Double?]
        public var failures: Int
        public var firstErrors: [String]
    }

    /// Evaluates every subject at every scale.
    public func run(_ subjects: [EvaluationSubject], progress: ProgressReporter? = nil) async throws -> EvaluationResult
    {
        var cells = [EvaluationCell]()
        var computed = 0
        for subject in subjects {
            guard subject.vector.count == model.descriptor.hiddenSize else {
                throw SteeringError.shapeMismatch(
                    what: "\(subject.strategy) vector for task \(subject.task)",
                    expected: "\(model.descriptor.hiddenSize) values", got: "\(subject.vector.count)")
            }
            for scale in settings.scales {
                let (cell, fresh) = try await evaluate(subject, scale: scale)
                cells.append(cell)
                if fresh { computed += 1 }
                progress?.advance()
            }
        }
        progress?.finish()
        return EvaluationResult(settings: settings, cells: cells, computedCells: computed)
    }

    /// Recipe of the completions of `subject` at `scale` (scale 0 is the unsteered model, shared by all).
    public func generationsRecipe(_ subject: EvaluationSubject, scale: Float) -> Recipe {
        var inputs: [String: ContentDigest] = ["model": model.descriptor.fingerprint]
        if scale != 0 { inputs["vector"] = subject.vectorKey }
        return Recipe(
            kind: .generations, algorithm: "steered-generation", version: 1,
            parameters: ["settings": settings.generationParameters, "scale": .double(Double(scale))], inputs: inputs)
    }

    func scoresRecipe(generations: ContentDigest, judge: any Judge, criterion: String, role: String) -> Recipe {
        Recipe(
            kind: .scores, algorithm: "judge-scores", version: 1,
            parameters: ["judge": .object(judge.identity), "criterion": .string(criterion), "role": .string(role)],
            inputs: ["generations": generations])
    }

    private func evaluate(_ subject: EvaluationSubject, scale: Float) async throws -> (EvaluationCell, Bool) {
        var fresh = false
        let generationsRecipe = generationsRecipe(subject, scale: scale)
        let generations: Generations
        if let stored = try store.get(generationsRecipe.key) {
            generations = try stored.decodeJSON(Generations.self)
        } else {
            let promptTokens = model.encode(settings.prompt, addBOS: true)
            let interventions =
                scale == 0 ? [] : [Intervention(site: settings.site, vector: subject.vector, scale: scale)]
            let tokens = try model.generate(
                prompts: Array(repeating: promptTokens, count: settings.samples), sampling: settings.sampling,
                interventions: interventions)
            let texts = tokens.map { model.decode(Array($0.dropFirst(promptTokens.count)), skipSpecialTokens: true) }
            generations = Generations(tokens: tokens, texts: texts)
            try store.put(recipe: generationsRecipe, json: generations)
            fresh = true
        }
        guard let behaviourJudge = behaviourJudges[subject.task] ?? behaviourJudges["*"] else {
            throw PipelineError.invalidInput(what: "task \(subject.task)", problem: "has no behaviour judge")
        }
        let (behaviour, behaviourKey, b) = try await scores(
            generations, key: generationsRecipe.key, judge: behaviourJudge, criterion: subject.behaviourCriterion,
            role: "behaviour")
        let (coherence, coherenceKey, c) = try await scores(
            generations, key: generationsRecipe.key, judge: coherenceJudge, criterion: subject.coherenceCriterion,
            role: "coherence")
        fresh = fresh || b || c
        let meanB = Self.normalisedMean(behaviour.scores), meanC = Self.normalisedMean(coherence.scores)
        let normalisedB = behaviour.scores.map { $0.map { ($0 - 1) / 9 } }
        let normalisedC = coherence.scores.map { $0.map { ($0 - 1) / 9 } }
        let (intervalB, intervalC, intervalP) = EvaluationIntervals.cell(
            behaviour: normalisedB, coherence: normalisedC,
            seed: EvaluationIntervals.seed([subject.task, subject.strategy, "\(scale)"], base: settings.seed))
        let cell = EvaluationCell(
            task: subject.task, strategy: subject.strategy, scale: scale, behaviour: meanB, coherence: meanC,
            product: meanB * meanC, behaviourFailures: behaviour.failures, coherenceFailures: coherence.failures,
            samples: generations.texts.count, examples: Array(generations.texts.prefix(3)),
            behaviourScores: normalisedB, coherenceScores: normalisedC, behaviourInterval: intervalB,
            coherenceInterval: intervalC, productInterval: intervalP,
            generationsKey: generationsRecipe.key, behaviourScoresKey: behaviourKey, coherenceScoresKey: coherenceKey)
        return (cell, fresh)
    }

    private func scores(
        _ generations: Generations, key: ContentDigest, judge: any Judge, criterion: String, role: String
    ) async throws -> (ScoreSet, ContentDigest, Bool) {
        let recipe = scoresRecipe(generations: key, judge: judge, criterion: criterion, role: role)
        if let stored = try store.get(recipe.key) { return (try stored.decodeJSON(ScoreSet.self), recipe.key, false) }
        let requests = zip(generations.tokens, generations.texts).map {
            JudgeRequest(prompt: settings.prompt, completion: $0.1, criterion: criterion, tokens: $0.0)
        }
        let results = await judge.score(requests)
        var scores = [Double?](), errors = [String]()
        for result in results {
            switch result {
            case .success(let score): scores.append(score)
            case .failure(let error):
                scores.append(nil)
                if errors.count < 3 { errors.append("\(error)") }
            }
        }
        let failures = scores.filter { $0 == nil }.count
        guard Double(failures) <= maxFailureFraction * Double(max(scores.count, 1)) else {
            throw PipelineError.invalidInput(
                what: "\(role) judge '\(judge.name)'",
                problem: "failed on \(failures) of \(scores.count) completions (first error: \(errors.first ?? "?")); "
                    + "nothing was stored for these scores — fix the judge (is its endpoint up?) and rerun: finished cells are kept"
            )
        }
        let set = ScoreSet(scores: scores, failures: failures, firstErrors: errors)
        try store.put(recipe: recipe, json: set)
        return (set, recipe.key, true)
    }

    /// Mean of (s − 1)/9 over the scores that exist (0 when none).
    static func normalisedMean(_ scores: [Double?]) -> Double {
        let valid = scores.compactMap { $0 }
        guard !valid.isEmpty else { return 0 }
        return valid.map { ($0 - 1) / 9 }.reduce(0, +) / Double(valid.count)
    }
}
