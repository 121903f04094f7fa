import ArtifactStore
import Foundation
import SteeringCore

/// Builds each task's vector with each strategy and turns them into evaluation subjects.
public struct TaskVectors: Sendable {
    public let builder: VectorBuilder
    public let model: any ModelBackend
    public let dictionary: any FeatureDictionary
    public let estimator: (key: ContentDigest, model: LinearEffectModel)?
    /// Options per strategy name, set on top of what a task gives (`lambda` of `sae-ts`, say).
    public let strategyOptions: [String: [String: RecipeValue]]

    public init(
        store: ArtifactStore, model: any ModelBackend, dictionary: any FeatureDictionary,
        estimator: (key: ContentDigest, model: LinearEffectModel)?,
        strategyOptions: [String: [String: RecipeValue]] = [:]
    ) {
        self.builder = VectorBuilder(store: store)
        self.model = model
        self.dictionary = dictionary
        self.estimator = estimator
        self.strategyOptions = strategyOptions
    }

    /// The inputs `strategy` gets for `task`.
    public func inputs(task: SteeringTask, strategy: any SteeringStrategy) throws -> StrategyInputs {
        var inputs = try task.strategyInputs(for: strategy)
        inputs.model = model
        inputs.dictionary = dictionary
        inputs.effectModel = estimator?.model
        inputs.options.merge(strategyOptions[strategy.name] ?? [:]) { _, given in given }
        return inputs
    }

    /// One evaluation subject per (task, strategy), building (or loading) every vector.
    public func subjects(tasks: [SteeringTask], strategies: [any SteeringStrategy]) throws -> [EvaluationSubject] {
        var out = [EvaluationSubject]()
        for task in tasks {
            for strategy in strategies {
                let built = try builder.build(
                    strategy: strategy, inputs: try inputs(task: task, strategy: strategy),
                    estimatorKey: estimator?.key,
                    task: task.name)
                out.append(
                    EvaluationSubject(
                        task: task.name, strategy: strategy.name, vector: built.vector.values, vectorKey: built.key,
                        behaviourCriterion: task.behaviourCriterion, coherenceCriterion: task.coherenceCriterion))
            }
        }
        return out
    }
}

/// Resolves `--estimator` arguments: a file (`.safetensors` with `W` and `b`, imported into the
/// store first) or a store key, key prefix or alias.
public enum EstimatorReference {
    public static func resolve(_ reference: String, store: ArtifactStore) throws -> (
        key: ContentDigest, model: LinearEffectModel
    ) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory), !isDirectory.boolValue {
            let imported = try EstimatorImport.importFile(reference, into: store)
            return try EstimatorArtifact.load(imported.key.hex, from: store)
        }
        return try EstimatorArtifact.load(reference, from: store)
    }
}
