import SteeringCore

/// Registers the steering strategies (`caa`, `sae-direct`, `sae-ts`, `pinv`, `rotation`).
public enum StrategiesPlugin {
    public static func register(in registry: inout PluginRegistry) {}
}
