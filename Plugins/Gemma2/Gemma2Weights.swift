import Foundation
import SteeringCore
import SteeringNumerics
import TransformerRuntime

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
    /// Whether some matrix is resident in another precision than its file's (its values differ).
    var changedPrecision = false

    /// Every weight matrix, embedding first.
    var matrices: [WeightMatrix] {
        var matrices = [embedding]
        for l in layers { matrices += [l.query, l.key, l.value, l.output, l.gate, l.up, l.down] }
        return matrices
    }

    /// Number of weights borrowed from file mappings without a copy.
    var borrowedCount: Int { matrices.filter { $0.storage.isBorrowed }.count }

    /// Bytes of all weight matrices as resident (norm vectors excluded: they are tiny).
    var residentBytes: Int { matrices.reduce(0) { $0 + $1.storage.byteCount } }
}

extension Gemma2Weights {
    /// Random weights with the shapes of `config`, resident as `element` (for benchmarks and tests):
    /// linear weights uniform with standard deviation `std`, norm offsets with 0.1, embeddings with 1.
    /// Deterministic for a seed whatever the core count (each 1 Mi-value block has its own stream).
    static func random(
        config: Gemma2Configuration, seed: UInt64, std: Float = 0.02, element: WeightElement = .f32
    ) -> Gemma2Weights {
        var stream: UInt64 = 0
        let block = 1 << 20
        /// Fills `target[0 ..< range.count]` with the values of `range` in `stream`.
        func uniform(_ range: Range<Int>, _ deviation: Float, stream: UInt64, into target: UnsafeMutablePointer<Float>)
        {
            let halfWidth = deviation * Float(3).squareRoot()
            var generator = SplitMix64(seed: seed &+ stream &* 0x9E37_79B9_7F4A_7C15, row: range.lowerBound / block)
            var i = 0
            while i < range.count {
                let bits = generator.next()
                target[i] = (Float(bits >> 40) * 0x1p-23 - 1) * halfWidth
                if i + 1 < range.count { target[i + 1] = (Float(bits & 0xFF_FFFF) * 0x1p-23 - 1) * halfWidth }
                i += 2
            }
        }
        func values(_ count: Int, _ deviation: Float) -> [Float] {
            stream += 1
            let current = stream
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for start in stride(from: 0, to: count, by: block) {
                    uniform(
                        start..<min(count, start + block), deviation, stream: current, into: buffer.baseAddress! + start
                    )
                }
                initialized = count
            }
        }
        func matrix(_ rows: Int, _ columns: Int, _ deviation: Float = std) -> WeightMatrix {
            stream += 1
            let current = stream
            let storage = WeightStorage(count: rows * columns, element: element, block: block) { range, target in
                uniform(range, deviation, stream: current, into: target)
            }
            return WeightMatrix(rows: rows, columns: columns, storage: storage)
        }
        func norm() -> [Float] { values(config.hiddenSize, 0.1).map { 1 + $0 } }
        let d = config.hiddenSize, q = config.headCount * config.headDimension
        let kv = config.keyValueHeadCount * config.headDimension, f = config.intermediateSize
        let layers = (0..<config.layerCount).map { _ in
            Gemma2LayerWeights(
                inputNorm: norm(), query: matrix(q, d), key: matrix(kv, d), value: matrix(kv, d), output: matrix(d, q),
                postAttentionNorm: norm(), preFeedForwardNorm: norm(), gate: matrix(f, d), up: matrix(f, d),
                down: matrix(d, f), postFeedForwardNorm: norm())
        }
        let embedding = matrix(config.vocabularySize, d, 1)
        return Gemma2Weights(embedding: embedding, layers: layers, finalNorm: norm())
    }
}
