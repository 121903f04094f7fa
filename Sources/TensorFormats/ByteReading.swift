// Bounds-checked little-endian reads. Every parser in this module reads file data only through these,
// so a truncated or corrupted file yields nil (and then a thrown error), never an out-of-bounds read.

extension UnsafeRawBufferPointer {
    /// The little-endian integer at `offset`, or nil when it would reach past the end of the buffer.
    @inline(__always)
    func readLittleEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size else { return nil }
        return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The bytes in `offset ..< offset + length`, or nil when that range is not inside the buffer.
    func slice(at offset: Int, length: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else { return nil }
        return UnsafeRawBufferPointer(rebasing: self[offset..<(offset + length)])
    }
}

extension Array where Element == UInt8 {
    /// Appends `value` as little-endian bytes.
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// `text` if `bytes` are valid UTF-8, else nil.
func validatedUTF8<C: Collection<UInt8>>(_ bytes: C) -> String? {
    let text = String(decoding: bytes, as: UTF8.self)
    // Decoding replaces each invalid sequence with U+FFFD, so the bytes survive unchanged only if valid.
    guard text.utf8.count == bytes.count, text.utf8.elementsEqual(bytes) else { return nil }
    return text
}

/// `text` from bytes read as ISO-8859-1 (every byte is the code point of the same value).
func latin1String<C: Collection<UInt8>>(_ bytes: C) -> String {
    var scalars = String.UnicodeScalarView()
    for byte in bytes { scalars.append(Unicode.Scalar(byte)) }
    return String(scalars)
}
