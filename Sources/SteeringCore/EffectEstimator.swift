/// The linear effect model ŷ = x̂·M + b, with x̂ = x/‖x‖ (the method's estimator form).
public struct LinearEffectModel: Sendable, Equatable {
    /// `M`, `[inputWidth, outputWidth]` (the authors' `W`, `[d_model, d_sae]`).
    public var weight: Matrix
    /// `b`, `outputWidth` values.
    public var bias: [Float]

    public init(weight: Matrix, bias: [Float]) {
        precondition(
            bias.count == weight.columns, "bias has \(bias.count) values, weight has \(weight.columns) columns")
        self.weight = weight
        self.bias = bias
    }

    /// `d_model`.
    public var inputWidth: Int { weight.rows }
    /// `d_sae`.
    public var outputWidth: Int { weight.columns }
}

/// A dataset of (steering vector, measured effect) pairs, read in chunks so large sets need not fit in memory.
public protocol EffectDataSource: Sendable {
    /// Number of pairs.
    var count: Int { get }
    /// Width of each input vector (`d_model`).
    var inputWidth: Int { get }
    /// Width of each effect vector (`d_sae`).
    var outputWidth: Int { get }
    /// Content digest of the whole dataset; enters estimator recipes.
    var digest: ContentDigest { get }
    /// Inputs and effects for `rows` (ascending, in range), as `[rows.count, inputWidth]` and
    /// `[rows.count, outputWidth]`.
    func read(rows: [Int]) throws -> (inputs: Matrix, effects: Matrix)
}

extension EffectDataSource {
    /// Visits `rows` in chunks of at most `chunkSize`.
    public func forEachChunk(
        of rows: [Int], chunkSize: Int,
        _ body: (_ rows: ArraySlice<Int>, _ inputs: Matrix, _ effects: Matrix) throws -> Void
    ) throws {
        precondition(chunkSize > 0, "chunkSize must be positive")
        var start = 0
        while start < rows.count {
            let end = min(start + chunkSize, rows.count)
            let slice = rows[start..<end]
            let (x, y) = try read(rows: Array(slice))
            try body(slice, x, y)
            start = end
        }
    }
}

/// Fits a ``LinearEffectModel`` to an effect dataset.
public protocol EffectEstimator: Sendable {
    /// Registry name (`ridge`, `linear-adam`).
    var name: String { get }
    /// Bumped when the fit's output changes for the same parameters.
    var version: Int { get }
    /// Every hyper-parameter, recorded in the estimator artifact's recipe.
    var parameters: [String: RecipeValue] { get }
    /// Fits on the pairs with indices `rows` of `data` (inputs are normalised to unit length inside).
    /// - Throws: ``SteeringError`` for too few samples, non-finite data or inconsistent widths.
    func fit(_ data: any EffectDataSource, rows: [Int], progress: ProgressReporter?) throws -> LinearEffectModel
    /// How far ``fit(_:rows:progress:)`` advances its progress reporter on `trainingRows` rows, and in what unit
    /// (for sizing a progress bar). Default: the rows, in "rows".
    func progressTotal(trainingRows: Int) -> (total: Int, unit: String)
}

extension EffectEstimator {
    /// The rows, in "rows" (an estimator that reports optimiser steps says so by implementing it).
    public func progressTotal(trainingRows: Int) -> (total: Int, unit: String) { (trainingRows, "rows") }
}
