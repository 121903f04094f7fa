/// An opened `.npz` archive (a ZIP of `.npy` members, as `np.savez`/`np.savez_compressed` write).
///
/// Opening reads the central directory and checks every member's local header and bounds; each array is
/// decompressed, CRC-checked and decoded when it is asked for. Sendable: it only reads an immutable map.
public struct NPZArchive: Sendable {
    /// The archive's path.
    public let path: String
    /// The array names (member names without `.npy`), in archive order.
    public let names: [String]
    private let mapping: MappedFile
    private let members: [String: ZipMember]

    init(mapping: MappedFile) throws {
        let members = try ZipReader.members(of: mapping.bytes, path: mapping.path)
        var byName: [String: ZipMember] = [:]
        var names: [String] = []
        for member in members {
            let name = member.name.hasSuffix(".npy") ? String(member.name.dropLast(4)) : member.name
            guard byName[name] == nil else {
                throw TensorFormatError(
                    path: mapping.path, tensor: member.name, "two members both give the array name '\(name)'")
            }
            byName[name] = member
            names.append(name)
        }
        self.path = mapping.path
        self.mapping = mapping
        self.members = byName
        self.names = names
    }

    /// Whether the archive holds array `name`.
    public func contains(_ name: String) -> Bool { members[name] != nil }

    /// Array `name`: decompressed if needed, CRC-32 verified and decoded.
    /// - Throws: ``TensorFormatError`` naming the archive and member: missing (with the available names),
    ///   corrupt compressed data, CRC mismatch, or a bad `.npy` member.
    public func array(_ name: String) throws -> NDArray {
        guard let member = members[name] else {
            let available = names.map { "'\($0)'" }.joined(separator: ", ")
            throw TensorFormatError(
                path: path, tensor: name,
                "no such array (names are case-sensitive); available: \(available.isEmpty ? "none" : available)")
        }
        guard let stored = mapping.bytes.slice(at: member.dataOffset, length: member.compressedSize) else {
            throw TensorFormatError(path: path, tensor: member.name, "the member's data lies outside the file")
        }
        if member.method == 0 {
            try checkCRC(Zlib.crc32(stored), member)
            return try NPY.decode(stored, path: path, member: member.name)
        }
        let inflated = try Zlib.inflateData(
            stored, raw: true, expectedSize: member.uncompressedSize, path: path, member: member.name)
        return try inflated.withUnsafeBytes { raw in
            try checkCRC(Zlib.crc32(raw), member)
            return try NPY.decode(raw, path: path, member: member.name)
        }
    }

    private func checkCRC(_ computed: UInt32, _ member: ZipMember) throws {
        guard computed == member.crc32 else {
            throw TensorFormatError(
                path: path, tensor: member.name,
                "CRC-32 mismatch (the directory says \(hex(member.crc32)), the data gives \(hex(computed))); "
                    + "the archive is corrupt — download or write it again")
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Array `name`, or nil when it is missing or cannot be read (use ``array(_:)`` to learn why).
    public subscript(name: String) -> NDArray? { try? array(name) }

    /// Array `name` as `Float`s (see ``NDArray/floats(treatVoid2AsBFloat16:)``), with errors naming the
    /// archive and member.
    public func floats(_ name: String, treatVoid2AsBFloat16: Bool = false) throws -> [Float] {
        let array = try array(name)
        do {
            return try array.floats(treatVoid2AsBFloat16: treatVoid2AsBFloat16)
        } catch let error as TensorFormatError {
            throw TensorFormatError(path: path, tensor: name, error.problem)
        }
    }
}

/// Reading and writing numpy `.npz` archives.
public enum NPZ {
    /// Opens the `.npz` archive at `path`: STORED (0) and DEFLATE (8) members, ZIP64 records and extra
    /// fields, data-descriptor flags; sizes come from the central directory.
    /// - Throws: ``TensorFormatError`` naming the file (and member) for anything malformed.
    public static func read(path: String) throws -> NPZArchive {
        try NPZArchive(mapping: MappedFile(path: path))
    }

    /// Opens an archive held in memory; `source` names it in messages.
    public static func decode(_ bytes: [UInt8], source: String) throws -> NPZArchive {
        try NPZArchive(mapping: MappedFile(copying: bytes, path: source))
    }

    /// Writes `arrays` as members `<name>.npy` of a ZIP archive at `path`, atomically: DEFLATE-compressed
    /// when `compressed` (like `np.savez_compressed`), else stored (like `np.savez`). ZIP64 records are
    /// added when sizes or offsets need them.
    /// - Throws: ``TensorFormatError`` for an empty or repeated name, an array whose data does not match its
    ///   shape, or a write failure.
    public static func write(_ arrays: [(name: String, array: NDArray)], compressed: Bool, to path: String) throws {
        try write(arrays, compressed: compressed, forceZip64: false, to: path)
    }

    /// The archive bytes ``write(_:compressed:to:)`` would write.
    public static func encode(_ arrays: [(name: String, array: NDArray)], compressed: Bool) throws -> [UInt8] {
        try encode(arrays, compressed: compressed, forceZip64: false)
    }

    /// `write`, optionally with ZIP64 records and extra fields on every member even when not needed.
    static func write(
        _ arrays: [(name: String, array: NDArray)], compressed: Bool, forceZip64: Bool, to path: String
    ) throws {
        try AtomicWrites.stream(to: path) { sink in
            try ZipWriter.write(arrays, compressed: compressed, forceZip64: forceZip64, label: path, sink: sink)
        }
    }

    /// `encode`, optionally forcing ZIP64 records.
    static func encode(
        _ arrays: [(name: String, array: NDArray)], compressed: Bool, forceZip64: Bool
    ) throws -> [UInt8] {
        var result: [UInt8] = []
        try ZipWriter.write(arrays, compressed: compressed, forceZip64: forceZip64, label: "npz archive") {
            result.append(contentsOf: $0)
        }
        return result
    }
}
