// Locating the members of a ZIP archive through its central directory (APPNOTE.TXT; gemma2.md §5.6),
// including ZIP64 end records and extra fields. Every offset is checked against the buffer first.

/// One member of a ZIP archive.
struct ZipMember: Sendable {
    /// The member's file name, e.g. `W_enc.npy`.
    var name: String
    /// 0 = stored, 8 = deflated.
    var method: UInt16
    var crc32: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    /// Absolute offset of the member's (possibly compressed) bytes.
    var dataOffset: Int
}

/// Reads a ZIP archive's table of contents.
enum ZipReader {
    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let localSignature: UInt32 = 0x0403_4B50
    /// DEFLATE cannot expand data by more than about 1032:1.
    private static let maximumDeflateRatio = 1032

    /// The members of the archive in `bytes`, in central-directory order.
    /// - Throws: ``TensorFormatError`` naming `path` (and the member at fault) for anything malformed.
    static func members(of bytes: UnsafeRawBufferPointer, path: String) throws -> [ZipMember] {
        func fail(_ problem: String, member: String? = nil) -> TensorFormatError {
            TensorFormatError(path: path, tensor: member, problem)
        }
        let end = try findEndRecord(bytes, path: path)
        var entryCount = Int(bytes.readLittleEndian(UInt16.self, at: end + 10) ?? 0)
        var directorySize = Int(bytes.readLittleEndian(UInt32.self, at: end + 12) ?? 0)
        var directoryOffset = Int(bytes.readLittleEndian(UInt32.self, at: end + 16) ?? 0)
        let disk = bytes.readLittleEndian(UInt16.self, at: end + 4) ?? 0
        let directoryDisk = bytes.readLittleEndian(UInt16.self, at: end + 6) ?? 0
        var directoryLimit = end
        if end >= 20, bytes.readLittleEndian(UInt32.self, at: end - 20) == zip64LocatorSignature {
            guard let recordOffset64 = bytes.readLittleEndian(UInt64.self, at: end - 12),
                let recordOffset = Int(exactly: recordOffset64), recordOffset <= end - 20 - 56,
                bytes.readLittleEndian(UInt32.self, at: recordOffset) == zip64EndSignature,
                let count64 = bytes.readLittleEndian(UInt64.self, at: recordOffset + 32),
                let size64 = bytes.readLittleEndian(UInt64.self, at: recordOffset + 40),
                let offset64 = bytes.readLittleEndian(UInt64.self, at: recordOffset + 48),
                let count = Int(exactly: count64), let size = Int(exactly: size64), let offset = Int(exactly: offset64)
            else { throw fail("the ZIP64 end-of-central-directory record is missing or damaged; the file is corrupt") }
            guard bytes.readLittleEndian(UInt32.self, at: recordOffset + 16) == 0,
                bytes.readLittleEndian(UInt32.self, at: recordOffset + 20) == 0
            else { throw fail("multi-disk (split) ZIP archives are not supported") }
            entryCount = count
            directorySize = size
            directoryOffset = offset
            directoryLimit = recordOffset
        } else {
            guard disk == 0, directoryDisk == 0 else { throw fail("multi-disk (split) ZIP archives are not supported") }
            if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
                throw fail("the archive needs ZIP64 records but has no ZIP64 locator; the file is corrupt")
            }
        }
        guard let directory = bytes.slice(at: directoryOffset, length: directorySize),
            directoryOffset + directorySize <= directoryLimit
        else {
            throw fail(
                "the central directory (\(directorySize) bytes at offset \(directoryOffset)) lies outside the "
                    + "\(bytes.count)-byte file; it was truncated or is corrupt")
        }
        guard entryCount <= directorySize / 46 else {
            throw fail("the archive claims \(entryCount) members, more than its central directory can hold; corrupt")
        }
        var members: [ZipMember] = []
        var seen: Set<String> = []
        var position = 0
        for index in 0..<entryCount {
            let member = try readCentralEntry(directory, at: &position, index: index, archive: bytes, path: path)
            guard let member else { continue }
            guard seen.insert(member.name).inserted else {
                throw fail("the archive holds two members with this name; it is corrupt", member: member.name)
            }
            members.append(member)
        }
        return members
    }

    /// The offset of the end-of-central-directory record: the last signature, searching backwards over at
    /// most the 65,535-byte comment, whose declared comment fits in the file.
    private static func findEndRecord(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Int {
        guard bytes.count >= 22 else {
            throw TensorFormatError(
                path: path, "the file is \(bytes.count) bytes, too short to be a ZIP (.npz) archive; it was truncated")
        }
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        var candidate = bytes.count - 22
        while candidate >= lowest {
            if bytes.readLittleEndian(UInt32.self, at: candidate) == endSignature,
                let commentLength = bytes.readLittleEndian(UInt16.self, at: candidate + 20),
                candidate + 22 + Int(commentLength) <= bytes.count
            {
                return candidate
            }
            candidate -= 1
        }
        throw TensorFormatError(
            path: path,
            "no ZIP end-of-central-directory record; the file is not a ZIP (.npz) archive or it was truncated")
    }

    /// Reads the central entry at `position` (advancing it) and locates its data via the local header.
    /// Returns nil for directory entries.
    private static func readCentralEntry(
        _ directory: UnsafeRawBufferPointer, at position: inout Int, index: Int,
        archive bytes: UnsafeRawBufferPointer, path: String
    ) throws -> ZipMember? {
        func fail(_ problem: String, member: String? = nil) -> TensorFormatError {
            TensorFormatError(path: path, tensor: member, problem)
        }
        let start = position
        guard directory.readLittleEndian(UInt32.self, at: start) == centralSignature,
            let flags = directory.readLittleEndian(UInt16.self, at: start + 8),
            let method = directory.readLittleEndian(UInt16.self, at: start + 10),
            let crc = directory.readLittleEndian(UInt32.self, at: start + 16),
            let compressed32 = directory.readLittleEndian(UInt32.self, at: start + 20),
            let uncompressed32 = directory.readLittleEndian(UInt32.self, at: start + 24),
            let nameLength = directory.readLittleEndian(UInt16.self, at: start + 28),
            let extraLength = directory.readLittleEndian(UInt16.self, at: start + 30),
            let commentLength = directory.readLittleEndian(UInt16.self, at: start + 32),
            let localOffset32 = directory.readLittleEndian(UInt32.self, at: start + 42),
            let nameBytes = directory.slice(at: start + 46, length: Int(nameLength)),
            let extra = directory.slice(at: start + 46 + Int(nameLength), length: Int(extraLength)),
            start + 46 + Int(nameLength) + Int(extraLength) + Int(commentLength) <= directory.count
        else { throw fail("central directory entry \(index) is damaged or cut short; the archive is corrupt") }
        position = start + 46 + Int(nameLength) + Int(extraLength) + Int(commentLength)
        // Bit 11 marks UTF-8 names; others are CP437, which agrees with ASCII (approximated by Latin-1 here).
        let name = (flags & 0x0800 != 0 ? validatedUTF8(nameBytes) : nil) ?? latin1String(nameBytes)
        if name.hasSuffix("/") { return nil }
        var uncompressedSize = Int(uncompressed32)
        var compressedSize = Int(compressed32)
        var localOffset = Int(localOffset32)
        if uncompressed32 == 0xFFFF_FFFF || compressed32 == 0xFFFF_FFFF || localOffset32 == 0xFFFF_FFFF {
            guard
                let sizes = zip64Fields(
                    extra, uncompressed: uncompressed32 == 0xFFFF_FFFF, compressed: compressed32 == 0xFFFF_FFFF,
                    offset: localOffset32 == 0xFFFF_FFFF)
            else { throw fail("its ZIP64 extra field is missing or damaged; the archive is corrupt", member: name) }
            uncompressedSize = sizes.uncompressed ?? uncompressedSize
            compressedSize = sizes.compressed ?? compressedSize
            localOffset = sizes.offset ?? localOffset
        }
        guard flags & 0x0001 == 0 else {
            throw fail("this member is encrypted; encrypted archives are not supported", member: name)
        }
        switch method {
        case 0:
            guard compressedSize == uncompressedSize else {
                throw fail(
                    "a stored member must have equal sizes, but the directory says \(compressedSize) and "
                        + "\(uncompressedSize); the archive is corrupt", member: name)
            }
        case 8:
            let (limit, overflow) = compressedSize.multipliedReportingOverflow(by: maximumDeflateRatio)
            guard overflow || uncompressedSize - 1024 <= limit else {
                throw fail(
                    "\(compressedSize) deflated bytes cannot expand to the \(uncompressedSize) the directory "
                        + "claims; the archive is corrupt", member: name)
            }
        default:
            let known = [12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "xz", 9: "Deflate64"][Int(method)]
            throw fail(
                "compression method \(method)\(known.map { " (\($0))" } ?? "") is not supported; only stored (0) "
                    + "and deflate (8) are — re-save with np.savez or np.savez_compressed", member: name)
        }
        guard bytes.readLittleEndian(UInt32.self, at: localOffset) == localSignature,
            let localNameLength = bytes.readLittleEndian(UInt16.self, at: localOffset + 26),
            let localExtraLength = bytes.readLittleEndian(UInt16.self, at: localOffset + 28),
            let localName = bytes.slice(at: localOffset + 30, length: Int(localNameLength))
        else {
            throw fail(
                "its local header at offset \(localOffset) is missing or damaged; the archive is corrupt", member: name)
        }
        guard localName.elementsEqual(nameBytes) else {
            throw fail("the local header names a different file than the central directory; corrupt", member: name)
        }
        let dataOffset = localOffset + 30 + Int(localNameLength) + Int(localExtraLength)
        guard bytes.slice(at: dataOffset, length: compressedSize) != nil else {
            throw fail(
                "its \(compressedSize) data bytes at offset \(dataOffset) run past the end of the "
                    + "\(bytes.count)-byte file; it was truncated", member: name)
        }
        return ZipMember(
            name: name, method: method, crc32: crc, compressedSize: compressedSize,
            uncompressedSize: uncompressedSize, dataOffset: dataOffset)
    }

    /// The 64-bit values in a ZIP64 extra field (id 0x0001), present in this order only for saturated fields.
    private static func zip64Fields(
        _ extra: UnsafeRawBufferPointer, uncompressed: Bool, compressed: Bool, offset: Bool
    ) -> (uncompressed: Int?, compressed: Int?, offset: Int?)? {
        var position = 0
        while let id = extra.readLittleEndian(UInt16.self, at: position),
            let size = extra.readLittleEndian(UInt16.self, at: position + 2)
        {
            guard let field = extra.slice(at: position + 4, length: Int(size)) else { return nil }
            position += 4 + Int(size)
            guard id == 0x0001 else { continue }
            var cursor = 0
            func next() -> Int? {
                guard let value = field.readLittleEndian(UInt64.self, at: cursor), let result = Int(exactly: value)
                else { return nil }
                cursor += 8
                return result
            }
            var result: (uncompressed: Int?, compressed: Int?, offset: Int?) = (nil, nil, nil)
            if uncompressed {
                guard let value = next() else { return nil }
                result.uncompressed = value
            }
            if compressed {
                guard let value = next() else { return nil }
                result.compressed = value
            }
            if offset {
                guard let value = next() else { return nil }
                result.offset = value
            }
            return result
        }
        return nil
    }
}
