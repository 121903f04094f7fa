/// Finds literal token strings in text, leftmost-longest, as HF `added_vocabulary.rs` `find_matches` does:
/// the earliest match wins, the longest at that start wins, and matches do not overlap.
///
/// Used for the added tokens of a `tokenizer.json` (and the CONTROL/UNKNOWN/USER_DEFINED pieces of a
/// SentencePiece model, which HF turns into added tokens), and for sentencepiece's frozen user-defined symbols.
/// Works on UTF-8 bytes: a token starts with a lead byte, so matches always start on a scalar boundary.
struct AddedTokenMatcher: Sendable {
    /// A piece of text between matches, or a matched token.
    enum Segment: Equatable {
        /// Bytes `range` of the input, containing no match.
        case text(Range<Int>)
        /// A matched token's id.
        case token(Int32)
    }

    /// Child of the root for each first byte, or −1.
    private var rootChildren = [Int32](repeating: -1, count: 256)
    /// Token id ending at each node, or −1. Node 0 is the root.
    private var terminal: [Int32] = [-1]
    /// Children of node n are `edgeBytes/edgeTargets[edgeStart[n]..<edgeStart[n + 1]]`, sorted by byte.
    private var edgeStart: [Int32] = [0, 0]
    private var edgeBytes: [UInt8] = []
    private var edgeTargets: [Int32] = []

    /// Whether no token can match.
    private(set) var isEmpty = true

    /// A matcher for `tokens` (bytes and id). Empty byte strings are ignored; for equal strings the later wins.
    init(tokens: [(bytes: [UInt8], id: Int32)]) {
        var children: [[UInt8: Int32]] = [[:]]
        var ids: [Int32] = [-1]
        for (bytes, id) in tokens where !bytes.isEmpty {
            var node: Int32 = 0
            for byte in bytes {
                if let next = children[Int(node)][byte] {
                    node = next
                } else {
                    let next = Int32(children.count)
                    children.append([:])
                    ids.append(-1)
                    children[Int(node)][byte] = next
                    node = next
                }
            }
            ids[Int(node)] = id
            isEmpty = false
        }
        terminal = ids
        edgeStart = [0]
        for node in 0..<children.count {
            for (byte, target) in children[node].sorted(by: { $0.key < $1.key }) {
                edgeBytes.append(byte)
                edgeTargets.append(target)
                if node == 0 { rootChildren[Int(byte)] = target }
            }
            edgeStart.append(Int32(edgeBytes.count))
        }
    }

    /// The longest token starting at `start`: its byte length and id.
    @inline(__always)
    func longestMatch(in bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> (length: Int, id: Int32)? {
        var node = rootChildren[Int(bytes[start])]
        if node < 0 { return nil }
        var best: (length: Int, id: Int32)?
        var position = start + 1
        while true {
            let id = terminal[Int(node)]
            if id >= 0 { best = (position - start, id) }
            if position == bytes.count { break }
            let byte = bytes[position]
            var next: Int32 = -1
            var edge = Int(edgeStart[Int(node)])
            let edgeEnd = Int(edgeStart[Int(node) + 1])
            while edge < edgeEnd {
                let candidate = edgeBytes[edge]
                if candidate == byte {
                    next = edgeTargets[edge]
                    break
                }
                if candidate > byte { break }
                edge += 1
            }
            if next < 0 { break }
            node = next
            position += 1
        }
        return best
    }

    /// Calls `body` with the text between matches (never empty) and the matches, in order.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Segment) -> Void) {
        if isEmpty {
            if !bytes.isEmpty { body(.text(0..<bytes.count)) }
            return
        }
        var textStart = 0
        var position = 0
        while position < bytes.count {
            if let match = longestMatch(in: bytes, at: position) {
                if textStart < position { body(.text(textStart..<position)) }
                body(.token(match.id))
                position += match.length
                textStart = position
            } else {
                position += 1
            }
        }
        if textStart < bytes.count { body(.text(textStart..<bytes.count)) }
    }
}
