import CBLAS
public import SteeringCore

// Row-major Float32 linear algebra over OpenBLAS. Every entry point checks shapes with a
// precondition that prints them, and converts sizes to the BLAS integer width with a trapping
// conversion (never a silent wrap).

/// Whether an operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transpose

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

@inline(__always) func blasInt(_ value: Int) -> blasint { blasint(value) }

/// The BLAS level-3 kernel on raw row-major buffers: `C[m×n] ← α·op(A)·op(B) + β·C`.
///
/// `lda`, `ldb`, `ldc` are row strides in elements. Callers own shape checking.
@inline(__always)
public func sgemm(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // BLAS leaves C scaled by β when k = 0; make that explicit.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    cblas_sgemm(
        CblasRowMajor, transA.cblas, transB.cblas, blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b,
        blasInt(ldb), beta, c, blasInt(ldc))
}

/// `y[m] ← α·op(A)·x + β·y` for a row-major `A` of `rows × columns`.
@inline(__always)
public func sgemv(
    _ trans: Transpose, rows: Int, columns: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>
) {
    guard rows > 0, columns > 0 else { return }
    cblas_sgemv(
        CblasRowMajor, trans.cblas, blasInt(rows), blasInt(columns), alpha, a, blasInt(lda), x, 1, beta, y, 1)
}

/// Sets the number of threads OpenBLAS uses for subsequent calls.
public func setBLASThreads(_ count: Int) { openblas_set_num_threads(Int32(count)) }

/// The number of threads OpenBLAS will use.
public var blasThreads: Int { Int(openblas_get_num_threads()) }

/// The kernel family OpenBLAS runs ("SkylakeX", "Haswell", "Zen", "Prescott", …): chosen from the CPU
/// model when the library loads, or named by `OPENBLAS_CORETYPE` in the environment before the process starts.
public var blasCoreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

/// The `OPENBLAS_CORETYPE` worth setting on a CPU with these features when OpenBLAS's own choice, `core`,
/// uses neither AVX2 nor AVX-512 — it did not recognise the CPU model (Debian's OpenBLAS 0.3.21 runs its
/// SSE3 "Prescott" kernels on Intel Xeon family 6 model 207, with 5.3× slower sgemm than "SkylakeX";
/// Docs/Benchmarks.md) — else nil.
public func suggestedBLASCoreType(core: String, cpuHasAVX2: Bool, cpuHasAVX512: Bool) -> String? {
    let withoutAVX2: Set<String> = [
        "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge", "Katmai", "Coppermine",
        "Northwood", "Banias", "Generic",
    ]
    guard withoutAVX2.contains(core) else { return nil }
    if cpuHasAVX512 { return "SkylakeX" }
    return cpuHasAVX2 ? "Haswell" : nil
}

extension Matrix {
    /// `op(self) · op(other)` through BLAS.
    public func matmul(_ other: Matrix, transposeSelf: Bool = false, transposeOther: Bool = false) -> Matrix {
        let (m, k1) = transposeSelf ? (columns, rows) : (rows, columns)
        let (k2, n) = transposeOther ? (other.columns, other.rows) : (other.rows, other.columns)
        precondition(
            k1 == k2,
            "matmul shape mismatch: \(shape)\(transposeSelf ? "ᵀ" : "") × \(other.shape)\(transposeOther ? "ᵀ" : "")")
        var out = Matrix(rows: m, columns: n)
        values.withUnsafeBufferPointer { pa in
            other.values.withUnsafeBufferPointer { pb in
                out.values.withUnsafeMutableBufferPointer { pc in
                    sgemm(
                        transposeSelf ? .transpose : .none, transposeOther ? .transpose : .none, m: m, n: n, k: k1,
                        a: pa.baseAddress!, lda: columns, b: pb.baseAddress!, ldb: other.columns,
                        c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return out
    }

    /// `C ← α·op(A)·op(B) + β·C` into `self` (which must be `C`).
    public mutating func addProduct(
        _ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1,
        beta: Float = 1
    ) {
        let (m, k1) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
        let (k2, n) = transposeB ? (b.columns, b.rows) : (b.rows, b.columns)
        precondition(
            k1 == k2 && m == rows && n == columns,
            "addProduct shape mismatch: \(a.shape) × \(b.shape) → \(shape)")
        let ldc = columns
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                values.withUnsafeMutableBufferPointer { pc in
                    sgemm(
                        transposeA ? .transpose : .none, transposeB ? .transpose : .none, m: m, n: n, k: k1,
                        alpha: alpha, a: pa.baseAddress!, lda: a.columns, b: pb.baseAddress!, ldb: b.columns,
                        beta: beta, c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
    }

    /// `self · x` for a vector `x` of `columns` values (or `selfᵀ · x` with `transpose`).
    public func multiply(_ x: [Float], transpose: Bool = false) -> [Float] {
        precondition(
            x.count == (transpose ? rows : columns),
            "multiply: \(shape)\(transpose ? "ᵀ" : "") × vector of \(x.count)")
        var y = [Float](repeating: 0, count: transpose ? columns : rows)
        values.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    sgemv(
                        transpose ? .transpose : .none, rows: rows, columns: columns, a: pa.baseAddress!,
                        lda: columns, x: px.baseAddress!, y: py.baseAddress!)
                }
            }
        }
        return y
    }

    /// Adds `bias` to every row.
    public mutating func addRowVector(_ bias: [Float]) {
        precondition(bias.count == columns, "addRowVector: \(bias.count) values for \(columns) columns")
        values.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows {
                let base = r * columns
                for c in 0..<columns { p[base + c] += bias[c] }
            }
        }
    }
}
