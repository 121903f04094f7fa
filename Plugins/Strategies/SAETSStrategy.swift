import SteeringCore

/// SAE-targeted steering (the method, arXiv 2411.02193 eq. 3 and its multi-feature form).
///
/// With the estimator `ŷ = x̂·M + b` (`M` is `[d_model, d_sae]`) and target `t` (`t[i] = w_i`):
///
///     u = M·t = Σ_i w_i·M[:, i],   û = u/‖u‖
///     c = M·b,                     ĉ = c/‖c‖
///     s = (û − λ·ĉ) / ‖û − λ·ĉ‖
///
/// For one feature of weight 1 this is `normalise(M_j/‖M_j‖ − λ·Mb/‖Mb‖)`. Columns are not normalised one
/// by one before the weighted sum (as in the authors' code). When `M·b` is zero the bias term is dropped
/// and the provenance says so (`biasTerm: zero`).
///
/// Options: `lambda` (default 1, the paper's value; 0 gives `û`). Invariant to scaling every weight by
/// the same positive constant.
public struct SAETSStrategy: SteeringStrategy {
    public let name = "sae-ts"
    public let displayName = "SAE-TS"
    public let version = 1
    public let requirements: Set<StrategyRequirement> = [.effectModel, .targets]

    /// The options ``makeVector(_:)`` reads, with their defaults.
    public static let optionSpecs = [
        PluginOptionSpec("lambda", default: "1", "weight of the bias direction subtracted (1: the paper; 0: û alone)")
    ]

    public init() {}

    /// Builds `normalise(normalise(M·t) − λ·normalise(M·b))`.
    /// - Throws: ``SteeringError`` for a missing estimator or targets, a target outside `0..<d_sae`, an
    ///   estimator whose width differs from the dictionary's or the model's (when those are given), a
    ///   non-finite `lambda`, or inputs for which `M·t` or the result is zero.
    public func makeVector(_ inputs: StrategyInputs) throws -> SteeringVector {
        try checkRequirements(inputs)
        var reader = try StrategyOptionReader(
            strategy: name, options: inputs.options, accepted: Self.optionSpecs.map(\.key))
        let lambda = try reader.double("lambda", default: 1)
        let effect = inputs.effectModel!
        try TargetChecks.checkWidths(inputs, strategy: name)
        try TargetChecks.check(inputs.targets, featureCount: effect.outputWidth, space: "estimator", strategy: name)
        let u = try EffectGeometry.unit(
            EffectGeometry.weightedColumns(effect.weight, inputs.targets), "M·t", strategy: name)
        var extra = ["targets": TargetChecks.describe(inputs.targets)]
        var s = u
        if lambda != 0 {
            if let c = EffectGeometry.normalizedBiasDirection(effect) {
                s = EffectGeometry.subtract(u, c, scale: Float(lambda))
                extra["biasTerm"] = "subtracted"
            } else {
                extra["biasTerm"] = "zero"
            }
        }
        let v = try EffectGeometry.unit(s, "normalise(M·t) − λ·normalise(M·b)", strategy: name)
        return SteeringVector(
            values: v, site: inputs.site,
            provenance: Provenance.make(strategy: self, site: inputs.site, options: reader.resolved, extra: extra))
    }
}
