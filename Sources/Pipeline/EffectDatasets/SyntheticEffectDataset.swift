import Foundation
public import SteeringCore
import SteeringNumerics

/// A deterministic synthetic effect dataset generated on demand, for benchmarks and tests at sizes that
/// need not fit in memory.
///
/// Row `i` has input `x` with standard normal entries and effect `y = x̂·U·V + b₀ + noise·ε`, where
/// `U` `[d_model, rank]` and `V` `[rank, d_sae]` are fixed normal matrices (so the true map `M = U·V`
/// has rank `rank`), `b₀` is a fixed offset and `ε` is uniform in `[−√3, √3]` (unit variance).
/// Every row is a function of `(seed, i)` only, so any subset can be read in any order.
public struct SyntheticEffectDataset: EffectDataSource {
    /// Number of rows.
    public let count: Int
    /// `d_model`.
    public let inputWidth: Int
    /// `d_sae`.
    public let outputWidth: Int
    /// Rank of the true linear map.
    public let rank: Int
    /// Standard deviation of the additive noise.
    public let noise: Float
    /// Seed of every random quantity.
    public let seed: UInt64
    /// `U`, `[d_model, rank]`, scaled by `1/√rank`.
    public let left: Matrix
    /// `V`, `[rank, d_sae]`.
    public let right: Matrix
    /// `b₀`.
    public let offset: [Float]

    /// A dataset of `count` rows.
    public init(count: Int, inputWidth: Int, outputWidth: Int, rank: Int = 16, noise: Float = 0.1, seed: UInt64 = 0) {
        precondition(
            count > 0 && inputWidth > 0 && outputWidth > 0 && rank > 0, "synthetic dataset sizes must be positive")
        self.count = count
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        self.rank = rank
        self.noise = noise
        self.seed = seed
        var random = SplitMix64(seed: seed ^ 0x5EED_0F_EFFEC7)
        let scale = 1 / Float(rank).squareRoot()
        left = Matrix(
            rows: inputWidth, columns: rank, values: (0..<(inputWidth * rank)).map { _ in random.normal() * scale })
        right = Matrix(
            rows: rank, columns: outputWidth, values: (0..<(rank * outputWidth)).map { _ in random.normal() })
        offset = (0..<outputWidth).map { _ in random.normal() * 0.1 }
    }

    /// `M = U·V`, the map the effects are generated from (`[d_model, d_sae]`; materialises it).
    public var trueWeight: Matrix { left.matmul(right) }

    /// A digest of the generator settings (count, widths, rank, noise, seed).
    public var digest: ContentDigest {
        ContentDigest(
            ofString: "synthetic-effect-dataset-v1:\(count):\(inputWidth):\(outputWidth):\(rank):\(noise):\(seed)")
    }

    /// Generates `rows` (ascending, in range).
    public func read(rows: [Int]) throws -> (inputs: Matrix, effects: Matrix) {
        try EffectRowSelection.validate(rows, count: count, source: "the synthetic effect dataset")
        var inputs = Matrix(rows: rows.count, columns: inputWidth)
        var unit = Matrix(rows: rows.count, columns: inputWidth)
        var noiseValues = Matrix(rows: rows.count, columns: outputWidth)
        for (index, row) in rows.enumerated() {
            var random = SplitMix64(seed: seed &+ UInt64(row) &* 0x9E37_79B9_7F4A_7C15)
            var sum = 0.0
            for c in 0..<inputWidth {
                let value = random.normal()
                inputs[index, c] = value
                sum += Double(value) * Double(value)
            }
            let norm = Float(sum.squareRoot())
            for c in 0..<inputWidth { unit[index, c] = inputs[index, c] / norm }
            if noise > 0 {
                let amplitude = noise * Float(3).squareRoot()
                noiseValues.values.withUnsafeMutableBufferPointer { n in
                    for c in 0..<outputWidth { n[index * outputWidth + c] = (2 * random.unitFloat() - 1) * amplitude }
                }
            }
        }
        var effects = unit.matmul(left).matmul(right)
        effects.addRowVector(offset)
        if noise > 0 {
            effects.values.withUnsafeMutableBufferPointer { e in
                noiseValues.values.withUnsafeBufferPointer { n in
                    for i in 0..<e.count { e[i] += n[i] }
                }
            }
        }
        return (inputs, effects)
    }
}
