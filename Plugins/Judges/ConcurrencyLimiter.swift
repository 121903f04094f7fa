/// An asynchronous counting semaphore: at most `limit` holders at once; the others wait in FIFO
/// order without blocking a thread.
actor ConcurrencyLimiter {
    private let limit: Int
    private var holders = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        precondition(limit > 0, "ConcurrencyLimiter needs a positive limit, got \(limit)")
        self.limit = limit
    }

    /// Waits for a free slot and takes it. Pair every call with ``release()``.
    func acquire() async {
        if holders < limit {
            holders += 1
            return
        }
        // The slot is handed over by `release`, so `holders` is not incremented here.
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Frees a slot, handing it straight to the longest waiter when there is one.
    func release() {
        if waiters.isEmpty {
            holders -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
