import ArgumentParser
import Foundation
import Pipeline
import SteeringCore
import TensorFormats

struct EffectsExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write measured effects as safetensors: features [N, d_model] (scaled vectors), effects [N, d_sae].")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Output .safetensors file.")
    var out: String

    @Option(help: "Which measurement set, when the store holds several (a prefix of its baseline key).")
    var baseline: String?

    func run() async throws {
        let store = try storeOptions.open(readOnly: true)
        let catalog = EffectCatalog(store: store)
        let entries = try catalog.entries(baselinePrefix: baseline)
        var features = [Float](), effects = [Float]()
        var widths: (Int, Int)?
        for entry in entries {
            let (input, effect) = try catalog.row(entry)
            if let widths, widths != (input.count, effect.count) {
                throw ValidationError("effect \(entry.effectKey.short) has other widths than the rest; export one set.")
            }
            widths = (input.count, effect.count)
            features += input
            effects += effect
        }
        let (d, s) = widths ?? (0, 0)
        var writer = SafetensorsWriter(metadata: ["format": "pt", "producer": "steer effects export"])
        try writer.add("features", floats: features, shape: [entries.count, d])
        try writer.add("effects", floats: effects, shape: [entries.count, s])
        try writer.write(to: out)
        printError(
            "wrote \(out): \(entries.count) effects, features [\(entries.count), \(d)], effects [\(entries.count), \(s)]"
        )
    }
}
