/// The seeded generator behind every random choice an estimator makes (initial weights, batch order).
///
/// SplitMix64: small, fast and identical on every platform, so a recipe's `seed` pins the result.
struct EstimatorRandom: RandomNumberGenerator {
    private var state: UInt64

    /// A generator whose whole stream is fixed by `seed`.
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform `Float` in `[0, 1)` with 24 random bits.
    mutating func unitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A uniform random permutation of `0..<count` (Fisher–Yates, drawing indices from this stream).
    mutating func permutation(_ count: Int) -> [Int] {
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
