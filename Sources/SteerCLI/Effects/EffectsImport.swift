import ArgumentParser
import ArtifactStore
import Pipeline
import SteeringCore

/// `steer effects import`: store an effect dataset file as a `dataset` artifact.
struct EffectsImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Store an effect dataset (.safetensors with features [N, d_model] and effects [N, d_sae]).",
        discussion: """
            The dataset's recipe is {dataset, import, inputs: {file: SHA-256}}, so importing the same file again \
            changes nothing. F32, BF16, F16 and F64 tensors are read; NaN or infinity is refused with its row. \
            See Docs/Estimators.md for the stored layout.
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("The dataset file.", valueName: "file"))
    var file: String

    @Option(help: "Point this alias at the dataset.")
    var alias: String?

    @Option(help: "Rows per stored chunk.")
    var chunkRows = 1024

    func validate() throws {
        guard chunkRows >= 1 else { throw ValidationError("--chunk-rows must be ≥ 1, got \(chunkRows).") }
        if let alias { try ArtifactStore.validateAliasName(alias) }
    }

    func run() async throws {
        let store = try store.open(readOnly: false, create: true)
        let progress = ProgressReporter(label: "import", total: nil, unit: "rows")
        let result = try EffectDatasetImport.importSafetensors(
            file, into: store, chunkRows: chunkRows, progress: progress)
        progress.finish()
        let shape = "\(result.count) rows, \(result.inputWidth) → \(result.outputWidth)"
        print(
            result.imported
                ? "Imported \(file) (\(shape)) as dataset \(result.key.short)."
                : "\(file) is already in the store as dataset \(result.key.short); nothing to do.")
        if let alias {
            try store.setAlias(alias, to: result.key)
            print("Alias \(alias) → \(result.key.short).")
        }
        print(result.key.hex)
    }
}
