import SteeringCore
import SteeringNumerics

/// Products with the effect model's weight `M` (`[d_model, d_sae]`) that the strategies share.
enum EffectGeometry {
    /// `M·t` for a sparse target `t` (`t[i] = w_i`): `Σ_i w_i·M[:, i]`, a `d_model` vector.
    /// Accumulated in Double.
    static func weightedColumns(_ m: Matrix, _ targets: [FeatureTarget]) -> [Float] {
        var sum = [Double](repeating: 0, count: m.rows)
        m.values.withUnsafeBufferPointer { p in
            for target in targets where target.weight != 0 {
                let w = Double(target.weight)
                for r in 0..<m.rows { sum[r] += w * Double(p[r * m.columns + target.feature]) }
            }
        }
        return sum.map { Float($0) }
    }

    /// `M·b`, the direction of the estimator's constant offset in activation space (`d_model` values).
    static func biasDirection(_ effect: LinearEffectModel) -> [Float] {
        effect.weight.multiply(effect.bias)
    }

    /// `M·b / ‖M·b‖`, or `nil` when `M·b` is zero (an estimator fitted without a bias), in which case the
    /// bias term is dropped.
    static func normalizedBiasDirection(_ effect: LinearEffectModel) -> [Float]? {
        let c = biasDirection(effect)
        return Vector.norm(c) > 0 ? Vector.normalized(c) : nil
    }

    /// `a − λ·b`.
    static func subtract(_ a: [Float], _ b: [Float], scale lambda: Float = 1) -> [Float] {
        precondition(a.count == b.count, "subtract: lengths \(a.count) and \(b.count) differ")
        return zip(a, b).map { $0 - lambda * $1 }
    }

    /// `v / ‖v‖`, throwing when `v` is zero (the formula has no direction for these inputs).
    static func unit(_ v: [Float], _ what: @autoclosure () -> String, strategy: String) throws(SteeringError)
        -> [Float]
    {
        try Vector.checkFinite(v, "\(what()) for strategy '\(strategy)'")
        guard Vector.norm(v) > 0 else {
            throw .invalidArgument(
                what: "inputs for strategy '\(strategy)'",
                problem: "\(what()) is the zero vector, so it has no direction; check that the estimator is "
                    + "fitted and the targets are features it has seen")
        }
        return Vector.normalized(v)
    }
}
