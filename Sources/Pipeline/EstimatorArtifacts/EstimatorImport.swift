public import ArtifactStore
import Foundation
public import SteeringCore

/// Imports a fitted effect model from a file (``EstimatorFiles``) into the artifact store.
public enum EstimatorImport {
    /// The outcome of an import.
    public struct Result: Sendable, Equatable {
        /// The estimator artifact's key.
        public var key: ContentDigest
        /// False when the store already held it.
        public var imported: Bool
        /// `d_model`, `d_sae`.
        public var inputWidth: Int
        /// `d_sae`.
        public var outputWidth: Int
    }

    /// The recipe of an imported file: kind `estimator`, algorithm `import`, input `file` = its SHA-256.
    public static func recipe(fileDigest: ContentDigest) -> Recipe {
        Recipe(kind: .estimator, algorithm: "import", version: 1, inputs: ["file": fileDigest])
    }

    /// Imports `path` unless the store already holds it.
    /// - Throws: Errors of the file reader or the store.
    public static func importFile(_ path: String, into store: ArtifactStore) throws -> Result {
        let format = try EstimatorFiles.format(for: path)
        let recipe = recipe(fileDigest: try FileFingerprint.digest(ofFile: path))
        if let header = try store.header(recipe.key), header.shape.count == 2 {
            return Result(
                key: recipe.key, imported: false, inputWidth: header.shape[0] - 1, outputWidth: header.shape[1])
        }
        let model = try format.read(path: path)
        let key = try EstimatorArtifact.put(model, recipe: recipe, in: store)
        return Result(key: key, imported: true, inputWidth: model.inputWidth, outputWidth: model.outputWidth)
    }
}
