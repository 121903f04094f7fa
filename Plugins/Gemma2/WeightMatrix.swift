import Foundation
import Numerics
import SteeringCore

/// Owns or borrows the memory behind a weight, in float32, float16 or bfloat16. Borrowed memory
/// belongs to a memory-mapped file kept alive through `owner`; owned memory is freed on deinit. Never
/// mutated after creation.
final class WeightStorage: @unchecked Sendable {
    let base: UnsafeRawPointer
    /// Number of elements.
    let count: Int
    let element: WeightElement
    private let owner: AnyObject?
    private let allocated: UnsafeMutableRawPointer?

    /// Borrows `count` elements at `base`, keeping `owner` (the mapping) alive.
    init(borrowing base: UnsafeRawPointer, count: Int, element: WeightElement, owner: AnyObject) {
        self.base = base
        self.count = count
        self.element = element
        self.owner = owner
        self.allocated = nil
    }

    /// Rounds `count` float32 values at `values` into owned memory of type `element`, 16 Mi values
    /// at a time, calling `done(range)` after each piece (the loader releases the file pages it read).
    convenience init(
        converting values: UnsafePointer<Float>, count: Int, to element: WeightElement,
        done: (Range<Int>) -> Void = { _ in }
    ) {
        let memory = Self.allocateWeights(byteCount: count * element.byteWidth)
        for start in stride(from: 0, to: count, by: 1 << 24) {
            let piece = start..<min(count, start + (1 << 24))
            Kernels.narrow(
                values + start, count: piece.count, to: element, into: memory + start * element.byteWidth)
            done(piece)
        }
        self.init(owning: memory, count: count, element: element)
    }

    /// Owned memory of `count` elements of type `element`, filled block by block (in parallel) by
    /// `fill(range, target)`, which writes the float32 values of `range` to `target[0 ..< range.count]`.
    convenience init(
        count: Int, element: WeightElement, block: Int,
        fill: (Range<Int>, UnsafeMutablePointer<Float>) -> Void
    ) {
        let memory = Self.allocateWeights(byteCount: count * element.byteWidth)
        Parallel.forEach(count: (count + block - 1) / block, grain: 1) { blocks in
            let scratch = element == .f32 ? nil : UnsafeMutablePointer<Float>.allocate(capacity: block)
            defer { scratch?.deallocate() }
            for b in blocks {
                let range = (b * block)..<min(count, (b + 1) * block)
                if let scratch {
                    fill(range, scratch)
                    Kernels.narrow(
                        scratch, count: range.count, to: element,
                        into: memory + range.lowerBound * element.byteWidth)
                } else {
                    fill(range, memory.assumingMemoryBound(to: Float.self) + range.lowerBound)
                }
            }
        }
        self.init(owning: memory, count: count, element: element)
    }

    /// Takes ownership of `memory` from ``allocateWeights(byteCount:)``.
    private init(owning memory: UnsafeMutableRawPointer, count: Int, element: WeightElement) {
        self.base = UnsafeRawPointer(memory)
        self.count = count
        self.element = element
        self.owner = nil
        self.allocated = memory
    }

    /// Whether this storage points into a file mapping (zero-copy).
    var isBorrowed: Bool { allocated == nil }

    /// Bytes held.
    var byteCount: Int { count * element.byteWidth }

    deinit { allocated.map { free($0) } }

    /// Owned weight memory: 2 MiB aligned and, on Linux, marked for transparent huge pages, so
    /// streaming it during decoding takes fewer TLB misses.
    private static func allocateWeights(byteCount: Int) -> UnsafeMutableRawPointer {
        let alignment = 2 << 20
        let size = (max(byteCount, 1) + alignment - 1) / alignment * alignment
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, alignment, size) == 0, let memory else {
            fatalError("cannot allocate \(size) bytes of weight memory")
        }
        #if os(Linux)
            _ = madvise(memory, size, Int32(MADV_HUGEPAGE))
        #endif
        return memory
    }
}

/// A row-major weight matrix `[rows, columns]` as Hugging Face stores linear layers
/// (`[out_features, in_features]`), resident in float32, float16 or bfloat16.
struct WeightMatrix: Sendable {
    let rows: Int
    let columns: Int
    let storage: WeightStorage

    var element: WeightElement { storage.element }

    init(rows: Int, columns: Int, storage: WeightStorage) {
        precondition(
            storage.count == rows * columns, "weight storage holds \(storage.count) values, need \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.storage = storage
    }

    init(rows: Int, columns: Int, values: [Float], element: WeightElement = .f32) {
        let storage = values.withUnsafeBufferPointer {
            WeightStorage(converting: $0.baseAddress!, count: values.count, to: element)
        }
        self.init(rows: rows, columns: columns, storage: storage)
    }

    /// `y[n, rows] = x[n, columns] · Wᵀ`; `scratch` holds ``Kernels/scratchFloats(count:columns:)``
    /// floats.
    func apply(
        _ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        Kernels.multiply(
            x, count: n, weights: storage.base, element: element, rows: rows, columns: columns, into: y,
            scratch: scratch)
    }

    /// This matrix as an operand of a product writing to `output`.
    func operand(into output: UnsafeMutablePointer<Float>) -> WeightOperand {
        WeightOperand(weights: storage.base, element: element, rows: rows, output: output)
    }

    /// Row `index` widened to float32 into `target` (`columns` floats).
    func row(_ index: Int, into target: UnsafeMutablePointer<Float>) {
        Kernels.widen(element, storage.base + index * columns * element.byteWidth, count: columns, into: target)
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
