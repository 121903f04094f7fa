/// A binary min-heap: `popMin` returns the smallest element by `<`.
///
/// Both BPE variants push candidate merges and skip entries that went stale when a neighbour merged first
/// (the lazy-deletion scheme of HF `word.rs` and sentencepiece `bpe_model.cc`), giving O(n log n) per word.
struct BinaryHeap<Element: Comparable> {
    private var items: [Element] = []

    init() {}

    /// Whether the heap holds no element.
    var isEmpty: Bool { items.isEmpty }

    /// Number of elements.
    var count: Int { items.count }

    /// Removes every element, keeping the storage.
    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    /// Adds `element`.
    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) >> 1
            if !(items[child] < items[parent]) { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the smallest element, or nil when empty.
    mutating func popMin() -> Element? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var parent = 0
        let count = items.count
        while true {
            let left = 2 * parent + 1
            if left >= count { break }
            let right = left + 1
            let smaller = right < count && items[right] < items[left] ? right : left
            if !(items[smaller] < items[parent]) { break }
            items.swapAt(parent, smaller)
            parent = smaller
        }
        return top
    }
}
