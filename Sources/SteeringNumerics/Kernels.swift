import CKernels
import Dispatch
import Foundation

/// Element type of a resident weight matrix.
public enum WeightElement: String, Sendable, CaseIterable {
    case f32, f16, bf16

    /// Bytes per element.
    public var byteWidth: Int { self == .f32 ? 4 : 2 }

    var kernelType: ck_weight_type {
        switch self {
        case .f32: CK_F32
        case .f16: CK_F16
        case .bf16: CK_BF16
        }
    }
}

/// A GGUF block type the quantised row kernels read in place (raw values are ggml's type numbers).
public enum QuantizedFormat: UInt32, Sendable, CaseIterable {
    case q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q4_k = 12, q5_k = 13, q6_k = 14, q8_k = 15

    /// Values per block (32 or 256).
    public var blockElements: Int { Int(ck_quant_block_elements(Int32(rawValue))) }
    /// Bytes per block.
    public var blockBytes: Int { Int(ck_quant_block_bytes(Int32(rawValue))) }
    /// Bytes of one row of `columns` values (a multiple of ``blockElements``).
    public func rowBytes(columns: Int) -> Int { columns / blockElements * blockBytes }

    var kernelType: ck_quant_type { ck_quant_type(rawValue: rawValue) }
}

/// A row-major matrix stored as consecutive GGUF blocks of `format` at `base` (rows of whole blocks).
public struct QuantizedRows: @unchecked Sendable {
    public let format: QuantizedFormat
    public let base: UnsafeRawPointer

    public init(format: QuantizedFormat, base: UnsafeRawPointer) {
        self.format = format
        self.base = base
    }
}

/// One weight matrix of a product: `rows × columns` values of type `element` at `weights`, with
/// its `n × rows` result written to `output`. When `quantized` holds the same matrix as GGUF blocks
/// (whose dequantisation `weights` is), small batches read those instead.
public struct WeightOperand {
    public let weights: UnsafeRawPointer
    public let element: WeightElement
    public let rows: Int
    public let output: UnsafeMutablePointer<Float>
    public let quantized: QuantizedRows?

    public init(
        weights: UnsafeRawPointer, element: WeightElement, rows: Int, output: UnsafeMutablePointer<Float>,
        quantized: QuantizedRows? = nil
    ) {
        self.weights = weights
        self.element = element
        self.rows = rows
        self.output = output
        self.quantized = quantized
    }
}

/// Splits index ranges over the machine's cores: a pool of spinning workers (``ck_pool_run``), or
/// GCD's `concurrentPerform` when the pool is busy; pieces are claimed dynamically either way.
public enum Parallel {
    /// Number of cores used: those the process may run on (`taskset` restricts them).
    public static let width = max(1, Int(ck_cpu_count()))
    /// Whether regions use the spinning pool: yes unless `STEER_PARALLEL=gcd` (to compare).
    public static let usesPool = ProcessInfo.processInfo.environment["STEER_PARALLEL"] != "gcd"

    /// Calls `body` on consecutive sub-ranges of `0..<count`, each at least `grain` long (except the
    /// last) and a multiple of `alignment`, in parallel when there is more than one; through the
    /// pool when `pool` (default ``usesPool``), through GCD otherwise.
    public static func forEach(
        count: Int, grain: Int, alignment: Int = 1, pool: Bool = usesPool, _ body: (Range<Int>) -> Void
    ) {
        guard count > 0 else { return }
        let pieces = min(width * 4, max(1, count / max(grain, 1)))
        if pieces == 1 || width == 1 {
            body(0..<count)
            return
        }
        let even = (count + pieces - 1) / pieces
        let size = (even + alignment - 1) / alignment * alignment
        let chunks = (count + size - 1) / size
        // A kernel level limit set on this thread (Kernels.withLevel) holds on the workers too.
        let limit = ck_thread_level()
        withoutActuallyEscaping(body) { body in
            var piece: (Int) -> Void = { i in
                let range = (i * size)..<min(count, (i + 1) * size)
                guard limit >= 0 else { return body(range) }
                let previous = ck_thread_level()
                ck_set_thread_level(limit)
                body(range)
                ck_set_thread_level(previous)
            }
            let ran =
                !pool
                ? 0
                : withUnsafeMutablePointer(to: &piece) { context in
                    ck_pool_run(
                        chunks, { context, i in context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(i) },
                        context)
                }
            if ran == 0 {
                // The pool is busy (a nested region, or another thread's): let GCD run this one. The
                // callers' closures share raw buffers on purpose: every piece writes its own range.
                let shared = UncheckedSendable(piece)
                DispatchQueue.concurrentPerform(iterations: chunks) { i in shared.value(i) }
            }
        }
    }
}

