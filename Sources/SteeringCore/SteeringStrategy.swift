import Foundation

/// A target feature and its weight in the target vector `t`.
public struct FeatureTarget: Sendable, Hashable, Codable, CustomStringConvertible {
    public var feature: Int
    public var weight: Float

    public init(feature: Int, weight: Float = 1) {
        self.feature = feature
        self.weight = weight
    }

    /// Parses `123`, `123:0.5`, and comma-separated lists of them.
    public static func parseList(_ text: String) throws(SteeringError) -> [FeatureTarget] {
        var out = [FeatureTarget]()
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count),
                let feature = Int(parts[0].trimmingCharacters(in: .whitespaces)), feature >= 0
            else {
                throw .invalidArgument(
                    what: "target '\(item)'", problem: "expected FEATURE or FEATURE:WEIGHT, e.g. 14455 or 8392:0.5")
            }
            var weight: Float = 1
            if parts.count == 2 {
                guard let w = Float(parts[1].trimmingCharacters(in: .whitespaces)), w.isFinite else {
                    throw .invalidArgument(what: "target weight '\(parts[1])'", problem: "must be a finite number")
                }
                weight = w
            }
            out.append(FeatureTarget(feature: feature, weight: weight))
        }
        guard !out.isEmpty else { throw .invalidArgument(what: "targets", problem: "no feature given") }
        return out
    }

    public var description: String { weight == 1 ? "\(feature)" : "\(feature):\(weight)" }
}

/// What a strategy may use. Each strategy states which of these it requires.
public struct StrategyInputs: Sendable {
    /// The site the vector is for.
    public var site: ActivationSite
    /// Target features with weights (SAE-TS, SAE-direct, pinv, rotation).
    public var targets: [FeatureTarget]
    /// The model (CAA needs it to read activations).
    public var model: (any ModelBackend)?
    /// The feature dictionary whose features are targeted.
    public var dictionary: (any FeatureDictionary)?
    /// The fitted effect model (SAE-TS, pinv, rotation).
    public var effectModel: LinearEffectModel?
    /// Positive and negative prompt sets (CAA).
    public var positivePrompts: [String]
    public var negativePrompts: [String]
    /// Strategy-specific options (e.g. `lambda`, `normalize`, `positions`), recorded in the recipe.
    public var options: [String: RecipeValue]

    public init(
        site: ActivationSite, targets: [FeatureTarget] = [], model: (any ModelBackend)? = nil,
        dictionary: (any FeatureDictionary)? = nil, effectModel: LinearEffectModel? = nil,
        positivePrompts: [String] = [], negativePrompts: [String] = [], options: [String: RecipeValue] = [:]
    ) {
        self.site = site
        self.targets = targets
        self.model = model
        self.dictionary = dictionary
        self.effectModel = effectModel
        self.positivePrompts = positivePrompts
        self.negativePrompts = negativePrompts
        self.options = options
    }
}

/// An input a strategy cannot work without.
public enum StrategyRequirement: String, Sendable, Hashable, CaseIterable {
    case model, dictionary, effectModel = "estimator", targets, contrastivePrompts = "prompts"
}

/// Builds a steering vector from targets, prompts, a dictionary and/or an effect model.
public protocol SteeringStrategy: Sendable {
    /// Registry name (`caa`, `sae-direct`, `sae-ts`, `pinv`, `rotation`).
    var name: String { get }
    /// Bumped when the output changes for the same inputs.
    var version: Int { get }
    /// Inputs that must be present in ``StrategyInputs``.
    var requirements: Set<StrategyRequirement> { get }
    /// Builds the vector (unit norm unless an option says otherwise).
    /// - Throws: ``SteeringError`` for missing inputs, out-of-range targets or width mismatches.
    func makeVector(_ inputs: StrategyInputs) throws -> SteeringVector
}

extension SteeringStrategy {
    /// Throws a clear error naming the first missing requirement.
    public func checkRequirements(_ inputs: StrategyInputs) throws(SteeringError) {
        for requirement in requirements.sorted(by: { $0.rawValue < $1.rawValue }) {
            let present: Bool
            switch requirement {
            case .model: present = inputs.model != nil
            case .dictionary: present = inputs.dictionary != nil
            case .effectModel: present = inputs.effectModel != nil
            case .targets: present = !inputs.targets.isEmpty
            case .contrastivePrompts: present = !inputs.positivePrompts.isEmpty && !inputs.negativePrompts.isEmpty
            }
            guard present else {
                throw .invalidArgument(
                    what: "inputs for strategy '\(name)'",
                    problem:
                        "it needs \(requirement.rawValue); pass --\(requirement.rawValue) or a task that provides it")
            }
        }
    }
}
