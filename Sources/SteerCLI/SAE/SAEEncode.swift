import ArgumentParser
import Foundation
import SteeringCore
import TensorFormats

struct SAEEncode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Encode activations X [n, d_model] to feature activations F [n, d_sae].")

    @OptionGroup var sae: SAEOptions

    @Option(help: "Input .npy, float32 [n, d_model].")
    var input: String

    @Option(help: "Output .npy, float32 [n, d_sae].")
    var out: String

    func run() async throws {
        let dictionary = try sae.load()
        let array = try NPY.read(path: input)
        guard array.shape.count == 2 else {
            throw ValidationError("\(input): expected a 2-D array [n, d_model], got shape \(array.shape).")
        }
        let x = Matrix(rows: array.shape[0], columns: array.shape[1], values: try array.floats())
        try x.checkFinite(input)
        let features = try dictionary.encode(x)
        try NPY.write(NDArray(floats: features.values, shape: features.shape), to: out)
        printError("wrote \(out): \(features.rows) × \(features.columns)")
    }
}
