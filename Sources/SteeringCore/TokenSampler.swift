import Foundation

/// Chooses the next token from final logits according to a ``SamplingConfig``.
///
/// Semantics (see Docs/Sampling.md): greedy is argmax with the first index winning ties. Otherwise
/// the logits are divided by the temperature; top-k keeps every token whose score is ≥ the k-th
/// largest (ties kept, as in Hugging Face); top-p keeps the smallest set of highest-probability
/// tokens whose mass reaches `topP` (the boundary token included). In ``SamplingConfig/Mode/transformerLens``
/// mode, top-p is ignored whenever top-k is set. The draw is a single uniform number against the
/// cumulative distribution of the kept tokens, in descending score order.
public struct TokenSampler: Sendable {
    public let config: SamplingConfig

    public init(config: SamplingConfig) { self.config = config }

    /// The next token for one row of logits.
    public func sample(_ logits: UnsafeBufferPointer<Float>, generator: inout SplitMix64) -> Int32 {
        if config.isGreedy { return Int32(Self.argmax(logits)) }
        let inverseTemperature = 1 / config.temperature
        let useTopK = config.topK > 0 && config.topK < logits.count
        let useTopP = config.topP < 1 && !(config.mode == .transformerLens && config.topK > 0)
        // Candidates: (index, scaled score), sorted descending by score then ascending index.
        var candidates: [(index: Int, score: Float)]
        if useTopK {
            let threshold = Self.kthLargest(logits, k: config.topK)
            candidates = []
            candidates.reserveCapacity(config.topK + 8)
            for i in 0..<logits.count where logits[i] >= threshold {
                candidates.append((i, logits[i] * inverseTemperature))
            }
        } else {
            candidates = (0..<logits.count).map { ($0, logits[$0] * inverseTemperature) }
        }
        candidates.sort { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
        guard let top = candidates.first else { return 0 }
        var probabilities = candidates.map { Double(Foundation.exp(Double($0.score - top.score))) }
        var total = probabilities.reduce(0, +)
        if useTopP {
            var mass = 0.0
            var keep = candidates.count
            for (i, p) in probabilities.enumerated() {
                mass += p / total
                if mass >= Double(config.topP) {
                    keep = i + 1
                    break
                }
            }
            probabilities.removeSubrange(keep...)
            total = probabilities.reduce(0, +)
        }
        let u = generator.nextUnit() * total
        var cumulative = 0.0
        for (i, p) in probabilities.enumerated() {
            cumulative += p
            if u < cumulative { return Int32(candidates[i].index) }
        }
        return Int32(candidates[probabilities.count - 1].index)
    }

    /// Index of the largest value; the first one on ties.
    public static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<values.count where values[i] > bestValue {
            bestValue = values[i]
            best = i
        }
        return best
    }

    /// The k-th largest value (1-based), by a bounded min-heap — no full sort of the vocabulary.
    public static func kthLargest(_ values: UnsafeBufferPointer<Float>, k: Int) -> Float {
        precondition(k > 0 && k <= values.count, "kthLargest: k = \(k) for \(values.count) values")
        // A min-heap of the k largest values so far, whose root is the running k-th largest. Most
        // values of a long row fall below the root, so the scan is one comparison per value against
        // a local copy of it (the heap lives in a raw buffer: no captured array in the loop).
        let heap = UnsafeMutableBufferPointer<Float>.allocate(capacity: k)
        defer { heap.deallocate() }
        for i in 0..<k {
            heap[i] = values[i]
            var child = i
            while child > 0 {
                let parent = (child - 1) / 2
                if heap[parent] <= heap[child] { break }
                heap.swapAt(parent, child)
                child = parent
            }
        }
        var root = heap[0]
        var index = k
        while index < values.count {
            let v = values[index]
            if v > root {
                heap[0] = v
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var smallest = i
                    if l < k && heap[l] < heap[smallest] { smallest = l }
                    if r < k && heap[r] < heap[smallest] { smallest = r }
                    if smallest == i { break }
                    heap.swapAt(i, smallest)
                    i = smallest
                }
                root = heap[0]
            }
            index += 1
        }
        return root
    }
}
