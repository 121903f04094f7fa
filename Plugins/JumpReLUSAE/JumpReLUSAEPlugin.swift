import SteeringCore

/// Registers the JumpReLU SAE loader as the `jumprelu` feature dictionary.
public enum JumpReLUSAEPlugin {
    public static func register(in registry: inout PluginRegistry) {
        registry.register(
            dictionary: "jumprelu",
            options: [PluginOptionSpec("layer", "the layer whose residual stream it reads, when its files do not say")]
        ) { options in
            let path = try options.requirePath(for: "jumprelu")
            let site = options.values["layer"].flatMap(Int.init).map { ActivationSite(layer: $0) }
            return try JumpReLUSAE(path: path, site: site)
        }
    }
}
