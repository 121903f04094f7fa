import Foundation
import Numerics
import SteeringCore

/// Owns or borrows the float32 memory behind a weight. Borrowed memory belongs to a memory-mapped
/// file kept alive through `owner`; owned memory is freed on deinit. Never mutated after creation.
final class WeightStorage: @unchecked Sendable {
    let base: UnsafePointer<Float>
    let count: Int
    private let owner: AnyObject?
    private let allocated: UnsafeMutablePointer<Float>?

    /// Borrows `count` floats at `base`, keeping `owner` (the mapping) alive.
    init(borrowing base: UnsafePointer<Float>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.owner = owner
        self.allocated = nil
    }

    /// Copies `values` into owned memory.
    init(copying values: [Float]) {
        let memory = UnsafeMutablePointer<Float>.allocate(capacity: max(values.count, 1))
        values.withUnsafeBufferPointer { memory.initialize(from: $0.baseAddress!, count: values.count) }
        self.base = UnsafePointer(memory)
        self.count = values.count
        self.owner = nil
        self.allocated = memory
    }

    /// Whether this storage points into a file mapping (zero-copy).
    var isBorrowed: Bool { allocated == nil }

    deinit { allocated?.deallocate() }
}

/// A row-major float32 weight matrix `[rows, columns]` as Hugging Face stores linear layers
/// (`[out_features, in_features]`).
struct WeightMatrix: Sendable {
    let rows: Int
    let columns: Int
    let storage: WeightStorage

    var pointer: UnsafePointer<Float> { storage.base }

    init(rows: Int, columns: Int, storage: WeightStorage) {
        precondition(
            storage.count == rows * columns, "weight storage holds \(storage.count) values, need \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.storage = storage
    }

    init(rows: Int, columns: Int, values: [Float]) {
        self.init(rows: rows, columns: columns, storage: WeightStorage(copying: values))
    }

    /// `y[n, rows] = x[n, columns] · Wᵀ`.
    func apply(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>) {
        if n == 1 {
            sgemv(.none, rows: rows, columns: columns, a: pointer, lda: columns, x: x, y: y)
        } else {
            sgemm(
                .none, .transpose, m: n, n: rows, k: columns, a: x, lda: columns, b: pointer, ldb: columns, c: y,
                ldc: rows)
        }
    }
}

/// The weights of one decoder block. Norm weights are stored as `1 + w` (Gemma's offset convention).
struct Gemma2LayerWeights: Sendable {
    let inputNorm: [Float]
    let query: WeightMatrix
    let key: WeightMatrix
    let value: WeightMatrix
    let output: WeightMatrix
    let postAttentionNorm: [Float]
    let preFeedForwardNorm: [Float]
    let gate: WeightMatrix
    let up: WeightMatrix
    let down: WeightMatrix
    let postFeedForwardNorm: [Float]
}

/// All weights of a Gemma-2 model.
struct Gemma2Weights: Sendable {
    /// `[vocab, hidden]`, unscaled; also the tied output head.
    let embedding: WeightMatrix
    let layers: [Gemma2LayerWeights]
    /// `1 + w` of the final norm.
    let finalNorm: [Float]

    /// Number of weights borrowed from file mappings without a copy.
    var borrowedCount: Int {
        var matrices = [embedding]
        for l in layers { matrices += [l.query, l.key, l.value, l.output, l.gate, l.up, l.down] }
        return matrices.filter { $0.storage.isBorrowed }.count
    }
}

extension Gemma2Weights {
    /// Random weights with the shapes of `config` (for benchmarks and tests): linear weights
    /// ~ N(0, std²), norm offsets ~ N(0, 0.1²), embeddings ~ N(0, 1).
    static func random(config: Gemma2Configuration, seed: UInt64, std: Float = 0.02) -> Gemma2Weights {
        var generator = SplitMix64(seed: seed)
        func normals(_ count: Int, _ scale: Float) -> [Float] {
            var out = [Float](repeating: 0, count: count)
            var i = 0
            while i < count {
                let u1 = max(generator.nextUnit(), 1e-300), u2 = generator.nextUnit()
                let r = (-2 * Foundation.log(u1)).squareRoot()
                out[i] = Float(r * Foundation.cos(2 * .pi * u2)) * scale
                if i + 1 < count { out[i + 1] = Float(r * Foundation.sin(2 * .pi * u2)) * scale }
                i += 2
            }
            return out
        }
        func matrix(_ rows: Int, _ columns: Int) -> WeightMatrix {
            WeightMatrix(rows: rows, columns: columns, values: normals(rows * columns, std))
        }
        func norm() -> [Float] { normals(config.hiddenSize, 0.1).map { 1 + $0 } }
        let d = config.hiddenSize, q = config.headCount * config.headDimension
        let kv = config.keyValueHeadCount * config.headDimension, f = config.intermediateSize
        let layers = (0..<config.layerCount).map { _ in
            Gemma2LayerWeights(
                inputNorm: norm(), query: matrix(q, d), key: matrix(kv, d), value: matrix(kv, d), output: matrix(d, q),
                postAttentionNorm: norm(), preFeedForwardNorm: norm(), gate: matrix(f, d), up: matrix(f, d),
                down: matrix(d, f), postFeedForwardNorm: norm())
        }
        let embedding = WeightMatrix(
            rows: config.vocabularySize, columns: d, values: normals(config.vocabularySize * d, 1))
        return Gemma2Weights(embedding: embedding, layers: layers, finalNorm: norm())
    }
}
