/// Keys and values (after RoPE) of every processed position, per layer and sequence, preallocated
/// to each sequence's final length so decoding never reallocates. Sequences can be added and
/// removed between steps (``addSequence(capacity:)``, ``removeSequence(_:)``), as a server's rows
/// join and leave.
public final class KVCache {
    /// `keys[layer][sequence]` holds `capacity[sequence] × width` floats.
    public private(set) var keys: [[UnsafeMutablePointer<Float>]]
    public private(set) var values: [[UnsafeMutablePointer<Float>]]
    /// Positions already processed per sequence.
    public var lengths: [Int]
    /// Positions each sequence can hold (0 for a removed sequence).
    public private(set) var capacities: [Int]
    /// Indices of removed sequences, reused by ``addSequence(capacity:)``.
    private var freeSequences: [Int] = []
    /// `num_key_value_heads × head_dim`.
    public let width: Int

    /// Zeroed caches for `layerCount` layers and one sequence per capacity. Layers below
    /// `firstLayer` get no memory (for steps that start above them, ``StepOptions/firstLayer``).
    public init(layerCount: Int, width: Int, capacities: [Int], firstLayer: Int = 0) {
        self.width = width
        self.capacities = capacities
        self.lengths = [Int](repeating: 0, count: capacities.count)
        func allocate() -> [[UnsafeMutablePointer<Float>]] {
            (0..<layerCount).map { layer in
                capacities.map { capacity in
                    let count = layer < firstLayer ? 1 : max(capacity * width, 1)
                    let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
                    p.initialize(repeating: 0, count: count)
                    return p
                }
            }
        }
        keys = allocate()
        values = allocate()
    }

    /// Adds a zeroed sequence of `capacity` positions (reusing a removed sequence's index when there
    /// is one) and returns its index.
    public func addSequence(capacity: Int) -> Int {
        let count = max(capacity * width, 1)
        func allocate() -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            return p
        }
        if let index = freeSequences.popLast() {
            for layer in keys.indices {
                keys[layer][index].deallocate()
                values[layer][index].deallocate()
                keys[layer][index] = allocate()
                values[layer][index] = allocate()
            }
            capacities[index] = capacity
            lengths[index] = 0
            return index
        }
        for layer in keys.indices {
            keys[layer].append(allocate())
            values[layer].append(allocate())
        }
        capacities.append(capacity)
        lengths.append(0)
        return capacities.count - 1
    }

    /// Frees sequence `index`'s memory; its index is reused by a later ``addSequence(capacity:)``.
    public func removeSequence(_ index: Int) {
        guard capacities.indices.contains(index), !freeSequences.contains(index) else { return }
        for layer in keys.indices {
            keys[layer][index].deallocate()
            values[layer][index].deallocate()
            keys[layer][index] = .allocate(capacity: 1)
            values[layer][index] = .allocate(capacity: 1)
        }
        capacities[index] = 0
        lengths[index] = 0
        freeSequences.append(index)
    }

    deinit {
        for layer in keys { for p in layer { p.deallocate() } }
        for layer in values { for p in layer { p.deallocate() } }
    }
}
