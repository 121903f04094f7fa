import ArgumentParser
import Foundation
import SteeringCore

struct Features: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the most active SAE features at every token of a text.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var sae: SAEOptions

    @Option(help: "Text to analyse (BOS is prepended).")
    var text: String

    @Option(help: "Features shown per token.")
    var top = 10

    func run() async throws {
        let backend = try model.load()
        let dictionary = try sae.load()
        try dictionary.checkCompatible(with: backend.descriptor)
        let site = try SAEOptions.site(of: dictionary)
        let tokens = backend.encode(text, addBOS: true)
        let activations = try backend.activations(at: site, sequences: [tokens])[0]
        let sparse = try dictionary.encodeSparse(activations, limit: top)
        for (position, token) in tokens.enumerated() {
            let piece = backend.decode([token], skipSpecialTokens: false)
            let shown = sparse[position].map { String(format: "%d:%.3f", $0.feature, $0.value) }.joined(separator: " ")
            print("\(position)\t\(token)\t\(piece.debugDescription)\t\(shown)")
        }
    }
}
