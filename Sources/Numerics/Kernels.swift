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

/// Splits index ranges over the machine's cores (GCD's `concurrentPerform`, dynamically scheduled).
public enum Parallel {
    /// Number of cores used.
    public static let width = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body` on consecutive sub-ranges of `0..<count`, each at least `grain` long (except the
    /// last) and a multiple of `alignment`, in parallel when there is more than one.
    public static func forEach(count: Int, grain: Int, alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let pieces = min(width * 4, max(1, count / max(grain, 1)))
        if pieces == 1 || width == 1 {
            body(0..<count)
            return
        }
        let even = (count + pieces - 1) / pieces
        let size = (even + alignment - 1) / alignment * alignment
        let chunks = (count + size - 1) / size
        withoutActuallyEscaping(body) { body in
            // The callers' closures share raw buffers on purpose: every piece writes its own range.
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { i in
                shared.value((i * size)..<min(count, (i + 1) * size))
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

    /// Uses kernel bodies up to `level` (0 portable C, 1 AVX2, 2 AVX-512, never above what the CPU
    /// has) from now on; 2 restores the default. Tests use it to run every body on one machine.
    public static func limitLevel(_ level: Int) { ck_limit_level(Int32(level)) }

    /// Vector width in floats of the streaming row kernel: 16 (AVX-512F), 8 (AVX2) or 1.
    public static var rowKernelWidth: Int { Int(ck_row_kernel_width()) }

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
        ck_add(y, x, count)
    }

    /// Gemma RMSNorm of `rows × width` values (`weight` holds `1 + w`); `x` and `y` may alias.
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, rows: Int, width: Int, weight: UnsafePointer<Float>, epsilon: Float,
        into y: UnsafeMutablePointer<Float>
    ) {
        ck_rmsnorm(x, y, weight, rows, width, epsilon)
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

    static let splitGEMM = ProcessInfo.processInfo.environment["STEER_SPLIT_GEMM"] == "1"

    /// Largest input batch handled by the streaming row kernel; larger batches go through BLAS sgemm.
    public static let streamingBatchLimit =
        Int(ProcessInfo.processInfo.environment["STEER_STREAMING_LIMIT"] ?? "") ?? 8

    /// `y[n × rows] = x[n × columns] · Wᵀ` for a row-major weight `W[rows × columns]` stored as
    /// `element`. Small batches stream the weights once through the row kernel on every core (the
    /// product is bound by memory bandwidth); larger ones use OpenBLAS sgemm, widening half-precision
    /// weights panel by panel into `panel` scratch (at least ``panelFloats(columns:)`` floats).
    public static func multiply(
        _ x: UnsafePointer<Float>, count n: Int, weights: UnsafeRawPointer, element: WeightElement, rows: Int,
        columns: Int, into y: UnsafeMutablePointer<Float>, panel: UnsafeMutablePointer<Float>?
    ) {
        guard n > 0, rows > 0 else { return }
        if n <= streamingBatchLimit {
            Parallel.forEach(count: rows, grain: 64, alignment: 4) { r in
                ck_gemm_rows(element.kernelType, weights, columns, r.lowerBound, r.upperBound, x, n, columns, y, rows)
            }
            return
        }
        if element == .f32 && splitGEMM {
            let w = weights.assumingMemoryBound(to: Float.self)
            Parallel.forEach(count: rows, grain: 128, alignment: 16) { r in
                sgemm(
                    .none, .transpose, m: n, n: r.count, k: columns, a: x, lda: columns, b: w + r.lowerBound * columns,
                    ldb: columns, c: y + r.lowerBound, ldc: rows)
            }
            return
        }
        if element == .f32 {
            sgemm(
                .none, .transpose, m: n, n: rows, k: columns, a: x, lda: columns,
                b: weights.assumingMemoryBound(to: Float.self), ldb: columns, c: y, ldc: rows)
            return
        }
        guard let panel else { preconditionFailure("half-precision sgemm path needs panel scratch") }
        let panelRows = panelFloats(columns: columns) / columns
        for start in stride(from: 0, to: rows, by: panelRows) {
            let count = min(panelRows, rows - start)
            widen(element, weights + start * columns * element.byteWidth, count: count * columns, into: panel)
            sgemm(
                .none, .transpose, m: n, n: count, k: columns, a: x, lda: columns, b: panel, ldb: columns,
                c: y + start, ldc: rows)
        }
    }

    /// Scratch floats ``multiply(_:count:weights:element:rows:columns:into:panel:)`` needs for
    /// half-precision weights with `columns` columns: whole rows, about 1 Mi floats.
    public static func panelFloats(columns: Int) -> Int {
        max(16, (1 << 20) / max(columns, 1)) * columns
    }
}
