/// Keys and values (after RoPE) of every processed position, per layer and sequence, preallocated
/// to each sequence's final length so decoding never reallocates.
public final class KVCache {
    /// `keys[layer][sequence]` holds `capacity[sequence] × width` floats.
    public private(set) var keys: [[UnsafeMutablePointer<Float>]]
    public private(set) var values: [[UnsafeMutablePointer<Float>]]
    /// Positions already processed per sequence.
    public var lengths: [Int]
    /// Positions each sequence can hold.
    public let capacities: [Int]
    /// `num_key_value_heads × head_dim`.
    public let width: Int

    /// Zeroed caches for `layerCount` layers and one sequence per capacity.
    public init(layerCount: Int, width: Int, capacities: [Int]) {
        self.width = width
        self.capacities = capacities
        self.lengths = [Int](repeating: 0, count: capacities.count)
        func allocate() -> [[UnsafeMutablePointer<Float>]] {
            (0..<layerCount).map { _ in
                capacities.map { capacity in
                    let p = UnsafeMutablePointer<Float>.allocate(capacity: max(capacity * width, 1))
                    p.initialize(repeating: 0, count: max(capacity * width, 1))
                    return p
                }
            }
        }
        keys = allocate()
        values = allocate()
    }

    deinit {
        for layer in keys { for p in layer { p.deallocate() } }
        for layer in values { for p in layer { p.deallocate() } }
    }
}
