import ArgumentParser
import ArtifactStore
import SteeringCore

/// `steer store export`: write one artifact to a .npy, .safetensors or .json file.
struct StoreExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an artifact to a .npy or .safetensors file (or a JSON artifact to .json).",
        discussion: "The format follows the extension of --out. Tensors keep their dtype and shape exactly.")

    @OptionGroup var options: StoreOptions

    @Argument(help: ArgumentHelp("Alias, key or unique key prefix (≥ 6 hex characters).", valueName: "key-or-alias"))
    var reference: String

    @Option(help: ArgumentHelp("Output file: *.npy, *.safetensors or *.json.", valueName: "file"))
    var out: String

    @Option(help: "Tensor name inside a safetensors file.")
    var name = "data"

    func validate() throws {
        guard ArtifactExportFormat(path: out) != nil else {
            throw ValidationError("--out must end in .npy, .safetensors or .json, got '\(out)'.")
        }
    }

    func run() async throws {
        let store = try options.open(readOnly: true)
        let key = try store.resolve(reference)
        let format = try store.export(key, to: out, tensorName: name)
        print("Exported \(key.short) to \(out) (\(format.rawValue)).")
    }
}