/// Lets a value cross into concurrently executing code whose safety the caller guarantees.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Vectorised kernels of the model engine (C, AVX2/FMA/F16C when the CPU has them). Element-wise
/// kernels over large arrays run on every core.
public enum Kernels {
    /// Whether the AVX2/FMA/F16C bodies are in use.
    public static var vectorized: Bool { ck_uses_avx2() != 0 }

    /// Runs `body` with the kernels it calls held to bodies up to `level` (0 portable C, 1 AVX2,
    /// 2 AVX-512, never above what the CPU has, nor above `STEER_KERNEL_LEVEL`): on this thread and
    /// in the ``Parallel`` regions it starts, not in other threads' work (levels round differently,
    /// so work running meanwhile must keep its own). Tests use it to run every body on one machine.
    public static func withLevel<Result>(_ level: Int, _ body: () throws -> Result) rethrows -> Result {
        let previous = ck_thread_level()
        ck_set_thread_level(Int32(level))
        defer { ck_set_thread_level(previous) }
        return try body()
    }

    /// Names of the kernel levels, index = level: what `STEER_KERNEL_LEVEL` accepts.
    public static let levelNames = ["portable", "avx2", "avx512"]

    /// The level in use: 0 portable C, 1 AVX2+FMA, 2 AVX-512.
    public static var level: Int { Int(ck_level()) }

    /// The level `STEER_KERNEL_LEVEL` caps the kernels at (`nil` when unset); throws when it names
    /// no level. The cap applies from the first kernel call on whether or not this is called;
    /// `steer` calls it first so a misspelt value stops the command instead of being ignored.
    public static func environmentLevel() throws -> Int? {
        switch ck_environment_level() {
        case -1: return nil
        case -2:
            throw KernelLevelError(value: ProcessInfo.processInfo.environment["STEER_KERNEL_LEVEL"] ?? "")
        case let level: return Int(level)
        }
    }

    /// Elements per parallel piece of an element-wise kernel.
    static let elementGrain = 1 << 16

    /// `x ← cap · tanh(x / cap)`.
    public static func softcap(_ x: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
        Parallel.forEach(count: count, grain: elementGrain) { r in
            ck_softcap(x + r.lowerBound, r.count, cap)
        }
    }

    /// `gate ← gelu_tanh(gate) · up`.
    public static func geluTanhMultiply(_ gate: UnsafeMutablePointer<Float>, by up: UnsafePointer<Float>, count: Int) {
        Parallel.forEach(count: count, grain: elementGrain) { r in
            ck_gelu_tanh_mul(gate + r.lowerBound, up + r.lowerBound, r.count)
        }
    }

