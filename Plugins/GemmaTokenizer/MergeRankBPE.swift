/// HF `tokenizers` BPE over one word (`bpe/model.rs` `merge_word`, `bpe/word.rs` `merge_all`), the
/// `tokenizer.json` path of gemma2.md §4.3 step 3.
///
/// The word is split into Unicode scalars, each mapped to its vocab id or, failing that, to byte-fallback
/// tokens `<0xHH>` (or `<unk>`). Then, repeatedly, the adjacent pair with the lowest merge rank is merged,
/// leftmost first on ties, until no adjacent pair has a merge. A heap with stale-entry skipping makes this
/// O(n log n) in the word length.
struct MergeRankBPE: Sendable {
    /// `(left, right) → (rank, merged)`.
    var merges: MergeTable
    /// Whether scalars missing from the vocab become `<0xHH>` tokens.
    var byteFallback: Bool
    /// Id of `<0xHH>` for each byte, or −1 where the vocab lacks it (Gemma's HF vocab has `\t`, not `<0x09>`).
    var byteTokenIds: [Int32]
    /// Id of the unknown token, or −1 when the model has none (then unknown scalars are dropped).
    var unknownId: Int32
    /// Whether consecutive unknown scalars give one `<unk>`.
    var fuseUnknown: Bool
    /// Whether a word that is itself a vocab entry is emitted whole, without merging.
    var ignoreMerges: Bool

    /// Appends the ids of `word` (normalised bytes, valid UTF-8) to `output`.
    func encode(_ word: UnsafeBufferPointer<UInt8>, vocabulary: PieceTable, into output: inout [Int32]) {
        if word.isEmpty { return }
        if ignoreMerges {
            let whole = vocabulary.id(of: word)
            if whole >= 0 {
                output.append(whole)
                return
            }
        }
        var symbols = initialSymbols(word, vocabulary: vocabulary)
        if symbols.count > 1 { mergeAll(&symbols) }
        output.append(contentsOf: symbols)
    }

    /// One id per scalar (or per byte for byte fallback), as `merge_word` builds them.
    private func initialSymbols(_ word: UnsafeBufferPointer<UInt8>, vocabulary: PieceTable) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var pendingUnknown = false
        var position = 0
        while position < word.count {
            let end = Swift.min(position + UTF8Scalars.length(ofLeadByte: word[position]), word.count)
            let scalar = UnsafeBufferPointer(rebasing: word[position..<end])
            let id = vocabulary.id(of: scalar)
            if id >= 0 {
                if pendingUnknown {
                    symbols.append(unknownId)
                    pendingUnknown = false
                }
                symbols.append(id)
            } else if byteFallback, scalar.allSatisfy({ byteTokenIds[Int($0)] >= 0 }) {
                // Like merge_word, this does not flush a pending <unk> first.
                for byte in scalar { symbols.append(byteTokenIds[Int(byte)]) }
            } else if unknownId >= 0 {
                if pendingUnknown && !fuseUnknown { symbols.append(unknownId) }
                pendingUnknown = true
            }
            position = end
        }
        if pendingUnknown { symbols.append(unknownId) }
        return symbols
    }

    /// Applies merges in rank order until none applies (`word.rs` `merge_all` without dropout).
    private func mergeAll(_ ids: inout [Int32]) {
        let count = ids.count
        var previous = [Int32](repeating: -1, count: count)
        var next = [Int32](repeating: -1, count: count)
        var alive = [Bool](repeating: true, count: count)
        var heap = BinaryHeap(capacity: count)
        for i in 0..<count {
            previous[i] = Int32(i - 1)
            next[i] = i + 1 < count ? Int32(i + 1) : -1
            if i + 1 < count, let merge = merges.merge(ids[i], ids[i + 1]) {
                heap.push(Self.candidate(rank: merge.rank, position: i))
            }
        }
        while let top = heap.popMin() {
            let position = Int(top.key & 0xFFFF_FFFF)
            let rank = Int32(truncatingIfNeeded: top.key >> 32)
            guard alive[position] else { continue }
            let right = Int(next[position])
            guard right >= 0, let merge = merges.merge(ids[position], ids[right]), merge.rank == rank else {
                continue
            }
            ids[position] = merge.merged
            alive[right] = false
            let afterRight = next[right]
            next[position] = afterRight
            if afterRight >= 0 { previous[Int(afterRight)] = Int32(position) }
            let left = Int(previous[position])
            if left >= 0, let merge = merges.merge(ids[left], ids[position]) {
                heap.push(Self.candidate(rank: merge.rank, position: left))
            }
            if afterRight >= 0, let merge = merges.merge(ids[position], ids[Int(afterRight)]) {
                heap.push(Self.candidate(rank: merge.rank, position: position))
            }
        }
        var out: [Int32] = []
        out.reserveCapacity(count)
        var i = 0
        while i >= 0 && i < count {
            out.append(ids[i])
            i = Int(next[i])
        }
        ids = out
    }

    /// Heap entry keyed by merge rank, then position: lowest rank, then leftmost, pops first (`word.rs`'s
    /// `Merge` ordering).
    @inline(__always)
    private static func candidate(rank: Int32, position: Int) -> HeapEntry {
        HeapEntry(key: UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(position), payload: 0)
    }
}
