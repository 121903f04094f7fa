import SteeringCore
import SteeringNumerics

/// The orthogonal map that best sends the dictionary's decoder directions to the estimator's columns.
///
/// With `M̂_k = M[:, k]/‖M[:, k]‖` (estimator column `k`) and `d̂_k = W_dec[k]/‖W_dec[k]‖` (decoder row
/// `k`), both `d_model` vectors:
///
///     C = Σ_k M̂_k·d̂_kᵀ = M̂·D̂        (d_model × d_model)
///     C = U·Σ·Vᵀ,   Q = U·Vᵀ
///
/// `Q` maximises `Σ_k ⟨Q·d̂_k, M̂_k⟩` over orthogonal matrices (orthogonal Procrustes), so it is applied
/// as `Q·d` (column convention) and `Q·d̂_k ≈ M̂_k` when the columns are a rotation of the rows.
///
/// Orientation trap: the authors' public code builds the same `U·Vᵀ` and then applies `R.T @ d`, which is
/// the inverse map `Qᵀ·d`; the paper writes `d·R`, the same thing. Their research code took the SVD of
/// `Cᵀ`, where `R.T @ d` equals `Q·d`. This type implements `Q·d`.
///
/// Features whose column or decoder row is zero contribute nothing.
public enum RotationMatrix {
    /// Computes `Q = U·Vᵀ` from the SVD of `C = M̂·D̂`, reading the decoder `chunkSize` rows at a time.
    /// - Throws: ``SteeringError/shapeMismatch(what:expected:got:)`` when the estimator is not
    ///   `[d_model, d_sae]` of the dictionary; ``NumericsError`` if the SVD fails.
    public static func compute(
        effectModel: LinearEffectModel, dictionary: any FeatureDictionary, chunkSize: Int = 1024
    ) throws -> Matrix {
        precondition(chunkSize > 0, "chunkSize must be positive, got \(chunkSize)")
        let m = effectModel.weight
        let d = m.rows, features = m.columns
        let descriptor = dictionary.descriptor
        guard descriptor.featureCount == features, descriptor.inputWidth == d else {
            throw SteeringError.shapeMismatch(
                what: "estimator against dictionary \(descriptor.name) for the rotation",
                expected: "estimator [d_model, d_sae] = [\(descriptor.inputWidth), \(descriptor.featureCount)]",
                got: "[\(d), \(features)]")
        }
        let inverseColumnNorms = columnNorms(m).map { $0 > 0 ? 1 / $0 : 0 }
        var c = Matrix(rows: d, columns: d)
        var start = 0
        while start < features {
            let end = min(start + chunkSize, features)
            let n = end - start
            var columns = Matrix(rows: d, columns: n)  // M̂[:, start..<end]
            m.values.withUnsafeBufferPointer { p in
                for r in 0..<d {
                    for j in 0..<n {
                        columns.values[r * n + j] = Float(
                            Double(p[r * features + start + j]) * inverseColumnNorms[start + j])
                    }
                }
            }
            var rows = try dictionary.decoderRows(Array(start..<end))  // D̂[start..<end, :]
            for k in 0..<n {
                let norm = Vector.norm(Array(rows.values[k * d..<(k + 1) * d]))
                let scale: Float = norm > 0 ? 1 / norm : 0
                for j in 0..<d { rows.values[k * d + j] *= scale }
            }
            c.addProduct(columns, rows)
            start = end
        }
        let (u, _, vt) = try LinearSolve.svd(c)
        return u.matmul(vt)
    }

    /// The Euclidean norm of every column of `m`, accumulated in Double.
    static func columnNorms(_ m: Matrix) -> [Double] {
        var sums = [Double](repeating: 0, count: m.columns)
        m.values.withUnsafeBufferPointer { p in
            for r in 0..<m.rows {
                let base = r * m.columns
                for c in 0..<m.columns {
                    let x = Double(p[base + c])
                    sums[c] += x * x
                }
            }
        }
        return sums.map { $0.squareRoot() }
    }
}
