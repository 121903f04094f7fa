/// One candidate merge in a ``BinaryHeap``: ordered by `key` alone, with `payload` carried along.
///
/// HF BPE packs `rank << 32 | position` into the key; sentencepiece BPE packs its descending score and the
/// left symbol index (see ``ScoredPieceBPE``).
struct HeapEntry {
    /// Smaller keys pop first.
    var key: UInt64
    /// Data the caller needs back; not compared.
    var payload: UInt64
}

/// A binary min-heap of ``HeapEntry`` values: `popMin` returns the entry with the smallest key.
///
/// Both BPE variants push candidate merges and skip entries that went stale when a neighbour merged first
/// (the lazy-deletion scheme of HF `word.rs` and sentencepiece `bpe_model.cc`), giving O(n log n) per word.
/// Deliberately not generic: debug builds compile file by file, where a generic heap used from another
/// file would run unspecialised.
struct BinaryHeap {
    private var items: [HeapEntry] = []

    init(capacity: Int = 0) {
        items.reserveCapacity(capacity)
    }

    /// Adds `entry`.
    mutating func push(_ entry: HeapEntry) {
        items.append(entry)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) >> 1
            if items[parent].key <= entry.key { break }
            items[child] = items[parent]
            child = parent
        }
        items[child] = entry
    }

    /// Removes and returns the entry with the smallest key, or nil when empty.
    mutating func popMin() -> HeapEntry? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        let count = items.count
        var parent = 0
        while true {
            let left = 2 * parent + 1
            if left >= count { break }
            let right = left + 1
            let smaller = right < count && items[right].key < items[left].key ? right : left
            if items[smaller].key >= last.key { break }
            items[parent] = items[smaller]
            parent = smaller
        }
        items[parent] = last
        return top
    }
}
