public import ArtifactStore
import Foundation
public import SteeringCore

/// Opens an effect dataset named on a command line: a safetensors file (imported into the store first)
/// or a store alias, key or key prefix.
public enum EffectDatasetLocator {
    /// An opened dataset.
    public struct Located: Sendable {
        /// The rows, read from the file's memory map for a file, else from the store.
        public var source: any EffectDataSource
        /// The dataset's key in the store (its digest).
        public var key: ContentDigest
        /// Set when a file was given: whether this call imported it (false: it was already stored).
        public var imported: Bool?
    }

    /// Whether `reference` names a file rather than a store entry (it exists on disk and ends in
    /// `.safetensors`).
    public static func isFile(_ reference: String) -> Bool {
        reference.lowercased().hasSuffix(".safetensors") && FileManager.default.fileExists(atPath: reference)
    }

    /// Opens `reference` (see the type's documentation).
    /// - Parameter cacheLimitBytes: Decoded-chunk cache of a stored dataset
    ///   (``StoredEffectDataset/cacheLimitBytes``); streaming readers such as ridge need only a few chunks.
    /// - Throws: ``ArtifactStoreError`` for an unknown alias or key; errors of the import or the manifest.
    public static func open(
        _ reference: String, store: ArtifactStore, chunkRows: Int = 1024,
        cacheLimitBytes: Int = StoredEffectDataset.defaultCacheLimit, progress: ProgressReporter? = nil
    ) throws -> Located {
        if isFile(reference) {
            let result = try EffectDatasetImport.importSafetensors(
                reference, into: store, chunkRows: chunkRows, progress: progress)
            // The file and the stored chunks hold the same rows; the map avoids decoding chunks.
            let source = try TensorFileEffectDataset.open(path: reference, digest: result.key)
            return Located(source: source, key: result.key, imported: result.imported)
        }
        let key = try store.resolve(reference)
        let source = try StoredEffectDataset(store: store, key: key, cacheLimitBytes: cacheLimitBytes)
        return Located(source: source, key: key, imported: nil)
    }
}
