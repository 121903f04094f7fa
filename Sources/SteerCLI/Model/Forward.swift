import ArgumentParser
import Foundation
import SteeringCore
import TensorFormats

struct Forward: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one forward pass and save tokens, logits and residual streams as safetensors.",
        discussion: """
            Writes `tokens` [T] i32, `logits` [T, vocab] f32 and `resid_post.L` [T, d_model] f32 for every \
            layer in --layers (the residual stream after block L, HF hidden_states[L+1]).
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var input: InputTextOptions

    @Option(help: "Comma-separated layers whose residual stream to save, e.g. 0,12.")
    var layers: String?

    @Option(help: "Output .safetensors file.")
    var out: String

    func run() async throws {
        let backend = try model.load()
        let tokens = try input.resolve(with: backend)
        let sites = try parseLayerList(layers).map { ActivationSite(layer: $0) }
        let result = try backend.forward(ForwardRequest(sequences: [tokens], captureSites: sites, logits: .all))
        var writer = SafetensorsWriter(metadata: [
            "model": backend.descriptor.name,
            "model_fingerprint": backend.descriptor.fingerprint.hex,
        ])
        try writer.add("tokens", int32s: tokens, shape: [tokens.count])
        let logits = result.logits[0]
        try writer.add("logits", floats: logits.values, shape: logits.shape)
        for site in sites {
            let activations = result.activations[site]![0]
            try writer.add("resid_post.\(site.layer)", floats: activations.values, shape: activations.shape)
        }
        try writer.write(to: out)
        printError("wrote \(out): \(tokens.count) tokens, logits \(logits.shape), \(sites.count) residual layer(s)")
    }
}
