/// Reading and writing numpy `.npy` files (format versions 1.0, 2.0 and 3.0; gemma2.md §5.6).
public enum NPY {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
    /// numpy pads headers so the data starts at a multiple of this.
    private static let alignment = 64
    /// numpy leaves room after the dict for the first dimension to grow to this many digits.
    private static let growthAxisDigits = 21

    /// Reads the `.npy` file at `path`.
    /// - Throws: ``TensorFormatError`` naming the file for a missing/empty file, a bad header, an unsupported
    ///   dtype or a data length that does not match the shape.
    public static func read(path: String) throws -> NDArray {
        let mapping = try MappedFile(path: path)
        return try decode(mapping.bytes, path: path, member: nil)
    }

    /// Decodes a whole `.npy` file held in `bytes`; `source` names it in messages.
    public static func decode(_ bytes: UnsafeRawBufferPointer, source: String) throws -> NDArray {
        try decode(bytes, path: source, member: nil)
    }

    /// Decodes `.npy` bytes; errors name `path` and, for archive members, `member`.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, member: String?) throws -> NDArray {
        func fail(_ problem: String) -> TensorFormatError { TensorFormatError(path: path, tensor: member, problem) }
        guard bytes.count >= 10, bytes.prefix(6).elementsEqual(magic) else {
            throw fail("not a .npy file (it does not start with \\x93NUMPY)")
        }
        let major = bytes[6]
        let headerStart: Int
        let headerLength: Int
        switch major {
        case 1:
            headerStart = 10
            headerLength = Int(bytes.readLittleEndian(UInt16.self, at: 8) ?? 0)
        case 2, 3:
            guard let length = bytes.readLittleEndian(UInt32.self, at: 8) else {
                throw fail("the file ends inside the .npy preamble; it was truncated")
            }
            headerStart = 12
            headerLength = Int(length)
        default:
            throw fail("unsupported .npy format version \(major).\(bytes[7]); versions 1, 2 and 3 are readable")
        }
        guard let header = bytes.slice(at: headerStart, length: headerLength) else {
            throw fail(
                "the header length \(headerLength) runs past the end of the \(bytes.count)-byte file; "
                    + "it was truncated")
        }
        let (dtype, bigEndian, fortranOrder, shape) = try parseHeader(header, utf8: major == 3, fail: fail)
        guard let count = checkedProduct(shape),
            case (let byteCount, false) = count.multipliedReportingOverflow(by: dtype.itemSize)
        else { throw fail("shape \(shape) is too large (the byte count overflows)") }
        let dataStart = headerStart + headerLength
        let available = bytes.count - dataStart
        guard available == byteCount else {
            if available < byteCount {
                throw fail(
                    "shape \(shape) of \(dtype.rawValue) needs \(byteCount) data bytes but only \(available) follow "
                        + "the header; the file was truncated")
            }
            throw fail(
                "\(available - byteCount) unexpected bytes follow the \(byteCount) data bytes of shape \(shape); "
                    + "the file is corrupt")
        }
        var data = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[dataStart...]))
        if bigEndian { swapBytes(&data, itemSize: dtype.itemSize) }
        if fortranOrder && shape.count > 1 && count > 1 {
            data = fortranToC(data, shape: shape, itemSize: dtype.itemSize)
        }
        return try NDArray(dtype: dtype, shape: shape, data: data)
    }

    private static func parseHeader(
        _ header: UnsafeRawBufferPointer, utf8: Bool, fail: (String) -> TensorFormatError
    ) throws -> (NPYDType, Bool, Bool, [Int]) {
        let literal: PythonLiteral
        do {
            literal = try PythonLiteralParser.parse(header, utf8: utf8)
        } catch {
            throw fail("the header is not a readable Python dict (at header byte \(error.offset): \(error.problem))")
        }
        guard case .dict(let pairs) = literal else { throw fail("the header is not a dict") }
        func value(_ key: String) throws -> PythonLiteral {
            for pair in pairs {
                if case .string(let name) = pair.key, name == key { return pair.value }
            }
            throw fail("the header dict has no '\(key)' key")
        }
        let descr: String
        switch try value("descr") {
        case .string(let text): descr = text
        case .list:
            throw fail("structured (record) dtypes are not supported; save each field as its own array")
        default: throw fail("the header's 'descr' is not a dtype string")
        }
        guard let (dtype, bigEndian) = NPYDType.parse(descr: descr) else {
            if descr.dropFirst().hasPrefix("O") || descr == "O" {
                throw fail(
                    "dtype '\(descr)' holds pickled Python objects, which cannot be read safely; "
                        + "re-save the array with a numeric dtype")
            }
            let supported = NPYDType.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            throw fail("unsupported dtype '\(descr)'; supported: \(supported) (and their big-endian forms)")
        }
        guard case .bool(let fortranOrder) = try value("fortran_order") else {
            throw fail("the header's 'fortran_order' is not True or False")
        }
        let dimensions: [PythonLiteral]
        switch try value("shape") {
        case .tuple(let items), .list(let items): dimensions = items
        default: throw fail("the header's 'shape' is not a tuple")
        }
        var shape: [Int] = []
        for dimension in dimensions {
            guard case .integer(let size) = dimension, size >= 0 else {
                throw fail("the header's 'shape' must hold non-negative integers")
            }
            shape.append(size)
        }
        return (dtype, bigEndian, fortranOrder, shape)
    }

    /// Reverses the byte order of every `itemSize`-byte element.
    private static func swapBytes(_ data: inout [UInt8], itemSize: Int) {
        guard itemSize > 1 else { return }
        data.withUnsafeMutableBufferPointer { buffer in
            var start = 0
            while start + itemSize <= buffer.count {
                var low = start
                var high = start + itemSize - 1
                while low < high {
                    buffer.swapAt(low, high)
                    low += 1
                    high -= 1
                }
                start += itemSize
            }
        }
    }

    /// Reorders column-major (Fortran) element bytes into row-major (C) order.
    private static func fortranToC(_ data: [UInt8], shape: [Int], itemSize: Int) -> [UInt8] {
        let rank = shape.count
        var strides = [Int](repeating: 1, count: rank)  // column-major strides, in elements
        for axis in 1..<rank { strides[axis] = strides[axis - 1] * shape[axis - 1] }
        let count = data.count / itemSize
        var result = [UInt8](repeating: 0, count: data.count)
        var index = [Int](repeating: 0, count: rank)
        data.withUnsafeBytes { source in
            result.withUnsafeMutableBytes { target in
                var sourceElement = 0
                for targetElement in 0..<count {
                    target.baseAddress!.advanced(by: targetElement * itemSize).copyMemory(
                        from: source.baseAddress!.advanced(by: sourceElement * itemSize), byteCount: itemSize)
                    var axis = rank - 1
                    while axis >= 0 {
                        index[axis] += 1
                        sourceElement += strides[axis]
                        if index[axis] < shape[axis] { break }
                        sourceElement -= strides[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return result
    }

    /// The preamble and header numpy writes for `array`.
    static func headerBytes(for array: NDArray) -> [UInt8] { headerBytes(dtype: array.dtype, shape: array.shape) }

    /// The preamble and header numpy writes for a C-order array of `dtype` and `shape` (for writers
    /// that stream the data after it): version 1.0 (2.0 when the header exceeds 65,535 bytes), the
    /// dict with room for the first dimension to grow, spaces and a newline up to a multiple of 64.
    public static func headerBytes(dtype: NPYDType, shape: [Int]) -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        if let first = shape.first {
            dict += String(repeating: " ", count: max(0, growthAxisDigits - String(first).count))
        }
        let text = Array(dict.utf8)
        let withNewline = text.count + 1
        var version: UInt8 = 1
        var lengthBytes = 2
        var padding = alignment - (8 + lengthBytes + withNewline) % alignment
        if withNewline + padding > Int(UInt16.max) {
            version = 2
            lengthBytes = 4
            padding = alignment - (8 + lengthBytes + withNewline) % alignment
        }
        var result = magic + [version, 0]
        if version == 1 {
            result.appendLittleEndian(UInt16(withNewline + padding))
        } else {
            result.appendLittleEndian(UInt32(truncatingIfNeeded: withNewline + padding))
        }
        result += text
        result += [UInt8](repeating: UInt8(ascii: " "), count: padding)
        result.append(0x0A)
        return result
    }

    /// The complete `.npy` file for `array`, byte-identical to what numpy's `np.save` writes for a C-order
    /// array of the same dtype and shape.
    public static func encode(_ array: NDArray) -> [UInt8] {
        headerBytes(for: array) + array.data
    }

    /// Writes `array` to `path` atomically.
    /// - Throws: ``TensorFormatError`` naming `path` when it cannot be written.
    public static func write(_ array: NDArray, to path: String) throws {
        let header = headerBytes(for: array)
        try AtomicWrites.stream(to: path) { sink in
            try header.withUnsafeBytes { try sink($0) }
            try array.data.withUnsafeBytes { try sink($0) }
        }
    }
}
