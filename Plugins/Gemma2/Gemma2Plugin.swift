import SteeringCore
import SteeringNumerics
import TransformerRuntime

/// Registers the Gemma-2 backend as `gemma2` (a Hugging Face directory or a `.gguf` file). Option `weights=f32|f16|bf16` sets the resident
/// precision of the weight matrices (default: the checkpoint's own).
public enum Gemma2Plugin {
    public static func register(in registry: inout PluginRegistry) {
        registry.register(
            backend: "gemma2", architectures: ["gemma2"],
            options: [
                PluginOptionSpec("weights", "resident precision f32, f16 or bf16 (default: in place from the file)")
            ]
        ) { options in
            var resident: WeightElement?
            if let name = options.values["weights"] {
                guard let element = WeightElement(rawValue: name) else {
                    throw SteeringError.invalidArgument(
                        what: "gemma2 option weights", problem: "'\(name)' is not one of f32, f16, bf16")
                }
                resident = element
            }
            return try Gemma2Backend(path: try options.requirePath(for: "gemma2"), residentWeights: resident)
        }
    }
}
