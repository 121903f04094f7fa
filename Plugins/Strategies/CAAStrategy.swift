import SteeringCore

/// Contrastive activation addition: the difference of mean activations on positive and negative prompts
/// (the method's "CAA" baseline).
///
/// Each prompt is encoded with BOS and run unsteered; `a_p` is the mean of its residual activations at
/// the site over the selected positions. Then
///
///     v = (1/|P|)·Σ_{p∈P} a_p − (1/|N|)·Σ_{n∈N} a_n,   v ← v/‖v‖
///
/// Options:
/// - `positions`: `all` (default, every position) or `last` (the last token only).
/// - `bos`: `true` (default) keeps the BOS position in each prompt's mean; `false` drops it. The authors'
///   code averages over all positions including BOS, whose weight is `1/len(tokens)`, so it does not
///   cancel between the sets.
/// - `normalize`: `true` (default) returns `v/‖v‖`; `false` returns the raw difference.
/// - `batchSize`: prompts per forward pass (default 8); it does not change the result and is not
///   recorded in the options.
///
/// Averaging is in Double. The prompts are used as given: no chat template.
public struct CAAStrategy: SteeringStrategy {
    public let name = "caa"
    public let displayName = "CAA"
    public let version = 1
    public let requirements: Set<StrategyRequirement> = [.model, .contrastivePrompts]

    /// The options ``makeVector(_:)`` reads, with their defaults.
    public static let optionSpecs = [
        PluginOptionSpec("positions", default: "all", "positions averaged: all, or last (the last token only)"),
        PluginOptionSpec("bos", default: "true", "include the <bos> position"),
        PluginOptionSpec("normalize", default: "true", "scale the difference of means to unit norm"),
        PluginOptionSpec("batchSize", default: "8", "prompts per forward pass (does not change the result)"),
    ]

    public init() {}

    /// Builds the (normalised) difference of mean activations.
    /// - Throws: ``SteeringError`` for a missing model or prompt set, a site outside the model, a bad
    ///   option, a prompt with no position left to average, or identical means; errors from the backend.
    public func makeVector(_ inputs: StrategyInputs) throws -> SteeringVector {
        try checkRequirements(inputs)
        var reader = try StrategyOptionReader(
            strategy: name, options: inputs.options, accepted: Self.optionSpecs.map(\.key))
        let lastOnly = try reader.choice("positions", default: "all", choices: ["all", "last"]) == "last"
        let includeBOS = try reader.bool("bos", default: true)
        let normalize = try reader.bool("normalize", default: true)
        let batchSize = try reader.positiveInt("batchSize", default: 8, record: false)
        let model = inputs.model!
        let descriptor = model.descriptor
        guard (0..<descriptor.layerCount).contains(inputs.site.layer) else {
            throw SteeringError.indexOutOfRange(
                what: "CAA layer for model \(descriptor.name)", index: inputs.site.layer,
                validRange: 0..<descriptor.layerCount)
        }
        let selection = PositionSelection(lastOnly: lastOnly, includeBOS: includeBOS)
        let positive = try meanActivation(
            model, inputs.positivePrompts, site: inputs.site, selection: selection, batchSize: batchSize,
            set: "positive")
        let negative = try meanActivation(
            model, inputs.negativePrompts, site: inputs.site, selection: selection, batchSize: batchSize,
            set: "negative")
        let difference = zip(positive, negative).map { Float($0 - $1) }
        try Vector.checkFinite(difference, "CAA difference of means")
        let values =
            normalize
            ? try EffectGeometry.unit(difference, "the difference of mean activations", strategy: name) : difference
        return SteeringVector(
            values: values, site: inputs.site,
            provenance: Provenance.make(
                strategy: self, site: inputs.site, options: reader.resolved,
                extra: [
                    "positivePrompts": String(inputs.positivePrompts.count),
                    "negativePrompts": String(inputs.negativePrompts.count),
                ]))
    }

    /// `(1/|S|)·Σ_{p∈S} mean(activations of p at the selected positions)`, in Double.
    private func meanActivation(
        _ model: any ModelBackend, _ prompts: [String], site: ActivationSite, selection: PositionSelection,
        batchSize: Int, set: String
    ) throws -> [Double] {
        let width = model.descriptor.hiddenSize
        var total = [Double](repeating: 0, count: width)
        let encoded = prompts.map { model.encode($0, addBOS: true) }
        var start = 0
        while start < encoded.count {
            let end = min(start + batchSize, encoded.count)
            let activations = try model.activations(at: site, sequences: Array(encoded[start..<end]))
            guard activations.count == end - start else {
                throw SteeringError.shapeMismatch(
                    what: "activations from \(model.descriptor.name) at \(site)",
                    expected: "\(end - start) sequences", got: "\(activations.count)")
            }
            for (offset, matrix) in activations.enumerated() {
                let positions = selection.positions(count: matrix.rows)
                guard !positions.isEmpty else {
                    throw SteeringError.invalidArgument(
                        what: "\(set) prompt \(start + offset) (\"\(prompts[start + offset])\") for strategy '\(name)'",
                        problem: "it encodes to \(matrix.rows) token(s), leaving no position to average with "
                            + "bos=false; give a non-empty prompt")
                }
                let weight = 1 / Double(positions.count)
                for position in positions {
                    for c in 0..<width { total[c] += weight * Double(matrix[position, c]) }
                }
            }
            start = end
        }
        return total.map { $0 / Double(prompts.count) }
    }
}

/// Which positions of a prompt enter its mean.
struct PositionSelection {
    var lastOnly: Bool
    var includeBOS: Bool

    /// The positions of a prompt of `count` tokens (position 0 is BOS).
    func positions(count: Int) -> Range<Int> {
        let first = includeBOS ? 0 : 1
        guard count > first else { return 0..<0 }
        return lastOnly ? (count - 1)..<count : first..<count
    }
}
