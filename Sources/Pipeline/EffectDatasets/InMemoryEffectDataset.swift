public import SteeringCore

/// An effect dataset held in two matrices: inputs `[N, d_model]` and effects `[N, d_sae]`.
public struct InMemoryEffectDataset: EffectDataSource {
    /// The steering vectors, one per row.
    public let inputs: Matrix
    /// The measured effects, one per row.
    public let effects: Matrix
    /// The dataset digest (enters estimator recipes).
    public let digest: ContentDigest

    /// Wraps two matrices with the same number of rows. The digest covers both shapes and every value.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` when the row counts differ.
    public init(inputs: Matrix, effects: Matrix) throws(PipelineError) {
        try self.init(inputs: inputs, effects: effects, digest: Self.contentDigest(inputs: inputs, effects: effects))
    }

    /// Wraps two matrices under a digest the caller vouches for (e.g. the key of the stored original).
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` when the row counts differ.
    public init(inputs: Matrix, effects: Matrix, digest: ContentDigest) throws(PipelineError) {
        guard inputs.rows == effects.rows else {
            throw .invalidInput(
                what: "in-memory effect dataset",
                problem: "inputs have \(inputs.rows) rows but effects have \(effects.rows); give one effect per input")
        }
        self.inputs = inputs
        self.effects = effects
        self.digest = digest
    }

    /// Number of rows.
    public var count: Int { inputs.rows }
    /// `d_model`.
    public var inputWidth: Int { inputs.columns }
    /// `d_sae`.
    public var outputWidth: Int { effects.columns }

    /// Copies of `rows` (ascending, in range).
    public func read(rows: [Int]) throws -> (inputs: Matrix, effects: Matrix) {
        try EffectRowSelection.validate(rows, count: count, source: "the in-memory effect dataset")
        return (Self.gather(inputs, rows), Self.gather(effects, rows))
    }

    /// SHA-256 over a version tag, both shapes and all values (little-endian float32).
    public static func contentDigest(inputs: Matrix, effects: Matrix) -> ContentDigest {
        var builder = DigestBuilder()
        builder.update(field: "in-memory-effect-dataset-v1")
        builder.update(field: "\(inputs.rows),\(inputs.columns),\(effects.rows),\(effects.columns)")
        inputs.values.withUnsafeBytes { builder.update($0) }
        effects.values.withUnsafeBytes { builder.update($0) }
        return builder.finalize()
    }

    static func gather(_ matrix: Matrix, _ rows: [Int]) -> Matrix {
        let width = matrix.columns
        var out = Matrix(rows: rows.count, columns: width)
        out.values.withUnsafeMutableBufferPointer { destination in
            matrix.values.withUnsafeBufferPointer { source in
                for (index, row) in rows.enumerated() {
                    (destination.baseAddress! + index * width).update(
                        from: source.baseAddress! + row * width, count: width)
                }
            }
        }
        return out
    }
}
