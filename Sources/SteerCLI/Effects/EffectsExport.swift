import ArgumentParser
import Foundation
import Pipeline
import SteeringCore
import TensorFormats

struct EffectsExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write measured effects as safetensors: features [N, d_model] (scaled vectors), effects [N, d_sae].",
        discussion:
            "Also rows [N] (int32: the probe's decoder row, -1 for a vector from a file) and scales [N] (float32); the metadata names the measurement set's baseline key and the effect recipe's protocol parameters."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Output .safetensors file.")
    var out: String

    @Option(help: "Which measurement set, when the store holds several (a prefix of its baseline key).")
    var baseline: String?

    @Option(
        help: "Storage type of features and effects: f32, f16 or bf16 (f16 halves the file; relative rounding ≤ 2^-11)."
    )
    var dtype = "f32"

    func run() async throws {
        let storage: TensorDType
        switch dtype {
        case "f32": storage = .f32
        case "f16": storage = .f16
        case "bf16": storage = .bf16
        default: throw ValidationError("--dtype must be f32, f16 or bf16, got '\(dtype)'.")
        }
        let store = try storeOptions.open(readOnly: true)
        let catalog = EffectCatalog(store: store)
        let entries = try catalog.entries(baselinePrefix: baseline)
        var features = [Float](), effects = [Float](), rows = [Int32](), scales = [Float]()
        var widths: (Int, Int)?
        for entry in entries {
            let (input, effect, scale) = try catalog.row(entry)
            if let widths, widths != (input.count, effect.count) {
                throw ValidationError("effect \(entry.effectKey.short) has other widths than the rest; export one set.")
            }
            widths = (input.count, effect.count)
            features += input
            effects += effect
            rows.append(Int32(entry.probeRow ?? -1))
            scales.append(scale)
        }
        let (d, s) = widths ?? (0, 0)
        var metadata = ["format": "pt", "producer": "steer effects export"]
        if let first = entries.first {
            metadata["baseline"] = first.baselineKey.hex
            var protocolParameters = first.recipe.parameters
            protocolParameters["scale"] = nil
            metadata["protocol"] = RecipeValue.object(protocolParameters).canonicalJSON
        }
        var writer = SafetensorsWriter(metadata: metadata)
        try writer.add("features", floats: features, shape: [entries.count, d], as: storage)
        try writer.add("effects", floats: effects, shape: [entries.count, s], as: storage)
        try writer.add("rows", int32s: rows, shape: [entries.count])
        try writer.add("scales", floats: scales, shape: [entries.count])
        try writer.write(to: out)
        printError(
            "wrote \(out): \(entries.count) effects, features [\(entries.count), \(d)], effects [\(entries.count), \(s)]"
        )
    }
}
