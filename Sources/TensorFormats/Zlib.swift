import CZlib

/// zlib compression for the rest of the framework, so no other module imports CZlib.
///
/// `compress`/`decompress` use the zlib container (RFC 1950); ZIP members use raw DEFLATE (RFC 1951)
/// through the internal `deflateData`/`inflateData` with negative window bits.
public enum Zlib {
    /// zlib's `uInt` counters are 32-bit, so large buffers are fed in pieces of at most this many bytes.
    private static let maximumPiece = 1 << 30
    private static let scratchSize = 1 << 18

    /// Compresses `bytes` into the zlib format at `level` (0 = store … 9 = smallest; 6 is zlib's default).
    /// - Throws: ``TensorFormatError`` if zlib refuses the level or runs out of memory.
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try deflateData($0, level: level, raw: false, path: "zlib data", member: nil) }
    }

    /// Decompresses zlib-format `bytes`. With `expectedSize`, the output must be exactly that long.
    /// - Throws: ``TensorFormatError`` for corrupt or truncated data or a size other than `expectedSize`.
    public static func decompress(_ bytes: [UInt8], expectedSize: Int? = nil) throws -> [UInt8] {
        try bytes.withUnsafeBytes {
            try inflateData($0, raw: false, expectedSize: expectedSize, path: "zlib data", member: nil)
        }
    }

    /// The CRC-32 (ZIP/PNG polynomial) of `bytes`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 { crc32(bytes, continuing: 0) }

    /// The CRC-32 of the concatenation of the bytes that gave `previous` and `bytes`.
    static func crc32(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32) -> UInt32 {
        var crc = uLong(previous)
        var offset = 0
        while offset < bytes.count, let base = bytes.baseAddress {
            let piece = min(bytes.count - offset, maximumPiece)
            crc = CZlib.crc32(crc, (base + offset).assumingMemoryBound(to: Bytef.self), uInt(piece))
            offset += piece
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// The CRC-32 of `bytes`.
    public static func crc32(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { crc32($0) } }

    private static func zlibProblem(_ status: Int32, _ stream: z_stream) -> String {
        let detail = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
        return detail
    }

    /// Compresses `input`: raw DEFLATE when `raw`, else the zlib container.
    static func deflateData(
        _ input: UnsafeRawBufferPointer, level: Int32, raw: Bool, path: String, member: String?
    ) throws -> [UInt8] {
        var stream = z_stream()
        let windowBits: Int32 = raw ? -15 : 15
        let initStatus = deflateInit2_(
            &stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw TensorFormatError(
                path: path, tensor: member,
                "zlib could not start compressing (level \(level); \(zlibProblem(initStatus, stream)))")
        }
        defer { deflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(Int(deflateBound(&stream, uLong(input.count))))
        var scratch = [UInt8](repeating: 0, count: scratchSize)
        var offset = 0
        while true {
            if stream.avail_in == 0, offset < input.count, let base = input.baseAddress {
                let piece = min(input.count - offset, maximumPiece)
                stream.next_in = UnsafeMutablePointer(mutating: (base + offset).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(piece)
                offset += piece
            }
            let flush = offset == input.count ? Z_FINISH : Z_NO_FLUSH
            var produced = 0
            let status = scratch.withUnsafeMutableBytes { out -> Int32 in
                stream.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(out.count)
                let status = CZlib.deflate(&stream, flush)
                produced = out.count - Int(stream.avail_out)
                return status
            }
            output.append(contentsOf: scratch[0..<produced])
            if status == Z_STREAM_END { return output }
            guard status == Z_OK || (status == Z_BUF_ERROR && produced > 0) else {
                throw TensorFormatError(
                    path: path, tensor: member, "zlib compression failed: \(zlibProblem(status, stream))")
            }
        }
    }

    /// Decompresses `input`: raw DEFLATE when `raw`, else the zlib container. With `expectedSize`, the output
    /// must be exactly that long (and no more is ever allocated).
    static func inflateData(
        _ input: UnsafeRawBufferPointer, raw: Bool, expectedSize: Int?, path: String, member: String?
    ) throws -> [UInt8] {
        func fail(_ problem: String) -> TensorFormatError { TensorFormatError(path: path, tensor: member, problem) }
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, raw ? -15 : 15, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw fail("zlib could not start decompressing (\(zlibProblem(initStatus, stream)))")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        if let expectedSize, expectedSize > 0 { output.reserveCapacity(expectedSize) }
        var scratch = [UInt8](repeating: 0, count: scratchSize)
        var offset = 0
        while true {
            if stream.avail_in == 0, offset < input.count, let base = input.baseAddress {
                let piece = min(input.count - offset, maximumPiece)
                stream.next_in = UnsafeMutablePointer(mutating: (base + offset).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(piece)
                offset += piece
            }
            let inputBefore = stream.avail_in
            var produced = 0
            let status = scratch.withUnsafeMutableBytes { out -> Int32 in
                stream.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(out.count)
                let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                produced = out.count - Int(stream.avail_out)
                return status
            }
            if let expectedSize, output.count + produced > expectedSize {
                throw fail(
                    "the compressed data expands to more than the expected \(expectedSize) bytes; the file is corrupt")
            }
            output.append(contentsOf: scratch[0..<produced])
            switch status {
            case Z_STREAM_END:
                if let expectedSize, output.count != expectedSize {
                    throw fail(
                        "the compressed data expands to \(output.count) bytes, not the expected \(expectedSize); "
                            + "the file is corrupt")
                }
                return output
            case Z_OK, Z_BUF_ERROR:
                let stalled = produced == 0 && stream.avail_in == inputBefore
                if stalled && stream.avail_in == 0 && offset == input.count {
                    throw fail("the compressed data ends before the end of its stream; the file was truncated")
                }
                if stalled && status == Z_BUF_ERROR {
                    throw fail("zlib made no progress decompressing; the data is corrupt")
                }
            case Z_NEED_DICT:
                throw fail("the compressed data needs a preset dictionary, which is not supported")
            default:
                throw fail("the compressed data is corrupt (\(zlibProblem(status, stream)))")
            }
        }
    }
}
