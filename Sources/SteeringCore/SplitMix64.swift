import Foundation

/// The one seeded generator of the framework (SplitMix64): token sampling, estimator initialisation and
/// batch order, synthetic datasets and test data all draw from it, so a seed means the same stream
/// everywhere and results depend only on the seed (and the row index), never on batching or thread timing.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose whole stream is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// A generator for row `row` of a batch sampled with `seed`.
    public init(seed: UInt64, row: Int) {
        var mixer = SplitMix64(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B)
        for _ in 0...(row % 4) { _ = mixer.next() }
        state = mixer.next() &+ UInt64(truncatingIfNeeded: row) &* 0x9E37_79B9_7F4A_7C15
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform `Float` in `[0, 1)` with 24 random bits.
    public mutating func unitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A standard normal sample (Box–Muller from two 53-bit uniforms; uses two draws).
    public mutating func normal() -> Float {
        let u1 = max(nextUnit(), 1e-300)
        let u2 = nextUnit()
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// A uniform random permutation of `0..<count` (Fisher–Yates from the last index down).
    public mutating func permutation(_ count: Int) -> [Int] {
        var order = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = Int(next() % UInt64(i + 1))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }
}
