public import ArtifactStore
import Foundation
public import SteeringCore
import Synchronization

/// An effect dataset stored in the artifact store as a manifest plus chunk artifacts
/// (``EffectDatasetManifest``, Docs/Estimators.md). Its digest is the manifest's key.
///
/// Chunks are decoded on first use and kept in a least-recently-used cache bounded by
/// ``cacheLimitBytes``. Streaming readers (ridge, diagnostics) touch each chunk once; random-batch
/// readers (linear-adam) are fastest when the cache holds every chunk — the whole dataset, once.
public final class StoredEffectDataset: EffectDataSource {
    /// The store the chunks are read from.
    public let store: ArtifactStore
    /// The manifest's key.
    public let key: ContentDigest
    /// The decoded manifest.
    public let manifest: EffectDatasetManifest
    /// Most bytes of decoded chunks kept in memory (at least one chunk is always kept).
    public let cacheLimitBytes: Int
    private let cache = Mutex(ChunkCache())

    private struct ChunkCache {
        var chunks: [Int: [Float]] = [:]
        var order: [Int] = []
        var bytes = 0
    }

    /// Default cache bound: 8 GiB, enough for the authors' 50,000-row 2B dataset (3.7 GB).
    public static let defaultCacheLimit = 8 << 30

    /// Opens the dataset stored under `key`.
    /// - Throws: ``ArtifactStoreError`` if there is no such artifact;
    ///   ``PipelineError/invalidInput(what:problem:)`` if it is not an effect dataset manifest.
    public init(store: ArtifactStore, key: ContentDigest, cacheLimitBytes: Int = defaultCacheLimit) throws {
        guard let artifact = try store.get(key) else {
            throw ArtifactStoreError.unknownKey(key: key.hex, path: store.path)
        }
        guard artifact.header.kind == .dataset, artifact.header.dtype == .json,
            artifact.recipe.algorithm != EffectDatasetRecipes.chunkAlgorithm
        else {
            throw PipelineError.invalidInput(
                what: "artifact \(key.short)",
                problem: "it is a \(artifact.header.kind.rawValue) artifact (\(artifact.recipe.algorithm), "
                    + "\(artifact.header.dtype.rawValue)), not an effect dataset manifest; pass a dataset key or alias")
        }
        let manifest = try artifact.decodeJSON(EffectDatasetManifest.self)
        try manifest.validate(key: key)
        self.store = store
        self.key = key
        self.manifest = manifest
        self.cacheLimitBytes = cacheLimitBytes
    }

    /// Number of rows.
    public var count: Int { manifest.count }
    /// `d_model`.
    public var inputWidth: Int { manifest.inputWidth }
    /// `d_sae`.
    public var outputWidth: Int { manifest.outputWidth }
    /// The manifest's key.
    public var digest: ContentDigest { key }

    /// Copies `rows` (ascending, in range) out of their (cached) chunks.
    public func read(rows: [Int]) throws -> (inputs: Matrix, effects: Matrix) {
        try EffectRowSelection.validate(rows, count: count, source: "stored effect dataset \(key.short)")
        let d = inputWidth, s = outputWidth, width = d + s
        var inputs = Matrix(rows: rows.count, columns: d)
        var effects = Matrix(rows: rows.count, columns: s)
        var index = 0
        while index < rows.count {
            let chunkIndex = rows[index] / manifest.chunkRows
            let chunk = try chunk(chunkIndex)
            let first = chunkIndex * manifest.chunkRows
            inputs.values.withUnsafeMutableBufferPointer { x in
                effects.values.withUnsafeMutableBufferPointer { y in
                    chunk.withUnsafeBufferPointer { c in
                        while index < rows.count, rows[index] / manifest.chunkRows == chunkIndex {
                            let source = c.baseAddress! + (rows[index] - first) * width
                            (x.baseAddress! + index * d).update(from: source, count: d)
                            (y.baseAddress! + index * s).update(from: source + d, count: s)
                            index += 1
                        }
                    }
                }
            }
        }
        return (inputs, effects)
    }

    /// The decoded payload of chunk `index`, from the cache or the store.
    func chunk(_ index: Int) throws -> [Float] {
        if let cached = cache.withLock({ state -> [Float]? in
            guard let values = state.chunks[index] else { return nil }
            if let position = state.order.firstIndex(of: index) { state.order.remove(at: position) }
            state.order.append(index)
            return values
        }) {
            return cached
        }
        let chunkKey = manifest.chunks[index]
        guard let artifact = try store.get(chunkKey) else {
            throw PipelineError.invalidInput(
                what: "chunk \(index) (\(chunkKey.short)) of effect dataset \(key.short)",
                problem: "it is missing from the store at \(store.path); re-import or re-assemble the dataset")
        }
        let rows = manifest.rows(inChunk: index)
        guard artifact.header.shape == [rows, inputWidth + outputWidth] else {
            throw PipelineError.invalidInput(
                what: "chunk \(index) (\(chunkKey.short)) of effect dataset \(key.short)",
                problem: "its shape is \(artifact.header.shape), expected [\(rows), \(inputWidth + outputWidth)]")
        }
        let values = try artifact.floats()
        cache.withLock { state in
            guard state.chunks[index] == nil else { return }
            state.chunks[index] = values
            state.order.append(index)
            state.bytes += values.count * 4
            while state.bytes > cacheLimitBytes, state.order.count > 1 {
                let evicted = state.order.removeFirst()
                state.bytes -= (state.chunks.removeValue(forKey: evicted)?.count ?? 0) * 4
            }
        }
        return values
    }

    /// The key of the dataset written under `recipe` (by ``EffectDatasetWriter/finish(recipe:provenance:)``
    /// or an import), or `nil`. Scans the headers of the store's `dataset` artifacts.
    public static func find(recipe: Recipe, in store: ArtifactStore) throws -> ContentDigest? {
        let wanted = recipe.key
        for (key, header) in try store.list(kind: .dataset)
        where header.recipe.algorithm == recipe.algorithm && EffectDatasetRecipes.base(of: header.recipe).key == wanted
        {
            return key
        }
        return nil
    }
}
