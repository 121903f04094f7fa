import SteeringCore

/// Registers the effect estimators (`ridge`, `linear-adam`).
public enum EstimatorsPlugin {
    public static func register(in registry: inout PluginRegistry) {}
}
