import Foundation
public import SteeringNumerics

/// Owns or borrows the memory behind a weight, in float32, float16 or bfloat16. Borrowed memory
/// belongs to a memory-mapped file kept alive through `owner`; owned memory is freed on deinit. Never
/// mutated after creation.
public final class WeightStorage: @unchecked Sendable {
    public let base: UnsafeRawPointer
    /// Number of elements.
    public let count: Int
    /// Element type.
    public let element: WeightElement
    private let owner: AnyObject?
    private let allocated: UnsafeMutableRawPointer?

    /// Borrows `count` elements at `base`, keeping `owner` (the mapping) alive.
    public init(borrowing base: UnsafeRawPointer, count: Int, element: WeightElement, owner: AnyObject) {
        self.base = base
        self.count = count
        self.element = element
        self.owner = owner
        self.allocated = nil
    }

    /// Rounds `count` float32 values at `values` into owned memory of type `element`, 16 Mi values
    /// at a time, calling `done(range)` after each piece (the loader releases the file pages it read).
    public convenience init(
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
    public convenience init(
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
    public var isBorrowed: Bool { allocated == nil }

    /// Bytes held.
    public var byteCount: Int { count * element.byteWidth }

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

/// A matrix's rows as GGUF blocks inside a file mapping, kept alive through `owner`.
public final class QuantizedStorage: @unchecked Sendable {
    /// The block type and the first block.
    public let rows: QuantizedRows
    /// Bytes held (in the mapping).
    public let byteCount: Int
    private let owner: AnyObject

    /// Borrows `byteCount` bytes of `format` blocks at `base`, keeping `owner` (the mapping) alive.
    public init(format: QuantizedFormat, base: UnsafeRawPointer, byteCount: Int, owner: AnyObject) {
        self.rows = QuantizedRows(format: format, base: base)
        self.byteCount = byteCount
        self.owner = owner
    }
}

/// A row-major weight matrix `[rows, columns]` as Hugging Face stores linear layers
/// (`[out_features, in_features]`), resident in float32, float16 or bfloat16. A matrix read from a
/// quantised GGUF tensor also keeps the file's blocks (`quantized`, whose float32 dequantisation
/// `storage` holds): products of a few input rows (decoding) read those, a quarter or less of the
/// bytes.
public struct WeightMatrix: Sendable {
    /// Output features.
    public let rows: Int
    /// Input features.
    public let columns: Int
    /// The elements, row-major.
    public let storage: WeightStorage
    /// The same matrix as GGUF blocks, read by small-batch products.
    public let quantized: QuantizedStorage?

    /// Resident element type.
    public var element: WeightElement { storage.element }

    /// Wraps storage holding exactly `rows × columns` elements, and optionally the quantised blocks
    /// it was dequantised from (`rows` rows of whole blocks).
    public init(rows: Int, columns: Int, storage: WeightStorage, quantized: QuantizedStorage? = nil) {
        precondition(
            storage.count == rows * columns, "weight storage holds \(storage.count) values, need \(rows)×\(columns)")
        if let quantized {
            let format = quantized.rows.format
            precondition(
                columns % format.blockElements == 0 && quantized.byteCount == rows * format.rowBytes(columns: columns),
                "\(quantized.byteCount) bytes of \(format) blocks do not hold \(rows)×\(columns) values")
        }
        self.rows = rows
        self.columns = columns
        self.storage = storage
        self.quantized = quantized
    }

    /// Copies (and rounds to `element`) row-major float32 values.
    public init(rows: Int, columns: Int, values: [Float], element: WeightElement = .f32) {
        let storage = values.withUnsafeBufferPointer {
            WeightStorage(converting: $0.baseAddress!, count: values.count, to: element)
        }
        self.init(rows: rows, columns: columns, storage: storage)
    }

    /// `y[n, rows] = x[n, columns] · Wᵀ`; `scratch` holds ``Kernels/scratchFloats(count:columns:)``
    /// floats.
    public func apply(
        _ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        Kernels.multiply(
            x, count: n, weights: storage.base, element: element, rows: rows, columns: columns,
            quantized: quantized?.rows, into: y, scratch: scratch)
    }

    /// This matrix as an operand of a product writing to `output`.
    public func operand(into output: UnsafeMutablePointer<Float>) -> WeightOperand {
        WeightOperand(weights: storage.base, element: element, rows: rows, output: output, quantized: quantized?.rows)
    }

    /// Row `index` widened to float32 into `target` (`columns` floats).
    public func row(_ index: Int, into target: UnsafeMutablePointer<Float>) {
        Kernels.widen(element, storage.base + index * columns * element.byteWidth, count: columns, into: target)
    }
}
