import ArtifactStore
import Foundation
import SteeringCore

/// Builds steering vectors with a strategy and stores each as a `vector` artifact whose recipe names
/// every input: strategy and version, targets, options, site, and the fingerprints/keys of the
/// model, dictionary, estimator and prompt sets it used. A vector already built is loaded, not rebuilt.
public struct VectorBuilder: Sendable {
    public let store: ArtifactStore

    public init(store: ArtifactStore) { self.store = store }

    /// A built (or loaded) vector.
    public struct Built: Sendable {
        public var vector: SteeringVector
        public var key: ContentDigest
        public var cached: Bool
    }

    /// The recipe of the vector `strategy` builds from `inputs`.
    /// - Parameter estimatorKey: key of the estimator artifact behind `inputs.effectModel`, if any.
    public func recipe(
        strategy: any SteeringStrategy, inputs: StrategyInputs, estimatorKey: ContentDigest?, task: String?
    ) -> Recipe {
        var parameters: [String: RecipeValue] = [
            "layer": .int(inputs.site.layer),
            "targets": .array(inputs.targets.map { .array([.int($0.feature), .double(Double($0.weight))]) }),
            "options": .object(inputs.options),
        ]
        if let task { parameters["task"] = .string(task) }
        var digests = [String: ContentDigest]()
        if let model = inputs.model, strategy.requirements.contains(.model) {
            digests["model"] = model.descriptor.fingerprint
        }
        if let dictionary = inputs.dictionary, strategy.requirements.contains(.dictionary) {
            digests["dictionary"] = dictionary.descriptor.fingerprint
        }
        if let estimatorKey, strategy.requirements.contains(.effectModel) { digests["estimator"] = estimatorKey }
        if strategy.requirements.contains(.contrastivePrompts) {
            let prompts: RecipeValue = [
                "positive": .array(inputs.positivePrompts.map { .string($0) }),
                "negative": .array(inputs.negativePrompts.map { .string($0) }),
            ]
            digests["prompts"] = ContentDigest(ofString: prompts.canonicalJSON)
        }
        return Recipe(
            kind: .vector, algorithm: strategy.name, version: strategy.version, parameters: parameters, inputs: digests)
    }

    /// Builds the vector, or loads it when the same recipe was built before.
    public func build(
        strategy: any SteeringStrategy, inputs: StrategyInputs, estimatorKey: ContentDigest? = nil, task: String? = nil
    ) throws -> Built {
        let recipe = recipe(strategy: strategy, inputs: inputs, estimatorKey: estimatorKey, task: task)
        if let stored = try store.get(recipe.key) {
            let vector = SteeringVector(
                values: try stored.floats(), site: inputs.site, provenance: ["strategy": strategy.name])
            return Built(vector: vector, key: recipe.key, cached: true)
        }
        let vector = try strategy.makeVector(inputs)
        try Vector.checkFinite(vector.values, "\(strategy.name) vector")
        try store.put(recipe: recipe, floats: vector.values, shape: [vector.values.count])
        return Built(vector: vector, key: recipe.key, cached: false)
    }
}
