import ArgumentParser
import Foundation
import SteeringCore
import TensorFormats

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate completions of a prompt, optionally with a steering vector added.")

    @OptionGroup var model: ModelOptions

    @Option(help: "Prompt text (BOS is prepended).")
    var prompt: String

    @Option(help: "Number of completions.")
    var n = 8

    @Option(help: "New tokens per completion.")
    var maxNewTokens = 32

    @Option(help: "Sampling seed.")
    var seed: UInt64 = 0

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 1

    @Option(help: "Keep the k most likely tokens (0 disables).")
    var topK = 50

    @Option(help: "Nucleus mass (1 disables).")
    var topP: Float = 1

    @Option(help: "Filter semantics: hf (top-k then top-p) or tl (top-k disables top-p, as TransformerLens).")
    var samplerMode: SamplingConfig.Mode = .huggingFace

    @Flag(help: "Always generate --max-new-tokens tokens, even past the end-of-sequence token.")
    var ignoreEos = false

    @Option(
        name: [.customLong("steer"), .customLong("vector")], help: "Steering vector (.npy, d_model float32 values).")
    var steer: String?

    @Option(help: "Multiplier on the steering vector.")
    var scale: Float = 0

    @Option(help: "Layer after which the vector is added to the residual stream (default: the middle block).")
    var layer: Int?

    @Option(help: "Positions to steer: all, prompt or generated.")
    var positions: PositionPolicy.Scope = .all

    @Flag(help: "Leave the BOS position unsteered.")
    var noSteerBos = false

    @Flag(help: "Print the completions as JSON.")
    var json = false

    func validate() throws {
        guard n > 0 else { throw ValidationError("--n must be at least 1.") }
        guard maxNewTokens >= 0 else { throw ValidationError("--max-new-tokens must be ≥ 0.") }
        guard scale.isFinite else { throw ValidationError("--scale must be finite.") }
    }

    func run() async throws {
        let backend = try model.load()
        var interventions = [Intervention]()
        if let steer {
            let layer = self.layer ?? backend.descriptor.layerCount / 2
            if self.layer == nil {
                printError("steering after block \(layer) (the middle block; pass --layer to choose another)")
            }
            let vector = try NPY.read(path: steer).floats()
            interventions.append(
                Intervention(
                    site: ActivationSite(layer: layer), vector: vector, scale: scale,
                    positions: PositionPolicy(scope: positions, includeBOS: !noSteerBos)))
        }
        let sampling = SamplingConfig(
            temperature: temperature, topK: topK, topP: topP, mode: samplerMode, maxNewTokens: maxNewTokens,
            stopAtEOS: !ignoreEos, seed: seed)
        let promptTokens = backend.encode(prompt, addBOS: true)
        let outputs = try backend.generate(
            prompts: Array(repeating: promptTokens, count: n), sampling: sampling, interventions: interventions)
        let texts = outputs.map { backend.decode(Array($0.dropFirst(promptTokens.count)), skipSpecialTokens: true) }
        if json {
            let rows = zip(outputs, texts).map { ["tokens": $0.0.map(Int.init), "completion": $0.1] as [String: Any] }
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (i, text) in texts.enumerated() { print("[\(i)] \(prompt)\(text)") }
        }
    }
}

extension SamplingConfig.Mode: ExpressibleByArgument {}
extension PositionPolicy.Scope: ExpressibleByArgument {}
