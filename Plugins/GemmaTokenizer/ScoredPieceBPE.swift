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
    var scores: [Float]
    /// Type of each id.
    var types: [PieceType]
    /// The USER_DEFINED pieces, matched as frozen symbols.
    var userDefined: AddedTokenMatcher
    /// Whether symbols that are not pieces become `<0xHH>` pieces.
    var byteFallback: Bool
    /// Id of `<0xHH>` for each byte, or −1.
    var byteTokenIds: [Int32]
    /// Id of the unknown piece.
    var unknownId: Int32

    /// A candidate merge of symbols `left` and `right` into a piece of `size` bytes.
    private struct Candidate: Comparable {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32
        var piece: Int32

        /// "Pops first": higher score, then smaller left index (`bpe_model.cc` `SymbolPairComparator`).
        static func < (a: Candidate, b: Candidate) -> Bool {
            a.score > b.score || (a.score == b.score && a.left < b.left)
        }
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
        var heap = BinaryHeap<Candidate>()

        func consider(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0, !frozen[Int(left)], !frozen[Int(right)] else { return }
            let from = Int(start[Int(left)])
            let size = Int(length[Int(left)] + length[Int(right)])
            let id = vocabulary.id(of: UnsafeBufferPointer(rebasing: text[from..<from + size]))
            guard id >= 0 else { return }
            switch types[Int(id)] {
            case .normal, .userDefined, .unused:
                heap.push(Candidate(score: scores[Int(id)], left: left, right: right, size: Int32(size), piece: id))
            default:
                return
            }
        }

        for i in 0..<count - 1 { consider(Int32(i), Int32(i + 1)) }
        while let top = heap.popMin() {
            let left = Int(top.left)
            let right = Int(top.right)
            // Stale when either side was merged away or grew since the entry was pushed.
            guard length[left] > 0, length[right] > 0, length[left] + length[right] == top.size else { continue }
            let leftSize = length[left]
            length[left] = top.size
            length[right] = 0
            let afterRight = next[right]
            next[left] = afterRight
            if afterRight >= 0 { previous[Int(afterRight)] = Int32(left) }
            if types[Int(top.piece)] == .unused {
                unusedSplits[Self.key(start[left], top.size)] = leftSize
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

    private static func key(_ start: Int32, _ size: Int32) -> Int64 {
        Int64(start) << 32 | Int64(size)
    }
}
