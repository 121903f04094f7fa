import Foundation
import SteeringCore

/// A steering task: what to steer towards, the inputs every strategy needs for it, and how the result is
/// judged. Stored as a JSON file (format in Docs/Tasks.md); the method's nine Gemma-2-2B tasks are built in
/// (``TaskCatalog``).
public struct SteeringTask: Sendable, Hashable, Codable {
    /// Short identifier: lowercase letters, digits, `_` and `-` (used in file names and store aliases).
    public var name: String
    /// One line for people.
    public var description: String
    /// The block whose residual stream (`blocks.{layer}.hook_resid_post`) is steered and read.
    public var layer: Int
    /// Which dictionary the feature ids index, e.g. `gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82`.
    /// A hint for people and tools; the ids are only meaningful for that dictionary.
    public var dictionary: String
    /// Target features and weights for `sae-ts`, `pinv` and `rotation` (`t[i] = w_i`).
    public var targets: [FeatureTarget]
    /// Features and weights for `sae-direct` (`Σ w_i·W_dec[i]`); differs from `targets` for Praise.
    public var saeDirectFeatures: [FeatureTarget]
    /// Statements showing the behaviour (CAA's positive set).
    public var positivePrompts: [String]
    /// Contrasting statements without it (CAA's negative set).
    public var negativePrompts: [String]
    /// What a judge scores for the behaviour.
    public var behaviourCriterion: String
    /// What a judge scores for coherence (the same for every built-in task).
    public var coherenceCriterion: String
    /// Lowercase words or short phrases whose occurrences an offline behaviour judge can count.
    public var lexicon: [String]?

    public init(
        name: String, description: String, layer: Int, dictionary: String, targets: [FeatureTarget],
        saeDirectFeatures: [FeatureTarget], positivePrompts: [String], negativePrompts: [String],
        behaviourCriterion: String, coherenceCriterion: String, lexicon: [String]? = nil
    ) {
        self.name = name
        self.description = description
        self.layer = layer
        self.dictionary = dictionary
        self.targets = targets
        self.saeDirectFeatures = saeDirectFeatures
        self.positivePrompts = positivePrompts
        self.negativePrompts = negativePrompts
        self.behaviourCriterion = behaviourCriterion
        self.coherenceCriterion = coherenceCriterion
        self.lexicon = lexicon
    }

    /// `blocks.{layer}.hook_resid_post`.
    public var site: ActivationSite { ActivationSite(layer: layer) }

    /// The task's feature lists by their task-file field names.
    public var featureLists: [(name: String, features: [FeatureTarget])] {
        [("targets", targets), ("sae_direct_features", saeDirectFeatures)]
    }

    /// The feature list a task file names `list` (``featureLists``); nil for another name.
    public func features(list: String) -> [FeatureTarget]? {
        featureLists.first { $0.name == list }?.features
    }

    /// The inputs for `strategy`: site, the feature list it declares (``SteeringStrategy/taskFeatureList``)
    /// and both prompt sets. The caller adds the model, dictionary, estimator and options.
    /// - Throws: ``SteeringError`` when the strategy asks for a feature list tasks do not have.
    public func strategyInputs(for strategy: any SteeringStrategy) throws(SteeringError) -> StrategyInputs {
        guard let features = features(list: strategy.taskFeatureList) else {
            throw .invalidArgument(
                what: "strategy '\(strategy.name)' on task '\(name)'",
                problem:
                    "it targets the feature list '\(strategy.taskFeatureList)'; tasks have \(featureLists.map(\.name).joined(separator: " and "))"
            )
        }
        return StrategyInputs(
            site: site, targets: features, positivePrompts: positivePrompts, negativePrompts: negativePrompts)
    }

