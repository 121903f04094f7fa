import CBLAS
public import SteeringCore

/// Errors from the dense solvers.
public enum NumericsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The matrix is not (numerically) symmetric positive definite; `minor` is the failing leading minor.
    case notPositiveDefinite(minor: Int)
    /// LAPACK reported a failure.
    case lapack(routine: String, info: Int)

    public var description: String {
        switch self {
        case .notPositiveDefinite(let minor):
            return "The system matrix is not positive definite (leading minor \(minor) failed); "
                + "add regularisation (a larger ridge λ) or remove duplicated/constant inputs."
        case .lapack(let routine, let info):
            return "LAPACK \(routine) failed with info = \(info); the input may contain NaN or infinity."
        }
    }
}

/// Dense solvers in double precision over LAPACK (Debian's OpenBLAS ships the routines).
public enum LinearSolve {
    /// Solves `A·X = B` for a symmetric positive definite `A` (`n × n`, row-major) and `B` (`n × r`,
    /// row-major) by Cholesky factorisation. Returns `X` row-major (`n × r`).
    /// - Throws: ``NumericsError/notPositiveDefinite(minor:)`` when `A` cannot be factored.
    public static func choleskySolve(_ a: [Double], n: Int, _ b: [Double], rightHandSides r: Int) throws(NumericsError)
        -> [Double]
    {
        precondition(a.count == n * n, "choleskySolve: A has \(a.count) values, expected \(n)×\(n)")
        precondition(b.count == n * r, "choleskySolve: B has \(b.count) values, expected \(n)×\(r)")
        guard n > 0 else { return [] }
        // A is symmetric, so its row-major buffer is also its column-major buffer.
        var factor = a
        var info: Int32 = 0
        var nn = Int32(n)
        var uplo = CChar(UInt8(ascii: "L"))
        dpotrf_(&uplo, &nn, &factor, &nn, &info)
        if info > 0 { throw .notPositiveDefinite(minor: Int(info)) }
        if info < 0 { throw .lapack(routine: "dpotrf", info: Int(info)) }
        // LAPACK wants B column-major: transpose in, solve, transpose out.
        var columnMajor = [Double](repeating: 0, count: n * r)
        for i in 0..<n { for j in 0..<r { columnMajor[j * n + i] = b[i * r + j] } }
        var nrhs = Int32(r)
        dpotrs_(&uplo, &nn, &nrhs, factor, &nn, &columnMajor, &nn, &info)
        if info != 0 { throw .lapack(routine: "dpotrs", info: Int(info)) }
        var x = [Double](repeating: 0, count: n * r)
        for i in 0..<n { for j in 0..<r { x[i * r + j] = columnMajor[j * n + i] } }
        return x
    }

    /// Float convenience: solves `A·X = B` with `A` symmetric positive definite.
    public static func choleskySolve(_ a: Matrix, _ b: Matrix) throws(NumericsError) -> Matrix {
        precondition(a.rows == a.columns && b.rows == a.rows, "choleskySolve: A \(a.shape), B \(b.shape)")
        let x = try choleskySolve(
            a.values.map(Double.init), n: a.rows, b.values.map(Double.init), rightHandSides: b.columns)
        return Matrix(rows: b.rows, columns: b.columns, values: x.map(Float.init))
    }

    /// Thin singular value decomposition `A = U·diag(S)·Vᵀ` (computed in double precision).
    /// - Returns: `U` (`m × k`), `S` (`k`, descending), `Vᵀ` (`k × n`), with `k = min(m, n)`.
    public static func svd(_ a: Matrix) throws(NumericsError) -> (u: Matrix, s: [Float], vt: Matrix) {
        let m = a.rows, n = a.columns, k = min(m, n)
        guard k > 0 else { return (Matrix(rows: m, columns: 0), [], Matrix(rows: 0, columns: n)) }
        // The row-major buffer of A is the column-major buffer of Aᵀ (n × m). Decomposing
        // Aᵀ = U_B·S·VT_B gives A = VT_Bᵀ·S·U_Bᵀ; read back row-major, LAPACK's `vt` buffer is U_A
        // (m × k) and its `u` buffer is Vᵀ_A (k × n).
        var buffer = a.values.map(Double.init)
        var rowsB = Int32(n), colsB = Int32(m)
        var s = [Double](repeating: 0, count: k)
        var uB = [Double](repeating: 0, count: n * k)
        var vtB = [Double](repeating: 0, count: k * m)
        var ldu = Int32(n), ldvt = Int32(k), lda = Int32(n)
        var jobz = CChar(UInt8(ascii: "S"))
        var iwork = [Int32](repeating: 0, count: 8 * k)
        var info: Int32 = 0
        var query = 0.0
        var lwork: Int32 = -1
        dgesdd_(&jobz, &rowsB, &colsB, &buffer, &lda, &s, &uB, &ldu, &vtB, &ldvt, &query, &lwork, &iwork, &info)
        if info != 0 { throw .lapack(routine: "dgesdd (workspace query)", info: Int(info)) }
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: Int(lwork))
        dgesdd_(&jobz, &rowsB, &colsB, &buffer, &lda, &s, &uB, &ldu, &vtB, &ldvt, &work, &lwork, &iwork, &info)
        if info != 0 { throw .lapack(routine: "dgesdd", info: Int(info)) }
        let u = Matrix(rows: m, columns: k, values: vtB.map(Float.init))
        let vt = Matrix(rows: k, columns: n, values: uB.map(Float.init))
        return (u, s.map(Float.init), vt)
    }

    /// Moore–Penrose pseudoinverse (`n × m` for an `m × n` input), discarding singular values below
    /// `relativeCutoff × largest` (NumPy's `rcond` default of 1e-15 scaled to float data).
    public static func pseudoinverse(_ a: Matrix, relativeCutoff: Float = 1e-6) throws(NumericsError) -> Matrix {
        let (u, s, vt) = try svd(a)
        let cutoff = (s.first ?? 0) * relativeCutoff
        // pinv = V · diag(1/s) · Uᵀ; scale the rows of Vᵀ first.
        var scaledVt = vt
        for i in 0..<s.count {
            let inv: Float = s[i] > cutoff ? 1 / s[i] : 0
            for j in 0..<vt.columns { scaledVt[i, j] *= inv }
        }
        return scaledVt.matmul(u, transposeSelf: true, transposeOther: true)
    }
}
