// The ZIP container `torch.save` writes (torch ≥ 1.6): every member sits under one top-level folder (the
// archive name: the file stem when saved, `archive/` in older files) holding `data.pkl`, `data/<key>` storage
// records, `byteorder` (absent before torch 1.13: little-endian), `version` and bookkeeping files.

/// The byte order of a checkpoint's storage records.
public enum PyTorchByteOrder: String, Sendable {
    /// Written by little-endian machines (and assumed when `byteorder` is absent, as torch does).
    case little
    /// Written by big-endian machines; values are byte-swapped when read.
    case big
}

/// A checkpoint's ZIP members, located and checked.
struct PyTorchArchive {
    /// The folder every member sits in, without the trailing slash.
    let prefix: String
    /// `<prefix>/data.pkl`.
    let pickle: ZipMember
    /// `<prefix>/data/<key>` by key.
    let records: [String: ZipMember]
    /// From `<prefix>/byteorder`.
    let byteOrder: PyTorchByteOrder
    /// `<prefix>/version` (or `.data/version`), trimmed; nil when absent.
    let formatVersion: String?

    private static let zipSignature: [UInt8] = [0x50, 0x4B, 0x03, 0x04]

    /// Locates the members of the checkpoint in `bytes`.
    /// - Throws: ``TensorFormatError`` naming `path` for a file that is not a ZIP (with a specific message for
    ///   the pre-1.6 pickle format and TorchScript archives), a damaged ZIP, or a missing `data.pkl`.
    init(_ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard bytes.count >= 4, bytes.prefix(4).elementsEqual(Self.zipSignature) else {
            if let first = bytes.first, first == 0x80 {
                throw TensorFormatError(
                    path: path,
                    "is a bare pickle stream (the pre-1.6 `torch.save` format, or a plain pickle), not the ZIP "
                        + "checkpoint format; re-save it with torch ≥ 1.6: torch.save(torch.load(f), g)")
            }
            throw TensorFormatError(
                path: path, "is not a PyTorch checkpoint: torch.save writes ZIP archives, which start with 'PK'")
        }
        let members: [ZipMember]
        do {
            members = try ZipReader.members(of: bytes, path: path)
        } catch let error as TensorFormatError {
            throw TensorFormatError(
                path: path, tensor: error.tensor, "the checkpoint's ZIP container is unreadable: \(error.problem)")
        }
        var byName: [String: ZipMember] = [:]
        for member in members { byName[member.name] = member }
        let pickles = members.filter { member in
            let parts = member.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl" && !parts[0].isEmpty
        }
        guard pickles.count == 1, let pickle = pickles.first else {
            if pickles.count > 1 {
                throw TensorFormatError(
                    path: path, "holds \(pickles.count) data.pkl members (\(pickles.map(\.name))); it is corrupt")
            }
            if members.contains(where: { $0.name.hasSuffix("/constants.pkl") || $0.name.contains("/code/") }) {
                throw TensorFormatError(
                    path: path,
                    "is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save the state dict "
                        + "instead: torch.save(module.state_dict(), path)")
            }
            throw TensorFormatError(
                path: path, "is a ZIP archive without <name>/data.pkl, so it is not a torch.save checkpoint")
        }
        let prefix = String(pickle.name.dropLast("/data.pkl".count))
        var records: [String: ZipMember] = [:]
        let recordFolder = prefix + "/data/"
        for member in members where member.name.hasPrefix(recordFolder) {
            let key = String(member.name.dropFirst(recordFolder.count))
            if !key.isEmpty, !key.contains("/") { records[key] = member }
        }
        self.prefix = prefix
        self.pickle = pickle
        self.records = records
        self.byteOrder = try Self.byteOrder(byName["\(prefix)/byteorder"], in: bytes, path: path)
        let versionMember = byName["\(prefix)/version"] ?? byName["\(prefix)/.data/version"]
        self.formatVersion = try versionMember.map { member in
            String(try Self.smallText(member, in: bytes, path: path).filter { !$0.isWhitespace })
        }
    }

    private static func byteOrder(
        _ member: ZipMember?, in bytes: UnsafeRawBufferPointer, path: String
    ) throws -> PyTorchByteOrder {
        guard let member else { return .little }
        let text = try smallText(member, in: bytes, path: path)
        guard let order = PyTorchByteOrder(rawValue: String(text.filter { !$0.isWhitespace })) else {
            throw TensorFormatError(
                path: path, tensor: member.name, "says the byte order is '\(text)'; expected 'little' or 'big'")
        }
        return order
    }

    /// The text of a small bookkeeping member (at most 64 bytes, UTF-8).
    private static func smallText(_ member: ZipMember, in bytes: UnsafeRawBufferPointer, path: String) throws -> String
    {
        guard member.uncompressedSize <= 64 else {
            throw TensorFormatError(
                path: path, tensor: member.name, "is \(member.uncompressedSize) bytes; expected a word")
        }
        let data = try contents(member, in: bytes, path: path)
        guard let text = validatedUTF8(data) else {
            throw TensorFormatError(path: path, tensor: member.name, "is not UTF-8 text")
        }
        return text
    }

    /// A member's bytes, inflated if deflated, CRC-32 checked.
    static func contents(_ member: ZipMember, in bytes: UnsafeRawBufferPointer, path: String) throws -> [UInt8] {
        try withContents(member, in: bytes, path: path) { Array($0) }
    }

    /// Runs `body` on a member's bytes (zero-copy when stored), inflated if deflated. The CRC-32 is checked
    /// unless `verify` is false.
    static func withContents<R>(
        _ member: ZipMember, in bytes: UnsafeRawBufferPointer, path: String, verify: Bool = true,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        guard let stored = bytes.slice(at: member.dataOffset, length: member.compressedSize) else {
            throw TensorFormatError(path: path, tensor: member.name, "the member's data lies outside the file")
        }
        if member.method == 0 {
            if verify { try checkCRC(Zlib.crc32(stored), member, path: path) }
            return try body(stored)
        }
        let inflated = try Zlib.inflateData(
            stored, raw: true, expectedSize: member.uncompressedSize, path: path, member: member.name)
        return try inflated.withUnsafeBytes { raw in
            try checkCRC(Zlib.crc32(raw), member, path: path)
            return try body(raw)
        }
    }

    private static func checkCRC(_ computed: UInt32, _ member: ZipMember, path: String) throws {
        guard computed == member.crc32 else {
            throw TensorFormatError(
                path: path, tensor: member.name,
                "CRC-32 mismatch (the directory says \(String(member.crc32, radix: 16)), the data gives "
                    + "\(String(computed, radix: 16))); the checkpoint is corrupt — download or save it again")
        }
    }
}
