import SteeringCore
import SteeringNumerics

/// Registers the Gemma-3 backend as `gemma3`. The path is a Hugging Face checkpoint directory or a
/// `.gguf` file; option `weights=f32|f16|bf16` sets the resident precision of the weight matrices,
/// `quantized=off` stops GGUF matrices from keeping the file's blocks for decoding.
public enum Gemma3Plugin {
    public static func register(in registry: inout PluginRegistry) {
        registry.register(
            backend: "gemma3", architectures: ["gemma3", "gemma3_text"],
            options: [
                PluginOptionSpec("weights", "resident precision f32, f16 or bf16 (default: in place from the file)"),
                PluginOptionSpec("quantized", default: "on", "decode small batches from a GGUF file's own blocks"),
            ]
        ) { options in
            var resident: WeightElement?
            if let name = options.values["weights"] {
                guard let element = WeightElement(rawValue: name) else {
                    throw SteeringError.invalidArgument(
                        what: "gemma3 option weights", problem: "'\(name)' is not one of f32, f16, bf16")
                }
                resident = element
            }
            let quantized = options.values["quantized"] ?? "on"
            guard ["on", "off"].contains(quantized) else {
                throw SteeringError.invalidArgument(
                    what: "gemma3 option quantized", problem: "'\(quantized)' is not one of on, off")
            }
            return try Gemma3Backend(
                path: try options.requirePath(for: "gemma3"), residentWeights: resident,
                quantizedRows: quantized == "on")
        }
    }
}