    /// Every field as a canonical ``RecipeValue`` (weights as doubles), for recipes.
    public var recipeValue: RecipeValue {
        func list(_ targets: [FeatureTarget]) -> RecipeValue {
            .array(targets.map { .object(["feature": .int($0.feature), "weight": .double(Double($0.weight))]) })
        }
        var object: [String: RecipeValue] = [
            "name": .string(name), "description": .string(description), "layer": .int(layer),
            "dictionary": .string(dictionary), "targets": list(targets), "sae_direct_features": list(saeDirectFeatures),
            "positive_prompts": .array(positivePrompts.map { .string($0) }),
            "negative_prompts": .array(negativePrompts.map { .string($0) }),
            "behaviour_criterion": .string(behaviourCriterion), "coherence_criterion": .string(coherenceCriterion),
        ]
        if let lexicon { object["lexicon"] = .array(lexicon.map { .string($0) }) }
        return .object(object)
    }

    /// SHA-256 of the canonical JSON of ``recipeValue``: equal for equal tasks however the file was laid out.
    public var digest: ContentDigest { ContentDigest(ofString: recipeValue.canonicalJSON) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, layer, dictionary, targets, lexicon
        case saeDirectFeatures = "sae_direct_features"
        case positivePrompts = "positive_prompts"
        case negativePrompts = "negative_prompts"
        case behaviourCriterion = "behaviour_criterion"
        case coherenceCriterion = "coherence_criterion"
    }

    /// One `{"feature": F, "weight": W}` entry; `weight` defaults to 1.
    private struct TargetEntry: Codable {
        var feature: Int
        var weight: Float?
    }

    /// Decodes the JSON format of Docs/Tasks.md. Unknown fields are rejected (a misspelt optional field
    /// would otherwise be silently ignored); a target's `weight` may be left out (1).
    public init(from decoder: any Decoder) throws {
        let any = try decoder.container(keyedBy: AnyCodingKey.self)
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        if let unknown = any.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: [AnyCodingKey(unknown)],
                    debugDescription: "unknown field; known fields: \(known.sorted().joined(separator: ", "))"))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func targetList(_ key: CodingKeys) throws -> [FeatureTarget] {
            try c.decode([TargetEntry].self, forKey: key).map {
                FeatureTarget(feature: $0.feature, weight: $0.weight ?? 1)
            }
        }
        name = try c.decode(String.self, forKey: .name)
        description = try c.decode(String.self, forKey: .description)
        layer = try c.decode(Int.self, forKey: .layer)
        dictionary = try c.decode(String.self, forKey: .dictionary)
        targets = try targetList(.targets)
        saeDirectFeatures = try targetList(.saeDirectFeatures)
        positivePrompts = try c.decode([String].self, forKey: .positivePrompts)
        negativePrompts = try c.decode([String].self, forKey: .negativePrompts)
        behaviourCriterion = try c.decode(String.self, forKey: .behaviourCriterion)
        coherenceCriterion = try c.decode(String.self, forKey: .coherenceCriterion)
        lexicon = try c.decodeIfPresent([String].self, forKey: .lexicon)
    }

    /// Encodes the JSON format of Docs/Tasks.md (every target with its weight; `lexicon` only when set).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(description, forKey: .description)
        try c.encode(layer, forKey: .layer)
        try c.encode(dictionary, forKey: .dictionary)
        try c.encode(targets.map { TargetEntry(feature: $0.feature, weight: $0.weight) }, forKey: .targets)
        try c.encode(
            saeDirectFeatures.map { TargetEntry(feature: $0.feature, weight: $0.weight) }, forKey: .saeDirectFeatures)
        try c.encode(positivePrompts, forKey: .positivePrompts)
        try c.encode(negativePrompts, forKey: .negativePrompts)
        try c.encode(behaviourCriterion, forKey: .behaviourCriterion)
        try c.encode(coherenceCriterion, forKey: .coherenceCriterion)
        try c.encodeIfPresent(lexicon, forKey: .lexicon)
    }
}

/// A coding key for any field name.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }
}
