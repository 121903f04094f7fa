import SteeringCore

/// Rotation steering (the method's appendix D): maps the targets' decoder directions through the
/// orthogonal `Q` of ``RotationMatrix`` into the estimator's column space.
///
///     d = Σ_i w_i·d̂_i             (d̂_i = W_dec[i]/‖W_dec[i]‖)
///     v = Q·d / ‖Q·d‖
///     v ← normalise(v − ĉ)        (ĉ = M·b/‖M·b‖; only with subtractBias)
///
/// `Q` is applied as `Q·d`, the correct orientation (see ``RotationMatrix`` for the transpose in the
/// authors' public code). The last computed `Q` is kept, keyed by the estimator and the dictionary
/// fingerprint, so several tasks with one estimator pay for the
/// `d_model × d_sae × d_model` product once.
///
/// Options: `subtractBias` (default `true`, the paper's step 4). Invariant to scaling every weight by the
/// same positive constant.
public struct RotationStrategy: SteeringStrategy {
    public let name = "rotation"
    public let version = 1
    public let requirements: Set<StrategyRequirement> = [.effectModel, .dictionary, .targets]

    /// The options ``makeVector(_:)`` reads, with their defaults.
    public static let optionSpecs = [
        PluginOptionSpec("subtractBias", default: "true", "subtract the direction of M·b (the paper's step 4)")
    ]

    private let cache = EstimatorMemo<Matrix>()

    public init() {}

    /// Builds `normalise(Q·d)`, then subtracts `normalise(M·b)` and normalises again unless
    /// `subtractBias` is `false`.
    /// - Throws: ``SteeringError`` for missing inputs, a target outside `0..<d_sae`, an estimator whose
    ///   width differs from the dictionary's, or a zero result; ``NumericsError`` if the SVD fails.
    public func makeVector(_ inputs: StrategyInputs) throws -> SteeringVector {
        try checkRequirements(inputs)
        var reader = try StrategyOptionReader(
            strategy: name, options: inputs.options, accepted: Self.optionSpecs.map(\.key))
        let subtractBias = try reader.bool("subtractBias", default: true)
        let effect = inputs.effectModel!, dictionary = inputs.dictionary!
        try TargetChecks.checkWidths(inputs, strategy: name)
        try TargetChecks.check(
            inputs.targets, featureCount: dictionary.descriptor.featureCount,
            space: "dictionary \(dictionary.descriptor.name)", strategy: name)

        let rows = try dictionary.decoderRows(inputs.targets.map(\.feature))
        var d = [Double](repeating: 0, count: rows.columns)
        for (index, target) in inputs.targets.enumerated() {
            let row = rows.row(index)
            let norm = Double(Vector.norm(row))
            guard norm > 0 else { continue }
            let w = Double(target.weight) / norm
            for c in 0..<row.count { d[c] += w * Double(row[c]) }
        }
        let q = try cache.value(for: effect, dictionary: dictionary.descriptor.fingerprint) {
            try RotationMatrix.compute(effectModel: effect, dictionary: dictionary)
        }
        var v = try EffectGeometry.unit(q.multiply(d.map { Float($0) }), "Q·d", strategy: name)
        var extra = ["targets": TargetChecks.describe(inputs.targets), "dictionary": dictionary.descriptor.name]
        if subtractBias {
            if let c = EffectGeometry.normalizedBiasDirection(effect) {
                v = try EffectGeometry.unit(
                    EffectGeometry.subtract(v, c), "normalise(Q·d) − normalise(M·b)", strategy: name)
                extra["biasTerm"] = "subtracted"
            } else {
                extra["biasTerm"] = "zero"
            }
        }
        return SteeringVector(
            values: v, site: inputs.site,
            provenance: Provenance.make(strategy: self, site: inputs.site, options: reader.resolved, extra: extra))
    }
}
