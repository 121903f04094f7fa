import SteeringCore

/// Registers the Gemma-2 backend as `gemma2`.
public enum Gemma2Plugin {
    public static func register(in registry: inout PluginRegistry) {
        registry.register(backend: "gemma2") { options in
            try Gemma2Backend(directory: try options.requirePath(for: "gemma2"))
        }
    }
}
