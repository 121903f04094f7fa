// Writing numpy-compatible ZIP archives of .npy members, one member at a time.

/// Streams a ZIP archive of `.npy` members to a sink.
enum ZipWriter {
    private static let saturated32: UInt32 = 0xFFFF_FFFF
    /// 1980-01-01 00:00 in MS-DOS format, so archives are reproducible.
    private static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1
    private static let dosTime: UInt16 = 0

    private struct CentralEntry {
        var name: [UInt8]
        var method: UInt16
        var crc: UInt32
        var compressedSize: Int
        var uncompressedSize: Int
        var localOffset: Int
        var zip64: Bool
    }

    /// Writes the archive for `arrays` through `sink`; `label` names the output in messages.
    static func write(
        _ arrays: [(name: String, array: NDArray)], compressed: Bool, forceZip64: Bool, label: String,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var seen: Set<String> = []
        for (name, array) in arrays {
            guard !name.isEmpty else { throw TensorFormatError(path: label, "an array has an empty name") }
            guard name.utf8.count <= 0xFFFF - 4 else {
                throw TensorFormatError(path: label, tensor: name, "the name is too long for a ZIP member name")
            }
            guard seen.insert(name).inserted else {
                throw TensorFormatError(path: label, tensor: name, "two arrays have this name")
            }
            guard let count = checkedProduct(array.shape),
                case (let bytes, false) = count.multipliedReportingOverflow(by: array.dtype.itemSize),
                bytes == array.data.count
            else {
                throw TensorFormatError(
                    path: label, tensor: name,
                    "shape \(array.shape) of \(array.dtype.rawValue) does not match its \(array.data.count) data bytes")
            }
        }
        var offset = 0
        var entries: [CentralEntry] = []
        func emit(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try sink($0) }
            offset += bytes.count
        }
        for (name, array) in arrays {
            let header = NPY.headerBytes(for: array)
            let uncompressedSize = header.count + array.data.count
            let crc = array.data.withUnsafeBytes { Zlib.crc32($0, continuing: Zlib.crc32(header)) }
            var deflated: [UInt8] = []
            if compressed {
                deflated = try (header + array.data).withUnsafeBytes {
                    try Zlib.deflateData($0, level: 6, raw: true, path: label, member: name + ".npy")
                }
            }
            let compressedSize = compressed ? deflated.count : uncompressedSize
            let entry = CentralEntry(
                name: Array((name + ".npy").utf8), method: compressed ? 8 : 0, crc: crc,
                compressedSize: compressedSize, uncompressedSize: uncompressedSize, localOffset: offset,
                zip64: forceZip64 || uncompressedSize >= Int(saturated32) || compressedSize >= Int(saturated32))
            try emit(localHeader(entry))
            if compressed {
                try emit(deflated)
            } else {
                try emit(header)
                try array.data.withUnsafeBytes { try sink($0) }
                offset += array.data.count
            }
            entries.append(entry)
        }
        let directoryOffset = offset
        var directory: [UInt8] = []
        for entry in entries { directory += centralHeader(entry, forceZip64: forceZip64) }
        try emit(directory)
        try emit(
            endRecords(
                count: entries.count, directorySize: directory.count, directoryOffset: directoryOffset,
                forceZip64: forceZip64))
    }

    private static func flags(_ name: [UInt8]) -> UInt16 { name.allSatisfy { $0 < 0x80 } ? 0 : 0x0800 }

    private static func localHeader(_ entry: CentralEntry) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(UInt32(0x0403_4B50))
        bytes.appendLittleEndian(UInt16(entry.zip64 ? 45 : 20))
        bytes.appendLittleEndian(flags(entry.name))
        bytes.appendLittleEndian(entry.method)
        bytes.appendLittleEndian(dosTime)
        bytes.appendLittleEndian(dosDate)
        bytes.appendLittleEndian(entry.crc)
        bytes.appendLittleEndian(entry.zip64 ? saturated32 : UInt32(entry.compressedSize))
        bytes.appendLittleEndian(entry.zip64 ? saturated32 : UInt32(entry.uncompressedSize))
        bytes.appendLittleEndian(UInt16(entry.name.count))
        bytes.appendLittleEndian(UInt16(entry.zip64 ? 20 : 0))
        bytes += entry.name
        if entry.zip64 {
            // A local ZIP64 field always carries both sizes.
            bytes.appendLittleEndian(UInt16(1))
            bytes.appendLittleEndian(UInt16(16))
            bytes.appendLittleEndian(UInt64(entry.uncompressedSize))
            bytes.appendLittleEndian(UInt64(entry.compressedSize))
        }
        return bytes
    }

    private static func centralHeader(_ entry: CentralEntry, forceZip64: Bool) -> [UInt8] {
        let bigUncompressed = entry.zip64
        let bigCompressed = entry.zip64
        let bigOffset = forceZip64 || entry.localOffset >= Int(saturated32)
        var extra: [UInt8] = []
        if bigUncompressed { extra.appendLittleEndian(UInt64(entry.uncompressedSize)) }
        if bigCompressed { extra.appendLittleEndian(UInt64(entry.compressedSize)) }
        if bigOffset { extra.appendLittleEndian(UInt64(entry.localOffset)) }
        if !extra.isEmpty {
            extra = [0x01, 0x00] + Swift.withUnsafeBytes(of: UInt16(extra.count).littleEndian, Array.init) + extra
        }
        let needsZip64 = !extra.isEmpty
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(UInt32(0x0201_4B50))
        bytes.appendLittleEndian(UInt16(0x0300 | (needsZip64 ? 45 : 20)))  // made by: Unix, spec version
        bytes.appendLittleEndian(UInt16(needsZip64 ? 45 : 20))
        bytes.appendLittleEndian(flags(entry.name))
        bytes.appendLittleEndian(entry.method)
        bytes.appendLittleEndian(dosTime)
        bytes.appendLittleEndian(dosDate)
        bytes.appendLittleEndian(entry.crc)
        bytes.appendLittleEndian(bigCompressed ? saturated32 : UInt32(entry.compressedSize))
        bytes.appendLittleEndian(bigUncompressed ? saturated32 : UInt32(entry.uncompressedSize))
        bytes.appendLittleEndian(UInt16(entry.name.count))
        bytes.appendLittleEndian(UInt16(extra.count))
        bytes.appendLittleEndian(UInt16(0))  // comment length
        bytes.appendLittleEndian(UInt16(0))  // disk number start
        bytes.appendLittleEndian(UInt16(0))  // internal attributes
        bytes.appendLittleEndian(UInt32(0o100644) << 16)  // external attributes: regular file, rw-r--r--
        bytes.appendLittleEndian(bigOffset ? saturated32 : UInt32(entry.localOffset))
        bytes += entry.name
        bytes += extra
        return bytes
    }

    private static func endRecords(count: Int, directorySize: Int, directoryOffset: Int, forceZip64: Bool) -> [UInt8] {
        let zip64 =
            forceZip64 || count >= 0xFFFF || directorySize >= Int(saturated32)
            || directoryOffset >= Int(saturated32)
        var bytes: [UInt8] = []
        if zip64 {
            let recordOffset = directoryOffset + directorySize
            bytes.appendLittleEndian(UInt32(0x0606_4B50))
            bytes.appendLittleEndian(UInt64(44))  // size of the rest of this record
            bytes.appendLittleEndian(UInt16(0x0300 | 45))
            bytes.appendLittleEndian(UInt16(45))
            bytes.appendLittleEndian(UInt32(0))  // this disk
            bytes.appendLittleEndian(UInt32(0))  // directory disk
            bytes.appendLittleEndian(UInt64(count))
            bytes.appendLittleEndian(UInt64(count))
            bytes.appendLittleEndian(UInt64(directorySize))
            bytes.appendLittleEndian(UInt64(directoryOffset))
            bytes.appendLittleEndian(UInt32(0x0706_4B50))
            bytes.appendLittleEndian(UInt32(0))  // disk holding the ZIP64 end record
            bytes.appendLittleEndian(UInt64(recordOffset))
            bytes.appendLittleEndian(UInt32(1))  // total disks
        }
        bytes.appendLittleEndian(UInt32(0x0605_4B50))
        bytes.appendLittleEndian(UInt16(0))
        bytes.appendLittleEndian(UInt16(0))
        bytes.appendLittleEndian(UInt16(zip64 ? 0xFFFF : count))
        bytes.appendLittleEndian(UInt16(zip64 ? 0xFFFF : count))
        bytes.appendLittleEndian(zip64 ? saturated32 : UInt32(directorySize))
        bytes.appendLittleEndian(zip64 ? saturated32 : UInt32(directoryOffset))
        bytes.appendLittleEndian(UInt16(0))  // comment length
        return bytes
    }
}