    /// `y ← y + x`.
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEach(count: count, grain: elementGrain) { r in
            ck_add(y + r.lowerBound, x + r.lowerBound, r.count)
        }
    }

    /// Gemma RMSNorm of `rows × width` values (`weight` holds `1 + w`); `x` and `y` may alias.
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, rows: Int, width: Int, weight: UnsafePointer<Float>, epsilon: Float,
        into y: UnsafeMutablePointer<Float>
    ) {
        Parallel.forEach(count: rows, grain: max(1, elementGrain / max(width, 1))) { r in
            ck_rmsnorm(x + r.lowerBound * width, y + r.lowerBound * width, weight, r.count, width, epsilon)
        }
    }

    /// Attention of `count` queries of one head (see `ck_attention` in CKernels.h).
    public static func attention(
        queries: UnsafePointer<Float>, queryStride: Int, count: Int, start: Int, keys: UnsafePointer<Float>,
        values: UnsafePointer<Float>, cacheStride: Int, headDimension: Int, scale: Float, softcap: Float?,
        window: Int?, scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        ck_attention(
            queries, queryStride, count, start, keys, values, cacheStride, headDimension, scale, softcap ?? 0,
            window ?? 0, scratch, out, outputStride)
    }

    /// Dequantises `blocks` consecutive GGUF blocks of `format` into `target` (`blocks ·
    /// blockElements` floats), bit-identical to gguf-py's float32 dequantisation.
    public static func dequantize(
        _ format: QuantizedFormat, _ source: UnsafeRawPointer, blocks: Int, into target: UnsafeMutablePointer<Float>
    ) {
        ck_quant_dequantize(format.kernelType, source, blocks, target)
    }

    /// `y[i, r] = Σ_j x[i, j] · W[r, j]` for `i < n` and `r` in `rows`, on the calling thread, for a
    /// matrix of `columns`-value rows stored as GGUF blocks (`y` has row stride `outputStride`).
    public static func multiply(
        _ x: UnsafePointer<Float>, count n: Int, columns: Int, quantized: QuantizedRows, rows: Range<Int>,
        into y: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        ck_quant_rows(
            quantized.format.kernelType, quantized.base, columns, rows.lowerBound, rows.upperBound, x, n, columns, y,
            outputStride)
    }

    /// Widens `count` elements of `element` type to float32.
    public static func widen(
        _ element: WeightElement, _ source: UnsafeRawPointer, count: Int, into target: UnsafeMutablePointer<Float>
    ) {
        Parallel.forEach(count: count, grain: elementGrain) { r in
            switch element {
            case .f32:
                (target + r.lowerBound).update(
                    from: source.assumingMemoryBound(to: Float.self) + r.lowerBound, count: r.count)
            case .f16:
                ck_f16_to_f32(
                    source.assumingMemoryBound(to: UInt16.self) + r.lowerBound, target + r.lowerBound, r.count)
            case .bf16:
                ck_bf16_to_f32(
                    source.assumingMemoryBound(to: UInt16.self) + r.lowerBound, target + r.lowerBound, r.count)
            }
        }
    }

    /// Rounds `count` float32 values to a half-precision `element` (round to nearest even).
    public static func narrow(
        _ source: UnsafePointer<Float>, count: Int, to element: WeightElement, into target: UnsafeMutableRawPointer
    ) {
        Parallel.forEach(count: count, grain: elementGrain) { r in
            let out = target.assumingMemoryBound(to: UInt16.self) + r.lowerBound
            switch element {
            case .f32:
                (target.assumingMemoryBound(to: Float.self) + r.lowerBound).update(
                    from: source + r.lowerBound, count: r.count)
            case .f16: ck_f32_to_f16(source + r.lowerBound, out, r.count)
            case .bf16: ck_f32_to_bf16(source + r.lowerBound, out, r.count)
            }
        }
    }

    /// Largest input batch handled by the streaming row kernel; larger batches are packed (or go
    /// through BLAS sgemm without AVX-512).
    public static let streamingBatchLimit = 8

    /// Largest input batch handled by the quantised row kernel when every operand has quantised
    /// blocks: up to 16 rows it beats the packed float32 kernel (Docs/Benchmarks.md).
    public static let quantizedBatchLimit = 16

    /// Whether products of at most ``streamingBatchLimit`` rows (``quantizedBatchLimit`` when all
    /// operands have them) read quantised GGUF blocks where an operand has them: yes unless
    /// `STEER_QUANTIZED=off` (to compare with the float32 rows).
    public static let usesQuantizedRows = ProcessInfo.processInfo.environment["STEER_QUANTIZED"] != "off"

    /// Whether `STEER_GEMM=blas` sends every product with more than ``streamingBatchLimit`` rows
    /// to OpenBLAS sgemm (to compare).
    public static let forcesBLAS = ProcessInfo.processInfo.environment["STEER_GEMM"] == "blas"

    /// Whether products with more than ``streamingBatchLimit`` rows run the packed kernel (AVX-512,
    /// or AVX2+FMA) at the level in use, rather than OpenBLAS sgemm (no vector level, or
    /// `STEER_GEMM=blas`).
    public static var usesPackedKernel: Bool { ck_gemm_packed_available() != 0 && !forcesBLAS }

    /// At the AVX2 level, products of this many input rows or more go to OpenBLAS sgemm. On a real
    /// AVX2-only CPU (AMD Zen 3, two threads, Gemma-2-2B block shapes) sgemm is ahead from 256 rows
    /// (0.75–0.77× ours/sgemm at 256–512 rows), while our kernel leads at generation-step sizes
    /// (1.9× at 32 rows); at 512 rows sgemm also led on an Intel CPU with AVX2 forced and tied on a
    /// Zen 4 (Docs/Benchmarks.md, "Every CPU").
    public static let avx2BLASCrossover = 256

    /// The product kernel `multiply` uses for `count` input rows: "rows" (streaming), "packed
    /// AVX-512", "packed AVX2" or "BLAS".
    public static func productKernel(count n: Int) -> String {
        if n <= streamingBatchLimit { return "rows" }
        guard usesPackedKernel else { return "BLAS" }
        if level >= 2 { return "packed AVX-512" }
        return n < avx2BLASCrossover ? "packed AVX2" : "BLAS"
    }

    /// Whether the packed kernel runs a product of `count` (> ``streamingBatchLimit``) input rows.
    static func packs(count n: Int) -> Bool {
        usesPackedKernel && (level >= 2 || n < avx2BLASCrossover)
    }

    /// `y[n × rows] = x[n × columns] · Wᵀ` for a row-major weight `W[rows × columns]` stored as
    /// `element`. Small batches stream the weights once through the row kernel on every core (the
    /// product is bound by memory bandwidth); they read `quantized` instead when given. Larger ones pack the inputs into `scratch` and
    /// broadcast each weight against 32 inputs at a time (AVX-512) or 16 (AVX2+FMA, up to
    /// ``avx2BLASCrossover`` rows), or otherwise call OpenBLAS sgemm, widening half-precision
    /// weights panel by panel into `scratch`. `scratch` holds
    /// at least ``scratchFloats(count:columns:)`` floats.
    public static func multiply(
        _ x: UnsafePointer<Float>, count n: Int, weights: UnsafeRawPointer, element: WeightElement, rows: Int,
        columns: Int, quantized: QuantizedRows? = nil, into y: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        multiply(
            x, count: n, columns: columns,
            operands: [WeightOperand(weights: weights, element: element, rows: rows, output: y, quantized: quantized)],
            scratch: scratch)
    }

    /// Several products of the same inputs at once (q/k/v, or gate/up): the inputs are packed once
    /// and the weight rows of all operands are shared out over the cores as one range, as if the
    /// weights were concatenated (they are not copied).
    public static func multiply(
        _ x: UnsafePointer<Float>, count n: Int, columns: Int, operands: [WeightOperand],
        scratch: UnsafeMutablePointer<Float>
    ) {
        guard n > 0, !operands.isEmpty else { return }
        let total = operands.reduce(0) { $0 + $1.rows }
        /// Calls `body(operand, local rows)` for the parts of `range` (over all operands' rows).
        func segments(_ range: Range<Int>, _ body: (WeightOperand, Range<Int>) -> Void) {
            var offset = 0
            for operand in operands {
                let low = max(range.lowerBound, offset), high = min(range.upperBound, offset + operand.rows)
                if low < high { body(operand, (low - offset)..<(high - offset)) }
                offset += operand.rows
            }
        }
        let quantizedOnly = usesQuantizedRows && operands.allSatisfy { $0.quantized != nil }
        if n <= streamingBatchLimit || (quantizedOnly && n <= quantizedBatchLimit) {
            Parallel.forEach(count: total, grain: 64, alignment: 4) { range in
                segments(range) { operand, r in
                    if usesQuantizedRows, let quantized = operand.quantized {
                        ck_quant_rows(
                            quantized.format.kernelType, quantized.base, columns, r.lowerBound, r.upperBound, x, n,
                            columns, operand.output, operand.rows)
                    } else {
                        ck_gemm_rows(
                            operand.element.kernelType, operand.weights, columns, r.lowerBound, r.upperBound, x, n,
                            columns, operand.output, operand.rows)
                    }
                }
            }
            return
        }
        if packs(count: n) {
            let blockFloats = 32 * columns
            Parallel.forEach(count: (n + 31) / 32, grain: 1) { blocks in
                for b in blocks {
                    ck_pack_input(
                        x + b * 32 * columns, min(32, n - b * 32), columns, columns, scratch + b * blockFloats)
                }
            }
            let halves = operands.contains { $0.element != .f32 }
            Parallel.forEach(count: total, grain: 48, alignment: 12) { range in
                let widened =
                    halves ? UnsafeMutablePointer<Float>.allocate(capacity: ck_packed_widened_floats(columns)) : nil
                defer { widened?.deallocate() }
                segments(range) { operand, r in
                    ck_gemm_packed(
                        operand.element.kernelType, operand.weights, columns, r.lowerBound, r.upperBound, scratch, n,
                        operand.output, operand.rows, widened)
                }
            }
            return
        }
        for operand in operands {
            multiplyThroughBLAS(x, count: n, operand: operand, columns: columns, scratch: scratch)
        }
    }

    private static func multiplyThroughBLAS(
        _ x: UnsafePointer<Float>, count n: Int, operand: WeightOperand, columns: Int,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let rows = operand.rows, y = operand.output
        if operand.element == .f32 {
            sgemm(
                .none, .transpose, m: n, n: rows, k: columns, a: x, lda: columns,
                b: operand.weights.assumingMemoryBound(to: Float.self), ldb: columns, c: y, ldc: rows)
            return
        }
        let panelRows = blasPanelRows(columns: columns)
        for start in stride(from: 0, to: rows, by: panelRows) {
            let count = min(panelRows, rows - start)
            widen(
                operand.element, operand.weights + start * columns * operand.element.byteWidth, count: count * columns,
                into: scratch)
            sgemm(
                .none, .transpose, m: n, n: count, k: columns, a: x, lda: columns, b: scratch, ldb: columns,
                c: y + start, ldc: rows)
        }
    }

    /// Scratch floats ``multiply(_:count:weights:element:rows:columns:quantized:into:scratch:)`` needs for `count`
    /// input rows of `columns` values.
    public static func scratchFloats(count: Int, columns: Int) -> Int {
        max(Int(ck_packed_input_floats(count, columns)), blasPanelRows(columns: columns) * columns)
    }

    /// Weight rows widened per sgemm call on the BLAS path for half precision: about 1 Mi floats.
    private static func blasPanelRows(columns: Int) -> Int { max(16, (1 << 20) / max(columns, 1)) }
}

/// `STEER_KERNEL_LEVEL` set to something that names no kernel level.
public struct KernelLevelError: Error, CustomStringConvertible {
    /// The value found.
    public let value: String

    public var description: String {
        "STEER_KERNEL_LEVEL='\(value)' names no kernel level: use portable, avx2 or avx512 (or 0, 1, 2), or unset it"
    }
}
