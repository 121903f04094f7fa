import SteeringNumerics
import SteeringCore

/// The sufficient statistics of a set of rows for ridge regression with an unpenalised bias, over the
/// augmented inputs `a = [x̂, 1]`:
///
/// - `gram = Σ aᵀa`, `(d+1) × (d+1)` (its last row holds `Σ x̂` and the row count);
/// - `cross = Σ aᵀy`, `(d+1) × s` (its last row holds `Σ y`);
/// - `effectSquares = Σ y²` per output.
///
/// Every chunk's products are computed by BLAS in Float (sums of at most `chunkRows` terms) and added
/// into Double accumulators, so the error does not grow with the number of rows.
package struct RidgeStatistics: Sendable {
    /// `d`.
    package let inputWidth: Int
    /// `s`.
    package let outputWidth: Int
    /// Rows added.
    package private(set) var count = 0
    /// `Σ aᵀa`, row-major `(d+1) × (d+1)`.
    package private(set) var gram: [Double]
    /// `Σ aᵀy`, row-major `(d+1) × s`.
    package private(set) var cross: [Double]
    /// `Σ y²` per output.
    package private(set) var effectSquares: [Double]

    /// Empty statistics.
    package init(inputWidth: Int, outputWidth: Int) {
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        gram = [Double](repeating: 0, count: (inputWidth + 1) * (inputWidth + 1))
        cross = [Double](repeating: 0, count: (inputWidth + 1) * outputWidth)
        effectSquares = [Double](repeating: 0, count: outputWidth)
    }

    /// `Σ x̂` (the last row of ``gram``).
    package var inputSums: ArraySlice<Double> { gram[inputWidth * (inputWidth + 1)..<(inputWidth * (inputWidth + 2))] }

    /// `Σ y` (the last row of ``cross``).
    package var effectSums: ArraySlice<Double> { cross[inputWidth * outputWidth..<((inputWidth + 1) * outputWidth)] }

    /// Adds rows: `inputs` already normalised, `[m, d]`, and `effects` `[m, s]`.
    package mutating func add(inputs: Matrix, effects: Matrix, scratch: inout RidgeScratch) {
        precondition(
            inputs.columns == inputWidth && effects.columns == outputWidth && inputs.rows == effects.rows,
            "RidgeStatistics.add: inputs \(inputs.shape), effects \(effects.shape), widths \(inputWidth)/\(outputWidth)"
        )
        let m = inputs.rows, d = inputWidth, s = outputWidth, a = d + 1
        guard m > 0 else { return }
        scratch.prepare(rows: m, inputWidth: d, outputWidth: s)
        scratch.augmented.withUnsafeMutableBufferPointer { aug in
            inputs.values.withUnsafeBufferPointer { x in
                for r in 0..<m {
                    for c in 0..<d { aug[r * a + c] = x[r * d + c] }
                    aug[r * a + d] = 1
                }
            }
        }
        scratch.augmented.withUnsafeBufferPointer { aug in
            scratch.gramChunk.withUnsafeMutableBufferPointer { g in
                sgemm(
                    .transpose, .none, m: a, n: a, k: m, a: aug.baseAddress!, lda: a, b: aug.baseAddress!, ldb: a,
                    c: g.baseAddress!, ldc: a)
            }
            effects.values.withUnsafeBufferPointer { y in
                scratch.crossChunk.withUnsafeMutableBufferPointer { c in
                    sgemm(
                        .transpose, .none, m: a, n: s, k: m, a: aug.baseAddress!, lda: a, b: y.baseAddress!, ldb: s,
                        c: c.baseAddress!, ldc: s)
                }
            }
        }
        Self.accumulate(scratch.gramChunk, into: &gram)
        Self.accumulate(scratch.crossChunk, into: &cross)
        effects.values.withUnsafeBufferPointer { y in
            effectSquares.withUnsafeMutableBufferPointer { q in
                for r in 0..<m {
                    for c in 0..<s {
                        let value = Double(y[r * s + c])
                        q[c] += value * value
                    }
                }
            }
        }
        count += m
    }

    /// Adds another set's statistics (the union of the two row sets).
    package mutating func add(_ other: RidgeStatistics) {
        precondition(other.inputWidth == inputWidth && other.outputWidth == outputWidth, "RidgeStatistics widths")
        count += other.count
        Self.accumulate(other.gram, into: &gram)
        Self.accumulate(other.cross, into: &cross)
        Self.accumulate(other.effectSquares, into: &effectSquares)
    }

    private static func accumulate(_ source: [Float], into target: inout [Double]) {
        source.withUnsafeBufferPointer { s in
            target.withUnsafeMutableBufferPointer { t in
                for i in 0..<t.count { t[i] += Double(s[i]) }
            }
        }
    }

    private static func accumulate(_ source: [Double], into target: inout [Double]) {
        source.withUnsafeBufferPointer { s in
            target.withUnsafeMutableBufferPointer { t in
                for i in 0..<t.count { t[i] += s[i] }
            }
        }
    }
}

/// Float work buffers reused across chunks, so streaming allocates once.
package struct RidgeScratch {
    var augmented: [Float] = []
    var gramChunk: [Float] = []
    var crossChunk: [Float] = []

    /// Empty buffers; they grow on first use.
    package init() {}

    mutating func prepare(rows: Int, inputWidth d: Int, outputWidth s: Int) {
        let a = d + 1
        if augmented.count < rows * a { augmented = [Float](repeating: 0, count: rows * a) }
        if gramChunk.count != a * a { gramChunk = [Float](repeating: 0, count: a * a) }
        if crossChunk.count != a * s { crossChunk = [Float](repeating: 0, count: a * s) }
    }
}
