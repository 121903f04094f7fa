public import SteeringCore

/// How a dataset is split into training and held-out rows: the held-out rows are the last
/// ``validationSize`` rows, as in the authors' training script (method.md §4: the last 100 of 50,000).
public struct EffectDataSplit: Sendable, Hashable, Codable {
    /// Number of trailing rows held out (0: train on everything, no diagnostics).
    public var validationSize: Int

    /// The authors' split: the last 100 rows are held out.
    public init(validationSize: Int = 100) { self.validationSize = validationSize }

    /// The training rows (`0..<count−v`) and the held-out rows (`count−v..<count`).
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` when `validationSize` is negative or leaves
    ///   no training row.
    public func partition(count: Int) throws(PipelineError) -> (training: [Int], validation: [Int]) {
        guard validationSize >= 0 else {
            throw .invalidInput(what: "validation size \(validationSize)", problem: "it must be ≥ 0")
        }
        guard validationSize < count else {
            throw .invalidInput(
                what: "validation size \(validationSize)",
                problem: "the dataset has only \(count) rows, so no training row would remain; use a smaller value")
        }
        return (Array(0..<(count - validationSize)), Array((count - validationSize)..<count))
    }

    /// The split as recipe parameters (prefixed `split-` so they cannot collide with an estimator's).
    public var parameters: [String: RecipeValue] {
        ["split-validation": "last", "split-validation-size": .int(validationSize)]
    }
}
