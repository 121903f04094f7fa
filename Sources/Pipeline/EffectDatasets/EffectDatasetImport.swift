public import ArtifactStore
import Foundation
public import SteeringCore

/// Imports an effect dataset file into the artifact store.
public enum EffectDatasetImport {
    /// The outcome of an import.
    public struct Result: Sendable, Equatable {
        /// The dataset's key.
        public var key: ContentDigest
        /// False when the store already held this file's dataset (nothing was written).
        public var imported: Bool
        /// Rows, `d_model`, `d_sae`.
        public var count: Int
        /// `d_model`.
        public var inputWidth: Int
        /// `d_sae`.
        public var outputWidth: Int
    }

    /// The recipe a file's dataset is written under: kind `dataset`, algorithm `import`, input `file` =
    /// the file's SHA-256. The same bytes always map to the same dataset.
    public static func recipe(fileDigest: ContentDigest) -> Recipe {
        Recipe(kind: .dataset, algorithm: "import", version: 1, inputs: ["file": fileDigest])
    }

    /// Imports a file with `features` `[N, d_model]` and `effects` `[N, d_sae]` — safetensors, the authors'
    /// `torch.save` `.pt`, or `.npz` (``TensorFileEffectDataset/open(path:digest:)``) — as chunks of
    /// `chunkRows`, unless the store already has it.
    ///
    /// - Parameter progress: Advanced by the rows copied.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` for a malformed file;
    ///   ``SteeringError/nonFinite(what:index:)`` naming the row and column of a NaN or infinity; store errors.
    public static func importSafetensors(
        _ path: String, into store: ArtifactStore, chunkRows: Int = 1024, progress: ProgressReporter? = nil
    ) throws -> Result {
        let fileDigest = try FileFingerprint.digest(ofFile: path)
        let source = try TensorFileEffectDataset.open(path: path, digest: fileDigest)
        let recipe = recipe(fileDigest: fileDigest)
        if let existing = try StoredEffectDataset.find(recipe: recipe, in: store) {
            return Result(
                key: existing, imported: false, count: source.count, inputWidth: source.inputWidth,
                outputWidth: source.outputWidth)
        }
        let writer = try EffectDatasetWriter(
            store: store, inputWidth: source.inputWidth, outputWidth: source.outputWidth, chunkRows: chunkRows)
        var start = 0
        while start < source.count {
            let end = min(source.count, start + chunkRows)
            let rows = Array(start..<end)
            let (inputs, effects) = try source.read(rows: rows)
            try checkFinite(inputs, firstRow: start, what: "'features'", path: path)
            try checkFinite(effects, firstRow: start, what: "'effects'", path: path)
            try writer.append(inputs: inputs, effects: effects)
            progress?.advance(by: rows.count)
            start = end
        }
        var provenance = ["source": (path as NSString).lastPathComponent, "sha256": fileDigest.hex]
        if let file = source as? TensorFileEffectDataset, file.file.format == .safetensors {
            provenance["inputDType"] = file.dtypes.inputs
            provenance["effectDType"] = file.dtypes.effects
        }
        let key = try writer.finish(recipe: recipe, provenance: provenance)
        return Result(
            key: key, imported: true, count: source.count, inputWidth: source.inputWidth,
            outputWidth: source.outputWidth)
    }

    private static func checkFinite(_ matrix: Matrix, firstRow: Int, what: String, path: String) throws(SteeringError) {
        guard let bad = matrix.values.firstIndex(where: { !$0.isFinite }) else { return }
        throw .nonFinite(
            what: "tensor \(what) of \(path), row \(firstRow + bad / matrix.columns) (column \(bad % matrix.columns))",
            index: firstRow * matrix.columns + bad)
    }
}
