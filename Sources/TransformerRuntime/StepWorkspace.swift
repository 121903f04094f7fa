/// Scratch memory of a forward step: one buffer per role, grown on demand and reused by every step
/// of one call (so decoding allocates nothing per token). Not thread-safe: one per call.
public final class StepWorkspace {
    /// The role of a buffer. Models use the roles that fit their arithmetic; `extra0…3` are free for
    /// model-specific needs (a second rotary table, say).
    public enum Slot: Int, CaseIterable, Sendable {
        case residual, normed, query, key, value, attention, blockOutput, gate, up, cosine, sine, scores, scratch,
            logitRows, logits, extra0, extra1, extra2, extra3
    }

    private var buffers = [UnsafeMutablePointer<Float>?](repeating: nil, count: Slot.allCases.count)
    private var capacities = [Int](repeating: 0, count: Slot.allCases.count)

    public init() {}

    /// At least `count` floats for `slot`, uninitialised: callers write before they read.
    public func buffer(_ slot: Slot, _ count: Int) -> UnsafeMutablePointer<Float> {
        let i = slot.rawValue
        if let existing = buffers[i], capacities[i] >= count { return existing }
        buffers[i]?.deallocate()
        let capacity = max(count, 16)
        let fresh = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
        buffers[i] = fresh
        capacities[i] = capacity
        return fresh
    }

    deinit { for buffer in buffers { buffer?.deallocate() } }
}
