public import SteeringCore

/// Hyper-parameters an estimator is built from: checked once when the estimator is made, and recorded
/// in the recipe of every model it fits.
public protocol EstimatorConfiguration: Sendable, Hashable {
    /// Fails with ``SteeringError/invalidArgument(what:problem:)`` naming the first value out of range.
    func validate() throws(SteeringError)
    /// The hyper-parameters as recipe values (they enter the fitted model's key).
    var parameters: [String: RecipeValue] { get }
}

/// An estimator defined by a registry name and a validated configuration: the scaffolding the estimators
/// of this module share (name, version, recipe parameters).
public protocol ConfiguredEstimator: EffectEstimator {
    /// The configuration type.
    associatedtype Configuration: EstimatorConfiguration
    /// The name this estimator is registered under.
    static var registryName: String { get }
    /// The hyper-parameters, validated.
    var configuration: Configuration { get }
}

extension ConfiguredEstimator {
    /// The registry name.
    public var name: String { Self.registryName }
    /// Version 1 (raise it in the conformer when its output for the same inputs changes).
    public var version: Int { 1 }
    /// The configuration's ``EstimatorConfiguration/parameters``.
    public var parameters: [String: RecipeValue] { configuration.parameters }
}
