import SteeringCore
import SteeringNumerics

/// Solves the estimator for the input that would produce the target (the method's pseudoinverse ablation).
///
/// With `t̂ = t/‖t‖` (a `d_sae` row vector, `t[i] = w_i`) and the thin SVD `M = U·Σ·Vᵀ` of the estimator
/// weight (`M` is `[d_model, d_sae]`, so `pinv(M) = V·Σ⁻¹·Uᵀ` is `[d_sae, d_model]`):
///
///     x = (t̂ − b)·pinv(M) = U·(Σ⁻¹·(Vᵀ·(t̂ − b)))     (a d_model vector)
///
/// computed right to left so `pinv(M)` is never formed. Singular values `σ ≤ rcond·σ_max` are treated as
/// zero. The SVD of the last estimator is kept, so vectors for several tasks cost one decomposition.
///
/// Options:
/// - `normalize` (default `true`): return `x/‖x‖`. `false` returns `x` unnormalised, as the authors' code
///   does; its norm then is not on the same scale as the other strategies'.
/// - `rcond` (default `max(d_model, d_sae)·ε_float32`, the cutoff `torch.linalg.pinv` uses for float32
///   weights; NumPy's default is `1e-15`).
///
/// Invariant to scaling every weight by the same positive constant (in both modes, because `t` is
/// normalised first).
public struct PseudoinverseStrategy: SteeringStrategy {
    public let name = "pinv"
    public let version = 1
    public let requirements: Set<StrategyRequirement> = [.effectModel, .targets]

    /// The options ``makeVector(_:)`` reads, with their defaults.
    public static let optionSpecs = [
        PluginOptionSpec("normalize", default: "true", "scale the solution to unit norm"),
        PluginOptionSpec("rcond", "singular values below rcond × the largest are cut (default: max(d) × float ε)"),
    ]

    private let cache = EstimatorMemo<ThinSVD>()

    public init() {}

    /// Builds `(t̂ − b)·pinv(M)`, normalised unless `normalize` is `false`.
    /// - Throws: ``SteeringError`` for a missing estimator or targets, a target outside `0..<d_sae`,
    ///   mismatched widths, a bad option, or a zero solution; ``NumericsError`` if the SVD fails.
    public func makeVector(_ inputs: StrategyInputs) throws -> SteeringVector {
        try checkRequirements(inputs)
        var reader = try StrategyOptionReader(
            strategy: name, options: inputs.options, accepted: Self.optionSpecs.map(\.key))
        let normalize = try reader.bool("normalize", default: true)
        let effect = inputs.effectModel!
        let defaultCutoff = Double(max(effect.inputWidth, effect.outputWidth)) * Double(Float.ulpOfOne)
        let rcond = try reader.double("rcond", default: defaultCutoff, in: 0...1)
        try TargetChecks.checkWidths(inputs, strategy: name)
        try TargetChecks.check(inputs.targets, featureCount: effect.outputWidth, space: "estimator", strategy: name)

        let svd = try cache.value(for: effect) { try ThinSVD(effect.weight) }
        let x = Self.solve(effect, svd: svd, targets: inputs.targets, rcond: Float(rcond))
        try Vector.checkFinite(x, "pinv solution for strategy '\(name)'")
        let values = normalize ? try EffectGeometry.unit(x, "(t̂ − b)·pinv(M)", strategy: name) : x
        return SteeringVector(
            values: values, site: inputs.site,
            provenance: Provenance.make(
                strategy: self, site: inputs.site, options: reader.resolved,
                extra: ["targets": TargetChecks.describe(inputs.targets)]))
    }

    /// `(t̂ − b)·pinv(M)` through the thin SVD of `M`, discarding singular values `≤ rcond·σ_max`.
    static func solve(_ effect: LinearEffectModel, svd: ThinSVD, targets: [FeatureTarget], rcond: Float) -> [Float] {
        var norm = 0.0
        for target in targets { norm += Double(target.weight) * Double(target.weight) }
        norm = norm.squareRoot()
        // y = t̂ − b (d_sae).
        var y = effect.bias.map { -$0 }
        for target in targets { y[target.feature] += Float(Double(target.weight) / norm) }
        var z = svd.vt.multiply(y)  // Vᵀ·y, k values
        let cutoff = (svd.s.first ?? 0) * rcond
        for i in 0..<z.count { z[i] = svd.s[i] > cutoff ? z[i] / svd.s[i] : 0 }
        return svd.u.multiply(z)  // U·Σ⁻¹·Vᵀ·y, d_model values
    }
}

/// `M = U·diag(s)·Vᵀ` with `U` `[d_model, k]`, `s` descending, `Vᵀ` `[k, d_sae]`, `k = min(d_model, d_sae)`.
struct ThinSVD: Sendable {
    var u: Matrix
    var s: [Float]
    var vt: Matrix

    init(_ m: Matrix) throws {
        (u, s, vt) = try LinearSolve.svd(m)
    }
}
