/// sentencepiece's BPE encoder (`bpe_model.cc` `Model::SampleEncode` without dropout), the `tokenizer.model`
/// path of gemma2.md §4.3.
///
/// The normalised text is split into symbols: at each position the longest USER_DEFINED piece, as a frozen
/// symbol that never merges, else one Unicode scalar. Then, repeatedly, the adjacent non-frozen pair whose
/// concatenation is a NORMAL, USER_DEFINED or UNUSED piece with the highest score is merged, leftmost first on
/// ties. Symbols that are not pieces become byte-fallback pieces `<0xHH>` (or `<unk>`). A heap with stale-entry
/// skipping makes this O(n log n).
struct ScoredPieceBPE: Sendable {
    /// Piece kinds, as in `sentencepiece_model.proto`.
    enum PieceType: UInt8, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// Score of each id.
    let scores: [Float]
    /// Type of each id.
    let types: [PieceType]
    /// The USER_DEFINED pieces, matched as frozen symbols.
    let userDefined: AddedTokenMatcher
    /// Whether symbols that are not pieces become `<0xHH>` pieces.
    let byteFallback: Bool
    /// Id of `<0xHH>` for each byte, or −1.
    let byteTokenIds: [Int32]
    /// Id of the unknown piece.
    let unknownId: Int32

    /// Whether some piece is UNUSED (then merges into one are recorded for resegmentation).
    let hasUnusedPieces: Bool

    init(
        scores: [Float], types: [PieceType], userDefined: AddedTokenMatcher, byteFallback: Bool,
        byteTokenIds: [Int32], unknownId: Int32
    ) {
        self.scores = scores
        self.types = types
        self.userDefined = userDefined
        self.byteFallback = byteFallback
        self.byteTokenIds = byteTokenIds
        self.unknownId = unknownId
        hasUnusedPieces = types.contains(.unused)
    }

    /// Appends the ids of `text` (normalised bytes, valid UTF-8) to `output`.
    func encode(_ text: UnsafeBufferPointer<UInt8>, vocabulary: PieceTable, into output: inout [Int32]) {
        if text.isEmpty { return }
        var start: [Int32] = []
        var length: [Int32] = []
        var frozen: [Bool] = []
        start.reserveCapacity(text.count)
        length.reserveCapacity(text.count)
        frozen.reserveCapacity(text.count)
        var position = 0
        while position < text.count {
            if let match = userDefined.longestMatch(in: text, at: position) {
                start.append(Int32(position))
                length.append(Int32(match.length))
                frozen.append(true)
                position += match.length
            } else {
                let size = Swift.min(UTF8Scalars.length(ofLeadByte: text[position]), text.count - position)
                start.append(Int32(position))
                length.append(Int32(size))
                frozen.append(false)
                position += size
            }
        }
        let count = start.count
        var previous = [Int32](repeating: -1, count: count)
        var next = [Int32](repeating: -1, count: count)
        for i in 0..<count {
            previous[i] = Int32(i - 1)
            next[i] = i + 1 < count ? Int32(i + 1) : -1
        }
        // Merges that produced an UNUSED piece, by (start, size): the left part's size, for resegmenting.
        var unusedSplits: [Int64: Int32] = [:]
        var heap = BinaryHeap(capacity: count)

        func consider(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0, !frozen[Int(left)], !frozen[Int(right)] else { return }
            let from = Int(start[Int(left)])
            let size = Int(length[Int(left)] + length[Int(right)])
            let id = vocabulary.id(of: UnsafeBufferPointer(rebasing: text[from..<from + size]))
            guard id >= 0 else { return }
            switch types[Int(id)] {
            case .normal, .userDefined, .unused:
                heap.push(Self.candidate(score: scores[Int(id)], left: left, right: right, size: Int32(size)))
            default:
                return
            }
        }

        for i in 0..<count - 1 { consider(Int32(i), Int32(i + 1)) }
        while let top = heap.popMin() {
            let left = Int(top.key & 0xFFFF_FFFF)
            let right = Int(top.payload >> 32)
            let size = Int32(truncatingIfNeeded: top.payload)
            // Stale when either side was merged away or grew since the entry was pushed.
            guard length[left] > 0, length[right] > 0, length[left] + length[right] == size else { continue }
            let leftSize = length[left]
            length[left] = size
            length[right] = 0
            let afterRight = next[right]
            next[left] = afterRight
            if afterRight >= 0 { previous[Int(afterRight)] = Int32(left) }
            if hasUnusedPieces {
                let from = Int(start[left])
                let merged = vocabulary.id(of: UnsafeBufferPointer(rebasing: text[from..<from + Int(size)]))
                if types[Int(merged)] == .unused { unusedSplits[Self.key(start[left], size)] = leftSize }
            }
            consider(previous[left], Int32(left))
            consider(Int32(left), afterRight)
        }

        var symbol: Int32 = 0
        while symbol >= 0 {
            emit(
                start: start[Int(symbol)], size: length[Int(symbol)], text: text, vocabulary: vocabulary,
                unusedSplits: unusedSplits, into: &output)
            symbol = next[Int(symbol)]
        }
    }

    /// Emits one final symbol: its piece id, the resegmentation of an UNUSED piece into the pieces it was merged
    /// from (`bpe_model.cc` `resegment`), or byte fallback.
    private func emit(
        start: Int32, size: Int32, text: UnsafeBufferPointer<UInt8>, vocabulary: PieceTable,
        unusedSplits: [Int64: Int32], into output: inout [Int32]
    ) {
        let bytes = UnsafeBufferPointer(rebasing: text[Int(start)..<Int(start + size)])
        let id = vocabulary.id(of: bytes)
        if id >= 0 {
            if types[Int(id)] == .unused, let leftSize = unusedSplits[Self.key(start, size)] {
                emit(
                    start: start, size: leftSize, text: text, vocabulary: vocabulary, unusedSplits: unusedSplits,
                    into: &output)
                emit(
                    start: start + leftSize, size: size - leftSize, text: text, vocabulary: vocabulary,
                    unusedSplits: unusedSplits, into: &output)
            } else {
                output.append(id)
            }
        } else if byteFallback, bytes.allSatisfy({ byteTokenIds[Int($0)] >= 0 }) {
            for byte in bytes { output.append(byteTokenIds[Int(byte)]) }
        } else {
            output.append(unknownId)
        }
    }

    /// Heap entry for merging symbols `left` and `right` into a piece of `size` bytes. The key orders by
    /// descending score, then ascending left index (`bpe_model.cc` `SymbolPairComparator`); −0.0 counts as 0.
    @inline(__always)
    private static func candidate(score: Float, left: Int32, right: Int32, size: Int32) -> HeapEntry {
        let bits = (score + 0).bitPattern
        let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return HeapEntry(
            key: UInt64(~ascending) << 32 | UInt64(UInt32(bitPattern: left)),
            payload: UInt64(UInt32(bitPattern: right)) << 32 | UInt64(UInt32(bitPattern: size)))
    }

    private static func key(_ start: Int32, _ size: Int32) -> Int64 {
        Int64(start) << 32 | Int64(size)
    }
}
