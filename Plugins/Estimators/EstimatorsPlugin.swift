import SteeringCore

/// Registers the effect estimators: `ridge` (``RidgeEstimator``), `linear-adam`
/// (``LinearAdamEstimator``) and the b-only floor `mean-effect` (``MeanEffectEstimator``). Options are the estimators' hyper-parameters as strings
/// declared with their defaults
/// (``RidgeConfiguration/optionSpecs``, ``LinearAdamConfiguration/optionSpecs``).
public enum EstimatorsPlugin {
    /// Adds the three estimators to `registry`.
    public static func register(in registry: inout PluginRegistry) {
        registry.register(estimator: RidgeEstimator.registryName, options: RidgeConfiguration.optionSpecs) { options in
            try RidgeEstimator(configuration: RidgeConfiguration(options: options.values))
        }
        registry.register(estimator: LinearAdamEstimator.registryName, options: LinearAdamConfiguration.optionSpecs) {
            options in
            try LinearAdamEstimator(configuration: LinearAdamConfiguration(options: options.values))
        }
        registry.register(estimator: MeanEffectEstimator.registryName, options: []) { options in
            MeanEffectEstimator(configuration: try MeanEffectConfiguration(options: options.values))
        }
    }
}
