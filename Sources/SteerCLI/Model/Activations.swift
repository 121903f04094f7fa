import ArgumentParser
import Foundation
import Pipeline
import SteeringCore

struct Activations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the residual stream after a block for every position of a file of token windows.",
        discussion: """
            Reads --windows, a .npy of token ids shaped [windows, length], and writes --out, a float32 .npy of \
            [windows × (length − skip-first), d_model] rows (HF hidden_states[layer + 1]): the input of a \
            dictionary trainer. Only blocks 0…layer run. Resumable: rows go to OUT.partial with OUT.partial.json \
            naming the model, windows file, layer and skip; running the same command again continues after the \
            last whole window, and the finished file is renamed into place.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Block whose output to read (0-based; the residual stream after it).")
    var layer: Int

    @Option(help: "Token windows: a .npy of integers shaped [windows, length].")
    var windows: String

    @Option(help: "Output .npy (float32). Must not exist.")
    var out: String

    @Option(help: "Leading positions of each window left out (1 drops <bos>, whose residual is an outlier).")
    var skipFirst = 1

    @Option(help: "Windows per forward pass.")
    var batchWindows = 8

    func run() async throws {
        let backend = try model.load()
        let harvest = try ActivationHarvest(
            backend: backend, site: ActivationSite(layer: layer), skipFirst: skipFirst, batchWindows: batchWindows)
        let start = ProgressReporter.now()
        let summary = try harvest.run(windowsPath: windows, output: out) {
            ProgressReporter(label: "activations", total: $0, unit: "windows")
        }
        let seconds = ProgressReporter.now() - start
        let resumed = summary.windows - summary.computed
        printError(
            "wrote \(out): \(summary.rows) rows × \(summary.width) (layer \(layer), \(summary.windows) windows"
                + (resumed > 0 ? ", \(resumed) of them from the partial file" : "")
                + String(format: ") in %.1f s", seconds))
    }
}
