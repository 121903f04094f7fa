import SteeringCore

/// Registers the steering strategies `caa`, `sae-direct`, `sae-ts`, `pinv` and `rotation`.
///
/// Every strategy reads its options from ``StrategyInputs/options`` and reports, in the vector's
/// provenance, `strategy`, `version`, `site` and `options` (canonical JSON of every output-affecting
/// option with the value used) for the caller's recipe.
public enum StrategiesPlugin {
    public static func register(in registry: inout PluginRegistry) {
        registry.register(strategy: "caa", options: CAAStrategy.optionSpecs) { _ in CAAStrategy() }
        registry.register(strategy: "sae-direct", options: SAEDirectStrategy.optionSpecs) { _ in SAEDirectStrategy() }
        registry.register(strategy: "sae-ts", options: SAETSStrategy.optionSpecs) { _ in SAETSStrategy() }
        registry.register(strategy: "pinv", options: PseudoinverseStrategy.optionSpecs) { _ in PseudoinverseStrategy() }
        registry.register(strategy: "rotation", options: RotationStrategy.optionSpecs) { _ in RotationStrategy() }
    }
}
