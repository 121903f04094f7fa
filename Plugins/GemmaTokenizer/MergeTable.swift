/// The BPE merge table of a `tokenizer.json`: `(left id, right id) → (rank, merged id)`.
///
/// The rank is the pair's index in the file's `merges` list; a later duplicate of a pair overwrites the
/// earlier one, as in HF `tokenizers`. Open addressing over packed 64-bit keys keeps loading the 580,604 Gemma
/// merges and probing them during encoding cheap.
struct MergeTable: Sendable {
    /// A merge found in the table.
    struct Merge: Sendable, Equatable {
        /// Position in the merges list; lower merges first.
        var rank: Int32
        /// Id of the concatenated token.
        var merged: Int32
    }

    private static let emptyKey = UInt64.max
    private var keys: [UInt64]
    /// `rank << 32 | merged` for the key in the same slot.
    private var values: [UInt64]
    private(set) var count = 0

    /// An empty table sized for about `expectedCount` merges.
    init(expectedCount: Int = 0) {
        var slots = 16
        while slots < expectedCount * 2 { slots <<= 1 }
        keys = [UInt64](repeating: Self.emptyKey, count: slots)
        values = [UInt64](repeating: 0, count: slots)
    }

    /// The merge of `left` followed by `right`, if any.
    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> Merge? {
        let key = Self.key(left, right)
        let mask = keys.count - 1
        var slot = Self.slot(key, mask)
        while true {
            let found = keys[slot]
            if found == key {
                let value = values[slot]
                return Merge(rank: Int32(truncatingIfNeeded: value >> 32), merged: Int32(truncatingIfNeeded: value))
            }
            if found == Self.emptyKey { return nil }
            slot = (slot + 1) & mask
        }
    }

    /// Records that `left right` merges into `merged` with `rank`, replacing an earlier entry for the pair.
    mutating func insert(left: Int32, right: Int32, rank: Int32, merged: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let key = Self.key(left, right)
        let value = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
        let mask = keys.count - 1
        var slot = Self.slot(key, mask)
        while keys[slot] != Self.emptyKey && keys[slot] != key { slot = (slot + 1) & mask }
        if keys[slot] == Self.emptyKey { count += 1 }
        keys[slot] = key
        values[slot] = value
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        keys = [UInt64](repeating: Self.emptyKey, count: oldKeys.count * 2)
        values = [UInt64](repeating: 0, count: oldKeys.count * 2)
        let mask = keys.count - 1
        for i in 0..<oldKeys.count where oldKeys[i] != Self.emptyKey {
            var slot = Self.slot(oldKeys[i], mask)
            while keys[slot] != Self.emptyKey { slot = (slot + 1) & mask }
            keys[slot] = oldKeys[i]
            values[slot] = oldValues[i]
        }
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        let mixed = (key ^ (key >> 31)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> 20) & mask
    }
}
