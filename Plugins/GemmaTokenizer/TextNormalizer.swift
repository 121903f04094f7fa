/// The normalisation applied to text between added tokens before BPE, as a list of byte-level steps.
///
/// Gemma's is a single `Replace(" " → "▁")` (HF normalizer; sentencepiece `escape_whitespaces`). Nothing else:
/// no Unicode normalisation, no dummy prefix (gemma2.md §4.1–4.2).
struct TextNormalizer: Sendable {
    /// One normalisation step.
    enum Step: Sendable, Equatable {
        /// Replace every non-overlapping occurrence of `pattern`, scanning left to right, by `content`.
        case replace(pattern: [UInt8], content: [UInt8])
        /// Put `content` in front of non-empty text.
        case prepend(content: [UInt8])
    }

    /// The steps, applied in order.
    var steps: [Step]

    /// U+0020 → U+2581 "▁", the Gemma normaliser.
    static let spaceToMetaspace = TextNormalizer(steps: [.replace(pattern: [0x20], content: [0xE2, 0x96, 0x81])])

    /// `bytes` after every step.
    func apply(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var current = Array(bytes)
        for step in steps {
            switch step {
            case .replace(let pattern, let content):
                current = Self.replace(current, pattern, content)
            case .prepend(let content):
                if !current.isEmpty { current = content + current }
            }
        }
        return current
    }

    private static func replace(_ bytes: [UInt8], _ pattern: [UInt8], _ content: [UInt8]) -> [UInt8] {
        guard let first = pattern.first else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 2)
        var i = 0
        let n = bytes.count
        let m = pattern.count
        while i < n {
            if bytes[i] == first, i + m <= n, m == 1 || bytes[i..<i + m].elementsEqual(pattern) {
                out.append(contentsOf: content)
                i += m
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}
