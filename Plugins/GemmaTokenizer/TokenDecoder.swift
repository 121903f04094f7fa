/// HF decoding of Gemma ids (gemma2.md §4.4): the decoder `Sequence[Replace("▁" → " "), ByteFallback, Fuse]`.
///
/// Each id maps to its token string with "▁" replaced by a space. A token spelled exactly `<0xHH>` stands for
/// byte HH; each maximal run of such tokens is emitted as its UTF-8 text when the whole run is valid UTF-8, and
/// otherwise as one U+FFFD per byte (`decoders/byte_fallback.rs`; Swift's own repair would emit one U+FFFD per
/// maximal invalid subsequence instead). Ids without a token are skipped, as HF's `id_to_token` `filter_map`.
struct TokenDecoder: Sendable {
    /// Decoded bytes of all tokens.
    private var storage: [UInt8] = []
    /// Start of each id's bytes in `storage`.
    private var starts: [Int32] = []
    /// Byte length of each id's decoded token, or −1 when the id has no token.
    private var lengths: [Int32] = []
    /// The byte an id stands for under ByteFallback, or −1.
    private var byteValues: [Int16] = []
    /// Whether each id is a special token (dropped when skipping special tokens).
    private var special: [Bool] = []

    private static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// A decoder for ids `0..<count`; `token(id)` gives the token string as UTF-8 bytes (nil when none).
    init(count: Int, special: [Bool], token: (Int32) -> [UInt8]?) {
        starts.reserveCapacity(count)
        lengths.reserveCapacity(count)
        byteValues.reserveCapacity(count)
        self.special = special
        for id in 0..<count {
            guard let bytes = token(Int32(id)) else {
                starts.append(0)
                lengths.append(-1)
                byteValues.append(-1)
                continue
            }
            let decoded = Self.replaceMetaspace(bytes)
            starts.append(Int32(storage.count))
            lengths.append(Int32(decoded.count))
            storage.append(contentsOf: decoded)
            byteValues.append(Self.fallbackByte(decoded).map(Int16.init) ?? -1)
        }
    }

    /// The text of `ids`.
    func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        var run: [UInt8] = []
        for id in ids {
            guard id >= 0, Int(id) < lengths.count, lengths[Int(id)] >= 0 else { continue }
            if skipSpecialTokens && special[Int(id)] { continue }
            let byte = byteValues[Int(id)]
            if byte >= 0 {
                run.append(UInt8(byte))
                continue
            }
            Self.flush(&run, into: &out)
            let start = Int(starts[Int(id)])
            out.append(contentsOf: storage[start..<start + Int(lengths[Int(id)])])
        }
        Self.flush(&run, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends a byte run: as is when valid UTF-8, else one U+FFFD per byte.
    private static func flush(_ run: inout [UInt8], into out: inout [UInt8]) {
        if run.isEmpty { return }
        if UTF8Scalars.isValid(run) {
            out.append(contentsOf: run)
        } else {
            for _ in run { out.append(contentsOf: replacementCharacter) }
        }
        run.removeAll(keepingCapacity: true)
    }

    /// `bytes` with every U+2581 (E2 96 81) replaced by U+0020.
    private static func replaceMetaspace(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(0xE2) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0xE2, i + 2 < bytes.count, bytes[i + 1] == 0x96, bytes[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// The byte of a token spelled `<0xHH>`: 6 bytes, `<0x` … `>`, the middle parsed like Rust's
    /// `u8::from_str_radix(_, 16)` (hex digits of either case, or `+` and one hex digit).
    static func fallbackByte(_ token: [UInt8]) -> UInt8? {
        guard token.count == 6, token[0] == 0x3C, token[1] == 0x30, token[2] == 0x78, token[5] == 0x3E else {
            return nil
        }
        if token[3] == 0x2B {  // "+"
            return hexValue(token[4])
        }
        guard let high = hexValue(token[3]), let low = hexValue(token[4]) else { return nil }
        return high << 4 | low
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}
