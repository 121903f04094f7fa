import SteeringNumerics
import SteeringCore

/// The outcome of choosing λ: the cross-validated mean squared error of every candidate.
public struct RidgeSelection: Sendable, Equatable {
    /// The candidates, as configured.
    public var lambdas: [Double]
    /// Held-out MSE (mean over rows and outputs, pooled over folds) per candidate; empty without
    /// cross-validation.
    public var meanSquaredErrors: [Double]
    /// The λ used for the final fit.
    public var chosen: Double
}

/// k-fold cross-validation of ridge penalties computed from per-fold sufficient statistics alone.
///
/// For fold `f` the model is fitted on the other folds (`W(λ)`, means `μx`, `μy` of those rows) and its
/// held-out squared error follows in closed form from fold `f`'s own statistics:
/// `SSE_f(λ) = Σ‖ỹ‖² − 2·tr(WᵀH) + tr(WᵀKW)`, with `K = Σ x̃ᵀx̃`, `H = Σ x̃ᵀỹ`, `x̃ = x̂ − μx`,
/// `ỹ = y − μy` over the fold's rows. No row is read twice.
///
/// Two evaluation paths give the same numbers up to rounding:
/// - ``Path/direct`` (small problems): one Double Cholesky solve per fold and λ, products in Double.
/// - ``Path/spectral`` (large problems): per fold, one eigendecomposition `Gc = V·diag(σ)·Vᵀ` and three
///   BLAS products in Float, `C = VᵀBc`, `Q = CCᵀ`, `HCᵀ`, after which every λ costs `O(d²)`:
///   with `D = diag(1/(σ+λ))`, `tr(WᵀH) = Σᵢ Dᵢ (VᵀHCᵀ)ᵢᵢ` and `tr(WᵀKW) = Σᵢₖ DᵢDₖ (VᵀKV)ᵢₖ Qᵢₖ`.
///   Its Float products resolve MSE differences down to about 10⁻⁶ of the held-out effect energy.
package enum RidgeCrossValidation {
    /// How the held-out errors are evaluated.
    package enum Path: Sendable {
        case direct, spectral

        /// Direct below about 2·10⁹ multiply-adds for the whole grid, spectral above.
        static func automatic(inputWidth d: Int, outputWidth s: Int, folds: Int, lambdas: Int) -> Path {
            Double(d) * Double(d) * Double(s) * Double(folds * lambdas) * 2 < 2e9 ? .direct : .spectral
        }
    }

    /// Pooled held-out MSE per λ over the folds.
    static func meanSquaredErrors(
        folds: [RidgeStatistics], total: RidgeStatistics, lambdas: [Double], path: Path
    ) throws(SteeringError) -> [Double] {
        var sse = [Double](repeating: 0, count: lambdas.count)
        for (index, fold) in folds.enumerated() {
            let system = RidgeSystem(total: total, excluding: fold)
            guard system.count >= 2, fold.count >= 1 else {
                throw .invalidArgument(
                    what: "ridge cross-validation fold \(index)",
                    problem: "it leaves \(system.count) training rows; each fold needs at least 2 to fit with a bias")
            }
            let foldErrors =
                switch path {
                case .direct: directErrors(system, fold: fold, lambdas: lambdas)
                case .spectral: try spectralErrors(system, fold: fold, lambdas: lambdas)
                }
            for i in lambdas.indices { sse[i] += foldErrors[i] }
        }
        let denominator = Double(total.count) * Double(total.outputWidth)
        return sse.map { $0 / denominator }
    }

    /// The candidate with the lowest error; exact ties go to the larger λ.
    static func choose(lambdas: [Double], errors: [Double]) -> Double {
        var best = 0
        for i in lambdas.indices.dropFirst() {
            if errors[i] < errors[best] || (errors[i] == errors[best] && lambdas[i] > lambdas[best]) { best = i }
        }
        return lambdas[best]
    }

    // MARK: Direct

    static func directErrors(_ system: RidgeSystem, fold: RidgeStatistics, lambdas: [Double]) -> [Double] {
        let d = system.inputWidth, s = system.outputWidth
        var h = [Double](repeating: 0, count: d * s)
        let (k, energy) = h.withUnsafeMutableBufferPointer { hp in system.heldOutTerms(fold) { hp[$0] = $1 } }
        return lambdas.map { lambda in
            // A λ at which the training Gram matrix is singular cannot be fitted: it scores +∞.
            guard let w = try? RidgeSolver.solveBlock(system, lambda: lambda, columns: 0..<s) else { return .infinity }
            var linear = 0.0
            for i in 0..<(d * s) { linear += w[i] * h[i] }
            // tr(WᵀKW) = Σ_j Σ_i W_ij (K W)_ij
            var quadratic = 0.0
            var kw = [Double](repeating: 0, count: s)
            for i in 0..<d {
                for j in 0..<s { kw[j] = 0 }
                for c in 0..<d {
                    let kic = k[i * d + c]
                    if kic == 0 { continue }
                    for j in 0..<s { kw[j] += kic * w[c * s + j] }
                }
                for j in 0..<s { quadratic += w[i * s + j] * kw[j] }
            }
            return energy - 2 * linear + quadratic
        }
    }

    // MARK: Spectral

    static func spectralErrors(_ system: RidgeSystem, fold: RidgeStatistics, lambdas: [Double]) throws(SteeringError)
        -> [Double]
    {
        let d = system.inputWidth, s = system.outputWidth
        let gram = Matrix(rows: d, columns: d, values: system.gram.map(Float.init))
        let eigen: (u: Matrix, s: [Float], vt: Matrix)
        do {
            eigen = try LinearSolve.svd(gram)
        } catch {
            throw .invalidArgument(what: "ridge cross-validation", problem: "\(error)")
        }
        // Gc is symmetric positive semi-definite: its singular values are its eigenvalues and the rows of
        // Vᵀ its eigenvectors (null-space directions have σ = 0 and need no matching left vector).
        let vt = eigen.vt
        var buffer = Matrix(rows: d, columns: s)
        buffer.values.withUnsafeMutableBufferPointer { b in system.centredCross(columns: 0..<s) { b[$0] = Float($1) } }
        let c = vt.matmul(buffer)
        var heldOutGram = [Double]()
        var energy = 0.0
        buffer.values.withUnsafeMutableBufferPointer { b in
            (heldOutGram, energy) = system.heldOutTerms(fold) { b[$0] = Float($1) }
        }
        let hct = buffer.matmul(c, transposeOther: true)
        buffer = Matrix(rows: 0, columns: 0)
        let q = c.matmul(c, transposeOther: true)
        let k = Matrix(rows: d, columns: d, values: heldOutGram.map(Float.init))
        let p = vt.matmul(k).matmul(vt, transposeOther: true)
        var r = [Double](repeating: 0, count: d)
        for i in 0..<d {
            var sum = 0.0
            for kk in 0..<d { sum += Double(vt[i, kk]) * Double(hct[kk, i]) }
            r[i] = sum
        }
        let floor = Double(eigen.s.first ?? 0) * 1e-7
        return lambdas.map { lambda in
            // As in the direct path, a λ at which the training Gram matrix is singular scores +∞.
            if lambda == 0, eigen.s.contains(where: { Double($0) <= floor }) { return .infinity }
            let dInv = eigen.s.map { 1 / (max(Double($0), 0) + lambda) }
            var linear = 0.0
            for i in 0..<d { linear += dInv[i] * r[i] }
            var quadratic = 0.0
            p.values.withUnsafeBufferPointer { pp in
                q.values.withUnsafeBufferPointer { qp in
                    for i in 0..<d {
                        var row = 0.0
                        for kk in 0..<d { row += dInv[kk] * Double(pp[i * d + kk]) * Double(qp[i * d + kk]) }
                        quadratic += dInv[i] * row
                    }
                }
            }
            return energy - 2 * linear + quadratic
        }
    }
}
