/// A minimal protocol-buffers wire-format reader (gemma2.md §4.6), enough for `sentencepiece_model.proto`.
///
/// Each field is a varint key `(field << 3) | wireType`; wire types 0 (varint), 1 (64-bit), 2 (length-delimited)
/// and 5 (32-bit) are read or skipped; groups (3, 4) and anything that runs past the end throw a
/// ``TokenizerError`` naming the file and the offset.
struct ProtobufReader {
    /// Wire types.
    enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    /// The whole file.
    let bytes: UnsafeBufferPointer<UInt8>
    /// The file, for error messages.
    let path: String
    /// What is being read (e.g. "pieces[12]"), for error messages.
    let context: String
    /// Offset of the next unread byte.
    private(set) var position: Int
    /// End of this message.
    let end: Int

    /// A reader for the whole buffer.
    init(bytes: UnsafeBufferPointer<UInt8>, path: String) {
        self.bytes = bytes
        self.path = path
        self.context = "ModelProto"
        self.position = 0
        self.end = bytes.count
    }

    private init(parent: ProtobufReader, range: Range<Int>, context: String) {
        bytes = parent.bytes
        path = parent.path
        self.context = context
        position = range.lowerBound
        end = range.upperBound
    }

    /// A ``TokenizerError`` naming the file, the offset and `message`.
    func error(_ message: String) -> TokenizerError {
        TokenizerError(path: path, "invalid SentencePiece model at byte \(position) (\(context)): \(message)")
    }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws -> (number: Int, wireType: WireType)? {
        guard position < end else { return nil }
        let key = try readVarint()
        let number = key >> 3
        guard number > 0, number <= 0x1FFF_FFFF else { throw error("invalid field number \(number)") }
        guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
            throw error("unsupported wire type \(key & 7) for field \(number)")
        }
        return (Int(number), wireType)
    }

    /// Reads a base-128 varint (at most 10 bytes).
    mutating func readVarint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw error("truncated varint (file cut short?)") }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw error("varint overflows 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
            if shift > 63 { throw error("varint longer than 10 bytes") }
        }
    }

    /// Reads a little-endian 32-bit value.
    mutating func readFixed32() throws -> UInt32 {
        guard end - position >= 4 else { throw error("truncated 32-bit field (file cut short?)") }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
        position += 4
        return value
    }

    /// Reads a length-delimited field's bytes range and skips past it.
    mutating func readLengthDelimited() throws -> Range<Int> {
        let length = try readVarint()
        guard length <= UInt64(end - position) else {
            throw error("field length \(length) runs past the end (\(end - position) bytes left; file cut short?)")
        }
        let range = position..<position + Int(length)
        position = range.upperBound
        return range
    }

    /// Reads a length-delimited field's bytes.
    mutating func readBytes() throws -> [UInt8] {
        Array(bytes[try readLengthDelimited()])
    }

    /// A reader for an embedded message.
    mutating func readMessage(context: String) throws -> ProtobufReader {
        ProtobufReader(parent: self, range: try readLengthDelimited(), context: context)
    }

    /// Reads a field of `wireType` expected to be a varint (bool, enum, int32).
    mutating func readVarintField(_ wireType: WireType, name: String) throws -> UInt64 {
        guard wireType == .varint else { throw error("field \(name) has wire type \(wireType), expected varint") }
        return try readVarint()
    }

    /// Skips a field's value.
    mutating func skip(_ wireType: WireType) throws {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64:
            guard end - position >= 8 else { throw error("truncated 64-bit field (file cut short?)") }
            position += 8
        case .lengthDelimited: _ = try readLengthDelimited()
        case .fixed32: _ = try readFixed32()
        }
    }
}
