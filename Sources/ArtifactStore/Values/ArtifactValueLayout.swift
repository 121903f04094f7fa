import SteeringCore

/// The byte layout of a value in the `artifacts` database (Docs/Artifacts.md, "Value layout"):
///
/// | Offset | Size | Content |
/// |---|---|---|
/// | 0 | 4 | magic `STRA` (`53 54 52 41`) |
/// | 4 | 4 | value format version, u32 little-endian (1) |
/// | 8 | 4 | header length `H`, u32 little-endian |
/// | 12 | `H` | header: canonical JSON (``ArtifactHeader/canonicalJSON``), space-padded to `(12 + H) % 16 == 0` |
/// | 12 + `H` | `payloadSize` | payload, little-endian elements, row-major |
enum ArtifactValueLayout {
    /// The four bytes every value starts with.
    static let magic: [UInt8] = Array("STRA".utf8)
    /// Version of this layout; readers reject larger numbers.
    static let version: UInt32 = 1
    /// Magic, version and header length.
    static let fixedSize = 12
    /// The payload starts at a multiple of this offset within the value.
    static let payloadAlignment = 16

    /// Magic, version, header length and the padded header: everything before the payload.
    static func prefix(for header: ArtifactHeader) -> [UInt8] {
        var json = Array(header.canonicalJSON.utf8)
        let unpadded = fixedSize + json.count
        let padded = (unpadded + payloadAlignment - 1) / payloadAlignment * payloadAlignment
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padded - unpadded))
        var out = magic
        out.reserveCapacity(fixedSize + json.count)
        appendLittleEndian(version, to: &out)
        appendLittleEndian(UInt32(json.count), to: &out)
        out.append(contentsOf: json)
        return out
    }

    /// Parses the prefix of a stored value and checks that the payload has the size and shape the
    /// header promises. The payload digest is not checked here (see `verify`).
    ///
    /// - Returns: The header and the byte range of the payload within `value`.
    /// - Throws: ``ArtifactStoreError/corruptArtifact(key:problem:)``.
    static func parse(_ value: UnsafeRawBufferPointer, key: String) throws(ArtifactStoreError) -> (
        header: ArtifactHeader, payload: Range<Int>
    ) {
        func corrupt(_ problem: String) -> ArtifactStoreError { .corruptArtifact(key: key, problem: problem) }
        guard value.count >= fixedSize else {
            throw corrupt("the value is \(value.count) bytes, shorter than its prefix")
        }
        guard Array(value[0..<4]) == magic else { throw corrupt("the value does not start with the magic 'STRA'") }
        let valueVersion = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        guard valueVersion == version else {
            throw corrupt("value format version \(valueVersion) is not supported (this build reads \(version))")
        }
        let headerLength = Int(UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard headerLength <= value.count - fixedSize else {
            throw corrupt("the header length \(headerLength) runs past the end of the \(value.count)-byte value")
        }
        let payloadStart = fixedSize + headerLength
        let header = try ArtifactHeader.parse(value[fixedSize..<payloadStart], key: key)
        let actualSize = value.count - payloadStart
        guard header.payloadSize == actualSize else {
            throw corrupt("the header promises \(header.payloadSize) payload bytes but \(actualSize) are stored")
        }
        if let problem = ArtifactHeader.shapeProblem(
            dtype: header.dtype, shape: header.shape, payloadSize: header.payloadSize)
        {
            throw corrupt(problem)
        }
        return (header, payloadStart..<value.count)
    }

    /// Parses only the header, for listings: the payload is neither copied nor hashed.
    static func header(_ value: UnsafeRawBufferPointer, key: String) throws(ArtifactStoreError) -> ArtifactHeader {
        try parse(value, key: key).header
    }

    private static func appendLittleEndian(_ value: UInt32, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }
}
