/// Token strings stored as UTF-8 bytes in one flat buffer, indexed both ways: id → bytes and bytes → id.
///
/// Keys are compared byte for byte. A `[String: Int32]` would merge the 61 groups of canonically
/// equivalent Gemma pieces (gemma2.md §4.5); byte keys keep them distinct.
struct PieceTable: Sendable {
    /// All piece bytes, in insertion order.
    private var storage: [UInt8] = []
    /// Start of each id's bytes in `storage`; meaningful only where `lengths[id] >= 0`.
    private var starts: [Int32] = []
    /// Byte length of each id's piece, or −1 when the id has no piece.
    private var lengths: [Int32] = []
    /// Open-addressing hash index: an id, or −1 for an empty slot. Its count is a power of two.
    private var slots: [Int32] = []
    /// Number of ids indexed in `slots`.
    private var indexed = 0
    /// The longest piece, in bytes (lookups of longer keys fail fast).
    private(set) var maxPieceLength = 0

    /// An empty table with room for ids `0..<idCount`.
    init(idCount: Int = 0) {
        starts = [Int32](repeating: 0, count: idCount)
        lengths = [Int32](repeating: -1, count: idCount)
        slots = [Int32](repeating: -1, count: Self.slotCount(for: idCount))
    }

    /// One past the largest id that can hold a piece.
    var idCount: Int { lengths.count }

    /// Number of ids that hold a piece.
    var pieceCount: Int { indexed }

    /// Whether `id` holds a piece.
    func contains(id: Int32) -> Bool {
        id >= 0 && Int(id) < lengths.count && lengths[Int(id)] >= 0
    }

    /// The piece of `id` as bytes, or nil when the id has none.
    func piece(_ id: Int32) -> [UInt8]? {
        guard contains(id: id) else { return nil }
        let start = Int(starts[Int(id)])
        return Array(storage[start..<start + Int(lengths[Int(id)])])
    }

    /// The id whose piece equals `key` byte for byte, or −1.
    func id(of key: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard key.count <= maxPieceLength, !slots.isEmpty else { return -1 }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: Self.hash(key)) & mask
        return storage.withUnsafeBufferPointer { stored in
            while true {
                let candidate = slots[slot]
                if candidate < 0 { return -1 }
                let length = Int(lengths[Int(candidate)])
                if length == key.count {
                    let start = Int(starts[Int(candidate)])
                    if Self.equal(stored.baseAddress! + start, key.baseAddress, length) { return candidate }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The id whose piece equals `key`, or −1.
    func id(of key: [UInt8]) -> Int32 {
        key.withUnsafeBufferPointer { id(of: $0) }
    }

    /// Stores `bytes` as the piece of `id`, growing the id range as needed. `id` must hold no piece yet.
    ///
    /// - Returns: the id that already held the same bytes (lookups of those bytes now give `id`), or nil.
    @discardableResult
    mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, id: Int32) -> Int32? {
        precondition(id >= 0, "PieceTable.insert: negative id")
        let index = Int(id)
        if index >= lengths.count {
            let grown = Swift.max(index + 1, lengths.count * 2)
            starts.append(contentsOf: repeatElement(0, count: grown - starts.count))
            lengths.append(contentsOf: repeatElement(-1, count: grown - lengths.count))
        }
        precondition(lengths[index] < 0, "PieceTable.insert: id \(id) already holds a piece")
        // Grow the index before storing the new piece, so the rehash does not place it twice.
        if (indexed + 1) * 2 > slots.count { rehash(minimumSlots: Self.slotCount(for: (indexed + 1) * 2)) }
        starts[index] = Int32(storage.count)
        lengths[index] = Int32(bytes.count)
        storage.append(contentsOf: bytes)
        maxPieceLength = Swift.max(maxPieceLength, bytes.count)
        return place(id)
    }

    /// Stores `bytes` as the piece of `id`, which must hold no piece yet; returns the id that already held them.
    @discardableResult
    mutating func insert(_ bytes: [UInt8], id: Int32) -> Int32? {
        bytes.withUnsafeBufferPointer { insert($0, id: id) }
    }

    /// Trims the id range to `0..<count` (ids past it must hold no piece).
    mutating func setIdCount(_ count: Int) {
        if count < lengths.count {
            starts.removeLast(lengths.count - count)
            lengths.removeLast(lengths.count - count)
        } else if count > lengths.count {
            starts.append(contentsOf: repeatElement(0, count: count - starts.count))
            lengths.append(contentsOf: repeatElement(-1, count: count - lengths.count))
        }
    }

    /// Puts `id` into the hash index, replacing an entry with equal bytes.
    private mutating func place(_ id: Int32) -> Int32? {
        let start = Int(starts[Int(id)])
        let length = Int(lengths[Int(id)])
        let mask = slots.count - 1
        return storage.withUnsafeBufferPointer { stored -> Int32? in
            let key = UnsafeBufferPointer(rebasing: stored[start..<start + length])
            var slot = Int(truncatingIfNeeded: Self.hash(key)) & mask
            while true {
                let candidate = slots[slot]
                if candidate < 0 {
                    slots[slot] = id
                    indexed += 1
                    return nil
                }
                if Int(lengths[Int(candidate)]) == length,
                    Self.equal(stored.baseAddress! + Int(starts[Int(candidate)]), key.baseAddress, length)
                {
                    slots[slot] = id
                    return candidate
                }
                slot = (slot + 1) & mask
            }
        }
    }

    private mutating func rehash(minimumSlots: Int) {
        slots = [Int32](repeating: -1, count: minimumSlots)
        indexed = 0
        for id in 0..<lengths.count where lengths[id] >= 0 { _ = place(Int32(id)) }
    }

    /// Smallest power of two ≥ 2 × `count` (at least 16).
    private static func slotCount(for count: Int) -> Int {
        var slots = 16
        while slots < count * 2 { slots <<= 1 }
        return slots
    }

    /// FNV-1a over the bytes, then a final avalanche so the low bits are usable as a slot index.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    private static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>?, _ count: Int) -> Bool {
        guard count > 0, let b else { return true }
        for i in 0..<count where a[i] != b[i] { return false }
        return true
    }
}
