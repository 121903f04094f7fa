import SteeringCore

/// Steers along the dictionary's own decoder directions (the method's "SAE" baseline).
///
/// `v = Σ_i w_i·W_dec[i]`, then `v ← v/‖v‖`, with `W_dec[i]` the unnormalised decoder row of feature `i`
/// from ``FeatureDictionary/decoderRows(_:)``.
///
/// Requires a dictionary and targets; takes no options. Invariant to scaling every weight by the same
/// positive constant.
public struct SAEDirectStrategy: SteeringStrategy {
    public let name = "sae-direct"
    public let displayName = "SAE-direct"
    /// The method's SAE baseline reads its own list (`feature_steer.json`), which differs for Praise.
    public let taskFeatureList = "sae_direct_features"
    public let version = 1
    public let requirements: Set<StrategyRequirement> = [.dictionary, .targets]

    /// The options ``makeVector(_:)`` reads: none.
    public static let optionSpecs: [PluginOptionSpec] = []

    public init() {}

    /// Builds `normalise(Σ_i w_i·W_dec[i])`.
    /// - Throws: ``SteeringError`` for a missing dictionary or targets, a target outside
    ///   `0..<featureCount`, an estimator (when given) of another width, a dictionary at another layer,
    ///   or weights that cancel to the zero vector.
    public func makeVector(_ inputs: StrategyInputs) throws -> SteeringVector {
        try checkRequirements(inputs)
        let reader = try StrategyOptionReader(
            strategy: name, options: inputs.options, accepted: Self.optionSpecs.map(\.key))
        let dictionary = inputs.dictionary!
        try TargetChecks.checkWidths(inputs, strategy: name)
        try TargetChecks.check(
            inputs.targets, featureCount: dictionary.descriptor.featureCount,
            space: "dictionary \(dictionary.descriptor.name)", strategy: name)
        let rows = try dictionary.decoderRows(inputs.targets.map(\.feature))
        var sum = [Double](repeating: 0, count: rows.columns)
        for (index, target) in inputs.targets.enumerated() {
            let w = Double(target.weight)
            for c in 0..<rows.columns { sum[c] += w * Double(rows[index, c]) }
        }
        let v = try EffectGeometry.unit(sum.map { Float($0) }, "Σ w_i·W_dec[i]", strategy: name)
        return SteeringVector(
            values: v, site: inputs.site,
            provenance: Provenance.make(
                strategy: self, site: inputs.site, options: reader.resolved,
                extra: ["targets": TargetChecks.describe(inputs.targets), "dictionary": dictionary.descriptor.name]))
    }
}
