import ArgumentParser
import ArtifactStore
import Pipeline
import SteeringCore

/// `steer estimators import`: store a fitted model from a file.
struct EstimatorsImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Store an effect model from a .safetensors file with W [d_model, d_sae] and b [d_sae].",
        discussion: """
            The artifact's recipe is {estimator, import, inputs: {file: SHA-256}}, so importing the same file \
            again changes nothing. `steer store export KEY --out F.safetensors` writes W and b back.
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("The model file.", valueName: "file"))
    var file: String

    @Option(help: "Point this alias at the imported estimator.")
    var alias: String?

    func validate() throws {
        if let alias { try ArtifactStore.validateAliasName(alias) }
    }

    func run() async throws {
        let store = try store.open(readOnly: false, create: true)
        let result = try EstimatorImport.importFile(file, into: store)
        let shape = "[\(result.inputWidth), \(result.outputWidth)]"
        print(
            result.imported
                ? "Imported \(file) (W \(shape)) as estimator \(result.key.short)."
                : "\(file) is already in the store as estimator \(result.key.short); nothing to do.")
        if let alias {
            try store.setAlias(alias, to: result.key)
            print("Alias \(alias) → \(result.key.short).")
        }
        print(result.key.hex)
    }
}
