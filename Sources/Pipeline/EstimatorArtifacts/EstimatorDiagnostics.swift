public import SteeringCore

/// How well an effect model predicts held-out effects.
///
/// - `meanSquaredError`: mean over rows and outputs of `(ŷ − y)²` (the training loss).
/// - `rSquared`: `1 − SSE/SST` over all outputs, where `SST = Σⱼ Σᵢ (yᵢⱼ − ȳⱼ)²` uses each feature's own
///   held-out mean.
/// - `featureRSquared`: the same per feature (`nil` where the feature is constant on the held-out rows).
/// - `cosine`: per row, the cosine between predicted and measured effect vectors.
/// - `topKOverlap`: per row, `|top-k(ŷ) ∩ top-k(y)| / k` with the k largest values (ties: lower index).
public struct EstimatorDiagnostics: Sendable, Codable, Equatable {
    /// Held-out rows evaluated.
    public var rows: Int
    /// Mean of `(ŷ − y)²` over rows and outputs.
    public var meanSquaredError: Double
    /// `1 − SSE/SST` over all outputs (per-feature means).
    public var rSquared: Double
    /// R² per feature; `nil` where the feature is constant on the held-out rows.
    public var featureRSquared: [Double?]
    /// Summary of ``featureRSquared`` over the non-constant features.
    public var featureRSquaredSummary: DistributionSummary?
    /// Cosine between predicted and measured effect vectors, over rows.
    public var cosine: DistributionSummary
    /// `k` of the overlap.
    public var topK: Int
    /// `|top-k(ŷ) ∩ top-k(y)| / k`, over rows.
    public var topKOverlap: DistributionSummary

    /// Evaluates `model` on `rows` of `data`, streaming `chunkRows` rows at a time. Inputs are normalised
    /// to unit length, as in training.
    /// - Throws: ``SteeringError`` for no rows, widths that differ from the model's, non-finite values or an
    ///   all-zero input; errors of the data source.
    public static func evaluate(
        _ model: LinearEffectModel, on data: any EffectDataSource, rows: [Int], topK: Int = 10, chunkRows: Int = 256
    ) throws -> EstimatorDiagnostics {
        guard !rows.isEmpty else {
            throw SteeringError.invalidArgument(what: "held-out rows", problem: "there are none to evaluate on")
        }
        guard model.inputWidth == data.inputWidth, model.outputWidth == data.outputWidth else {
            throw SteeringError.shapeMismatch(
                what: "estimator vs dataset", expected: "[\(data.inputWidth), \(data.outputWidth)]",
                got: "[\(model.inputWidth), \(model.outputWidth)]")
        }
        guard topK >= 1 else { throw SteeringError.invalidArgument(what: "top-k \(topK)", problem: "must be ≥ 1") }
        let s = data.outputWidth, k = min(topK, s)
        var sums = [Double](repeating: 0, count: s), squares = sums, errors = sums
        var cosines: [Double] = [], overlaps: [Double] = []
        try data.forEachChunk(of: rows.sorted(), chunkSize: max(1, chunkRows)) { chunkRows, rawInputs, effects in
            let rowList = Array(chunkRows)
            guard rawInputs.shape == [rowList.count, data.inputWidth], effects.shape == [rowList.count, s] else {
                throw SteeringError.shapeMismatch(
                    what: "rows read from the dataset", expected: "[\(rowList.count), \(data.inputWidth) + \(s)]",
                    got: "\(rawInputs.shape) + \(effects.shape)")
            }
            var inputs = rawInputs
            try checkAndNormalise(&inputs, effects: effects, rows: rowList)
            var predicted = inputs.matmul(model.weight)
            predicted.addRowVector(model.bias)
            for r in 0..<rowList.count {
                let y = effects.row(r), p = predicted.row(r)
                for j in 0..<s {
                    let value = Double(y[j]), difference = Double(p[j]) - value
                    sums[j] += value
                    squares[j] += value * value
                    errors[j] += difference * difference
                }
                cosines.append(Double(Vector.cosine(p, y)))
                overlaps.append(Double(topIndices(p, k).intersection(topIndices(y, k)).count) / Double(k))
            }
        }
        let n = Double(rows.count)
        var sse = 0.0, sst = 0.0
        var perFeature: [Double?] = []
        perFeature.reserveCapacity(s)
        for j in 0..<s {
            let total = max(0, squares[j] - sums[j] * sums[j] / n)
            sse += errors[j]
            sst += total
            perFeature.append(total > 0 ? 1 - errors[j] / total : nil)
        }
        return EstimatorDiagnostics(
            rows: rows.count, meanSquaredError: sse / (n * Double(s)), rSquared: sst > 0 ? 1 - sse / sst : 0,
            featureRSquared: perFeature, featureRSquaredSummary: DistributionSummary(perFeature.compactMap { $0 }),
            cosine: DistributionSummary(cosines)!, topK: k, topKOverlap: DistributionSummary(overlaps)!)
    }

    /// Indices of the `k` largest values (ties: lower index first).
    static func topIndices(_ values: [Float], _ k: Int) -> Set<Int> {
        let order = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        return Set(order.prefix(k))
    }

    private static func checkAndNormalise(_ inputs: inout Matrix, effects: Matrix, rows: [Int]) throws {
        let d = inputs.columns
        try Vector.checkFinite(effects.values, "held-out effects (rows \(rows.first!)…\(rows.last!))")
        for r in 0..<inputs.rows {
            let row = inputs.row(r)
            try Vector.checkFinite(row, "input vector of dataset row \(rows[r])")
            let norm = Vector.norm(row)
            guard norm > 0 else {
                throw SteeringError.invalidArgument(
                    what: "input vector of dataset row \(rows[r])", problem: "it is all zeros; remove the row")
            }
            for c in 0..<d { inputs[r, c] = row[c] / norm }
        }
    }
}
