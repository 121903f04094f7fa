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

/// The typed key of an input that core does not name: a strategy that needs a new kind of input (a second
/// dictionary, a feature co-occurrence table, …) declares a key, requires it with
/// ``StrategyRequirement/input(_:)`` and reads it with ``StrategyInputs/subscript(_:)``; the caller sets it.
public struct StrategyInputKey<Value: Sendable>: Sendable, Hashable {
    /// The key's name, unique among the inputs of one strategy call (used in error messages).
    public let name: String

    public init(_ name: String) { self.name = name }
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
    /// Inputs beyond the named ones, by ``StrategyInputKey`` name; read and set through the typed subscript.
    public var extras: [String: any Sendable] = [:]

    /// The extra input under `key`, or nil when the caller gave none (or gave a value of another type).
    public subscript<Value>(key: StrategyInputKey<Value>) -> Value? {
        get { extras[key.name] as? Value }
        set { extras[key.name] = newValue }
    }

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

/// An input a strategy cannot work without: one of the named inputs of ``StrategyInputs`` or an extra one
/// (``input(_:)``).
public struct StrategyRequirement: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The requirement's name as error messages and options spell it (`model`, `estimator`, …).
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public static let model = StrategyRequirement(rawValue: "model")
    public static let dictionary = StrategyRequirement(rawValue: "dictionary")
    public static let effectModel = StrategyRequirement(rawValue: "estimator")
    public static let targets = StrategyRequirement(rawValue: "targets")
    public static let contrastivePrompts = StrategyRequirement(rawValue: "prompts")
    /// The named requirements, as core knows them.
    public static let named: [StrategyRequirement] = [.model, .dictionary, .effectModel, .targets, .contrastivePrompts]

    /// An extra input under `key` (``StrategyInputs/extras``).
    public static func input<Value>(_ key: StrategyInputKey<Value>) -> StrategyRequirement {
        StrategyRequirement(rawValue: "input:" + key.name)
    }

    public var description: String { rawValue }

    /// The key name of an extra input (``input(_:)``); nil for the named requirements.
    public var inputName: String? {
        rawValue.hasPrefix("input:") ? String(rawValue.dropFirst("input:".count)) : nil
    }

    /// Whether `inputs` carries what this requirement names.
    public func isMet(by inputs: StrategyInputs) -> Bool {
        switch self {
        case .model: return inputs.model != nil
        case .dictionary: return inputs.dictionary != nil
        case .effectModel: return inputs.effectModel != nil
        case .targets: return !inputs.targets.isEmpty
        case .contrastivePrompts: return !inputs.positivePrompts.isEmpty && !inputs.negativePrompts.isEmpty
        default:
            guard let inputName else { return false }
            return inputs.extras[inputName] != nil
        }
    }
}

/// Builds a steering vector from targets, prompts, a dictionary and/or an effect model.
public protocol SteeringStrategy: Sendable {
    /// Registry name (`caa`, `sae-direct`, `sae-ts`, `pinv`, `rotation`).
    var name: String { get }
    /// Bumped when the output changes for the same inputs.
    var version: Int { get }
    /// Inputs that must be present in ``StrategyInputs``.
    var requirements: Set<StrategyRequirement> { get }
    /// How reports name the strategy (`SAE-TS`); defaults to ``name``.
    var displayName: String { get }
    /// Which of a task's feature lists the strategy targets (`targets`, or `sae_direct_features` for the
    /// method's SAE baseline, which differs for Praise); defaults to `targets`.
    var taskFeatureList: String { get }
    /// Builds the vector (unit norm unless an option says otherwise).
    /// - Throws: ``SteeringError`` for missing inputs, out-of-range targets or width mismatches.
    func makeVector(_ inputs: StrategyInputs) throws -> SteeringVector
}

extension SteeringStrategy {
    public var displayName: String { name }
    public var taskFeatureList: String { "targets" }

    /// Throws a clear error naming the first missing requirement.
    public func checkRequirements(_ inputs: StrategyInputs) throws(SteeringError) {
        for requirement in requirements.sorted(by: { $0.rawValue < $1.rawValue }) {
            guard requirement.isMet(by: inputs) else {
                let problem =
                    requirement.inputName.map {
                        "it needs the input '\($0)', which its caller sets in StrategyInputs.extras"
                    }
                    ?? "it needs \(requirement.rawValue); pass --\(requirement.rawValue) or a task that provides it"
                throw .invalidArgument(what: "inputs for strategy '\(name)'", problem: problem)
            }
        }
    }
}
