import SteeringCore

/// Hyper-parameters of ``MeanEffectEstimator``: none; the estimator is fully defined by its data.
public struct MeanEffectConfiguration: EstimatorConfiguration {
    public init() {}

    /// Refuses any option: this estimator has none.
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` naming the first option given.
    public init(options: [String: String]) throws(SteeringError) {
        _ = try EstimatorOptionReader(estimator: MeanEffectEstimator.registryName, values: options, known: [])
    }

    public func validate() throws(SteeringError) {}

    /// What the fit computes, spelled out so the recipe alone says it.
    public var parameters: [String: RecipeValue] { ["predictor": "training-mean-effect", "weight": "zero"] }
}

/// The b-only predictor, the floor every effect map must beat: `ŷ = b` with `b` the mean effect of the
/// training rows and `M = 0`, so every steering vector is predicted to do the same thing. Steering
/// vectors share a large common effect (any push off the residual manifold raises some features), so
/// this floor is high on cosine; an estimator earns its map only by beating it on held-out rows.
public struct MeanEffectEstimator: ConfiguredEstimator {
    /// The name this estimator is registered under.
    public static let registryName = "mean-effect"

    /// Nothing to configure.
    public let configuration: MeanEffectConfiguration

    public init(configuration: MeanEffectConfiguration = MeanEffectConfiguration()) {
        self.configuration = configuration
    }

    /// The mean effect of `rows` (read 1,024 rows at a time) as `b`, with `M = 0`.
    /// - Throws: ``SteeringError`` for no rows, repeated or out-of-range rows, widths that disagree with
    ///   the data source or non-finite values; errors of the data source.
    public func fit(_ data: any EffectDataSource, rows: [Int], progress: ProgressReporter?) throws
        -> LinearEffectModel
    {
        try EstimatorInput.validate(rows: rows, of: data, estimator: name, minimum: 1)
        let s = data.outputWidth
        var sums = [Double](repeating: 0, count: s)
        try data.forEachChunk(of: rows.sorted(), chunkSize: 1024) { chunk, _, effects in
            guard effects.rows == chunk.count, effects.columns == s else {
                throw SteeringError.shapeMismatch(
                    what: "effects read from the dataset", expected: "[\(chunk.count), \(s)]", got: "\(effects.shape)")
            }
            for (r, row) in chunk.enumerated() {
                let values = effects.row(r)
                for c in 0..<s {
                    guard values[c].isFinite else {
                        throw SteeringError.invalidArgument(
                            what: "effect dataset row \(row), feature \(c)", problem: "value \(values[c]) is not finite"
                        )
                    }
                    sums[c] += Double(values[c])
                }
                progress?.advance()
            }
        }
        progress?.finish()
        let bias = sums.map { Float($0 / Double(rows.count)) }
        return LinearEffectModel(weight: Matrix(rows: data.inputWidth, columns: s), bias: bias)
    }
}
