import SteeringCore

/// Registers the judges (`openai` and the offline judges).
public enum JudgesPlugin {
    public static func register(in registry: inout PluginRegistry) {}
}
