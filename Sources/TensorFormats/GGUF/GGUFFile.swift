/// One tensor of a GGUF file, as its tensor info describes it (after validation).
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name.
    public let name: String
    /// The element type.
    public let type: GGUFTensorType
    /// The shape, outermost dimension first (the file stores ggml's innermost-first order; this is reversed).
    public let shape: [Int]
    /// The absolute byte range of the data within the file.
    public let dataRange: Range<Int>

    /// The number of elements.
    public var elementCount: Int { checkedProduct(shape) ?? Int.max }

    /// Elements per row: the innermost dimension (a multiple of the type's block size, so rows are whole blocks).
    public var rowLength: Int { shape.last ?? 1 }

    /// The number of rows: the product of all dimensions but the innermost (1 for a 1-D tensor).
    public var rowCount: Int { checkedProduct(Array(shape.dropLast())) ?? Int.max }

    /// Bytes of one row in the file.
    public var rowByteCount: Int { rowLength / type.blockSize * type.typeSize }
}

/// A memory-mapped GGUF file (versions 2 and 3, little-endian) whose header, metadata and tensor infos were
/// fully validated when it was opened: every length and count within the file, known value and tensor types
/// (every ggml type number, quantised ones included), innermost dimensions that are whole blocks, aligned,
/// in-bounds and non-overlapping tensor data.
///
/// Tensors of the types in ``GGUFTensorType/dequantizable`` (F32, F16, BF16, F64, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
/// Q4_K, Q5_K, Q6_K, Q8_K) are read as `Float`, bit-identical to gguf-py's `gguf.quants.dequantize`: whole
/// (``floats(_:)``, ``dequantize(_:into:)``) or by rows (``dequantize(_:rows:into:)``), single-threaded; callers
/// parallelise over row ranges. Other types (integers, Q2_K, Q3_K, the IQ and TQ types …) open, for metadata,
/// and fail when read. Sendable: nothing changes after `init`.
public final class GGUFFile: @unchecked Sendable {
    /// The file's path (or the label of in-memory bytes), used in every message.
    public let path: String
    /// The format version (2 or 3).
    public let version: UInt32
    /// The data alignment: `general.alignment`, else 32.
    public let alignment: Int
    /// The metadata pairs, in file order, with typed reads (``GGUFMetadata/string(_:)`` …).
    public let metadata: GGUFMetadata
    /// The tensor names, in file order.
    public let tensorNames: [String]
    /// The mapped bytes of the whole file.
    public let mapping: MappedFile
    private let infos: [String: GGUFTensorInfo]

    /// Maps and validates the GGUF file at `path`.
    /// - Throws: ``TensorFormatError`` naming the file (and key or tensor) for anything malformed.
    public convenience init(path: String) throws {
        try self.init(mapping: MappedFile(path: path))
    }

    /// Validates GGUF bytes that are already mapped or in memory.
    public init(mapping: MappedFile) throws {
        var reader = GGUFReader(bytes: mapping.bytes, path: mapping.path)
        let parsed = try reader.parse()
        self.path = mapping.path
        self.mapping = mapping
        self.version = parsed.version
        self.alignment = parsed.alignment
        self.metadata = GGUFMetadata(path: mapping.path, pairs: parsed.metadata)
        self.tensorNames = parsed.tensors.map(\.name)
        var infos: [String: GGUFTensorInfo] = [:]
        for info in parsed.tensors { infos[info.name] = info }
        self.infos = infos
    }

    /// The value of metadata `key`, or nil.
    public func value(_ key: String) -> GGUFValue? { metadata.value(key) }

    /// The tensor info of `name`.
    /// - Throws: ``TensorFormatError`` naming the file and the missing tensor, with some names it does hold.
    public func info(_ name: String) throws -> GGUFTensorInfo {
        guard let info = infos[name] else {
            throw TensorFormatError(path: path, tensor: name, missingTensorProblem(name, available: tensorNames))
        }
        return info
    }

    /// The tensor's values as `Float`, row-major (outermost dimension first), dequantised from any type in
    /// ``GGUFTensorType/dequantizable``.
    /// - Throws: ``TensorFormatError`` for a missing tensor or a type that is not dequantised.
    public func floats(_ name: String) throws -> [Float] {
        let info = try readableInfo(name)
        return [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
            dequantizeRows(info, rows: 0..<info.rowCount, into: buffer.baseAddress)
            initialized = info.elementCount
        }
    }

    /// Dequantises the whole tensor into `destination`, which must hold exactly its element count, row-major.
    /// - Throws: ``TensorFormatError`` for a missing tensor, a type that is not dequantised, or a buffer of
    ///   another size.
    public func dequantize(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let info = try readableInfo(name)
        guard destination.count == info.elementCount else {
            throw TensorFormatError(
                path: path, tensor: name,
                "the destination holds \(destination.count) floats but the tensor (shape \(info.shape)) has "
                    + "\(info.elementCount)")
        }
        dequantizeRows(info, rows: 0..<info.rowCount, into: destination.baseAddress)
    }

    /// Dequantises rows `rows` of the tensor (rows are the innermost dimension, ``GGUFTensorInfo/rowLength``
    /// elements each, counted over all outer dimensions together; every row is whole blocks) into
    /// `destination`, which must hold exactly `rows.count * rowLength` floats. Disjoint row ranges may be
    /// dequantised concurrently from several threads.
    /// - Throws: ``TensorFormatError`` for a missing tensor, a type that is not dequantised, rows outside
    ///   `0..<rowCount`, or a buffer of another size.
    public func dequantize(_ name: String, rows: Range<Int>, into destination: UnsafeMutableBufferPointer<Float>)
        throws
    {
        let info = try readableInfo(name)
        guard rows.lowerBound >= 0, rows.upperBound <= info.rowCount else {
            throw TensorFormatError(
                path: path, tensor: name,
                "rows \(rows) are outside the tensor's \(info.rowCount) rows (shape \(info.shape))")
        }
        guard destination.count == rows.count * info.rowLength else {
            throw TensorFormatError(
                path: path, tensor: name,
                "the destination holds \(destination.count) floats but \(rows.count) rows of \(info.rowLength) "
                    + "are \(rows.count * info.rowLength)")
        }
        dequantizeRows(info, rows: rows, into: destination.baseAddress)
    }

    /// The tensor's raw bytes in the file (its type's blocks, row-major). Valid while `self` is alive.
    /// - Throws: ``TensorFormatError`` for a missing tensor.
    public func data(_ name: String) throws -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: mapping.bytes[try info(name).dataRange])
    }

    /// The info of `name`, which must be of a dequantizable type.
    private func readableInfo(_ name: String) throws -> GGUFTensorInfo {
        let info = try info(name)
        guard info.type.isDequantizable else {
            let types = GGUFTensorType.dequantizable.map(\.description).joined(separator: ", ")
            throw TensorFormatError(
                path: path, tensor: name,
                "its type \(info.type) (ggml type \(info.type.rawValue)) cannot be read as floats; the types read are "
                    + "\(types)" + (info.type.tensorDType?.isInteger == true ? " (this is an integer type)" : ""))
        }
        return info
    }

    /// Dequantises `rows` (checked by the caller) into `destination`.
    private func dequantizeRows(
        _ info: GGUFTensorInfo, rows: Range<Int>, into destination: UnsafeMutablePointer<Float>?
    ) {
        guard !rows.isEmpty, info.rowLength > 0, let destination, let base = mapping.bytes.baseAddress else { return }
        let blocksPerRow = info.rowLength / info.type.blockSize
        let start = base + info.dataRange.lowerBound + rows.lowerBound * info.rowByteCount
        GGUFDequantizer.run(
            info.type, source: start, blockCount: rows.count * blocksPerRow, destination: destination)
    }
}

/// The bounds-checked parser behind ``GGUFFile``.
struct GGUFReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private var position = 0

    /// Arrays of arrays nest at most this deep.
    private static let maximumNesting = 8

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    struct Parsed {
        var version: UInt32
        var alignment: Int
        var metadata: [(key: String, value: GGUFValue)]
        var tensors: [GGUFTensorInfo]
    }

    private func fail(_ problem: String, _ subject: String? = nil) -> TensorFormatError {
        TensorFormatError(path: path, tensor: subject, problem)
    }

    private var remaining: Int { bytes.count - position }

    // `what` is built only for a message: the tokenizer arrays alone hold ~800,000 values.
    private mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        guard let value = bytes.readLittleEndian(type, at: position) else {
            throw fail("the file ends inside \(what()) (at byte \(position)); it was truncated")
        }
        position += MemoryLayout<T>.size
        return value
    }

    private mutating func readCount(_ what: String, minimumBytesEach: Int) throws -> Int {
        let count = try read(UInt64.self, what)
        guard let result = Int(exactly: count), result <= remaining / max(minimumBytesEach, 1) else {
            throw fail("\(what) is \(count), more than the remaining \(remaining) bytes can hold; the file is corrupt")
        }
        return result
    }

    private mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let length = try read(UInt64.self, "the length of \(what())")
        guard let count = Int(exactly: length), let slice = bytes.slice(at: position, length: count) else {
            throw fail("\(what()) claims \(length) bytes, past the end of the \(bytes.count)-byte file; corrupt")
        }
        position += count
        guard let text = validatedUTF8(slice) else { throw fail("\(what()) is not valid UTF-8") }
        return text
    }

    private mutating func readValue(_ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        func what() -> String { "the value of \(key)" }
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, what()))
        case .int8: return .int8(try read(Int8.self, what()))
        case .uint16: return .uint16(try read(UInt16.self, what()))
        case .int16: return .int16(try read(Int16.self, what()))
        case .uint32: return .uint32(try read(UInt32.self, what()))
        case .int32: return .int32(try read(Int32.self, what()))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, what())))
        case .bool:
            let byte = try read(UInt8.self, what())
            guard byte <= 1 else { throw fail("a bool value is \(byte), not 0 or 1", key) }
            return .bool(byte == 1)
        case .string: return .string(try readString(what()))
        case .uint64: return .uint64(try read(UInt64.self, what()))
        case .int64: return .int64(try read(Int64.self, what()))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, what())))
        case .array:
            guard depth < Self.maximumNesting else { throw fail("arrays nest too deeply", key) }
            let rawType = try read(UInt32.self, "the element type of \(key)")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw fail("an array's element type \(rawType) is not a GGUF value type", key)
            }
            let count = try readCount("the length of \(key)", minimumBytesEach: elementType.fixedSize ?? 8)
            var items: [GGUFValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try readValue(elementType, key: key, depth: depth + 1)) }
            return .array(elementType, items)
        }
    }

    /// Reads and validates the header and the metadata, leaving the reader at the first tensor info.
    mutating func parseHeaderAndMetadata() throws -> (
        version: UInt32, tensorCount: Int, metadata: [(key: String, value: GGUFValue)]
    ) {
        guard bytes.count >= 4, bytes.prefix(4).elementsEqual(GGUFLayout.magic) else {
            throw fail("not a GGUF file (it does not start with the magic 'GGUF')")
        }
        position = 4
        let version = try read(UInt32.self, "the version")
        guard version == 2 || version == 3 else {
            if version == 0x0200_0000 || version == 0x0300_0000 {
                throw fail("is a big-endian GGUF file; only little-endian files are supported")
            }
            throw fail("GGUF version \(version) is not supported; versions 2 and 3 are")
        }
        let tensorCount = try readCount("the tensor count", minimumBytesEach: 24)
        let metadataCount = try readCount("the metadata count", minimumBytesEach: 13)
        var metadata: [(key: String, value: GGUFValue)] = []
        var keys: Set<String> = []
        for index in 0..<metadataCount {
            let key = try readString("metadata key \(index)")
            guard keys.insert(key).inserted else { throw fail("this metadata key appears twice", key) }
            let rawType = try read(UInt32.self, "the type of \(key)")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw fail("value type \(rawType) is not a GGUF value type", key)
            }
            metadata.append((key, try readValue(type, key: key, depth: 0)))
        }
        return (version, tensorCount, metadata)
    }

    mutating func parse() throws -> Parsed {
        let (version, tensorCount, metadata) = try parseHeaderAndMetadata()
        var alignment = GGUFLayout.defaultAlignment
        if let value = metadata.first(where: { $0.key == "general.alignment" })?.value {
            guard case .uint32(let raw) = value, raw > 0, raw & (raw - 1) == 0 else {
                throw fail("must be a u32 power of two", "general.alignment")
            }
            alignment = Int(raw)
        }
        var pending: [(name: String, type: GGUFTensorType, shape: [Int], offset: Int)] = []
        var names: Set<String> = []
        for index in 0..<tensorCount {
            let name = try readString("tensor name \(index)")
            guard !name.isEmpty, name.utf8.count <= GGUFLayout.maximumTensorNameBytes else {
                throw fail("tensor names must be 1–\(GGUFLayout.maximumTensorNameBytes) bytes", name)
            }
            guard names.insert(name).inserted else { throw fail("two tensors have this name", name) }
            let dimensionCount = try read(UInt32.self, "the dimension count of \(name)")
            guard (1...UInt32(GGUFLayout.maximumDimensions)).contains(dimensionCount) else {
                throw fail("has \(dimensionCount) dimensions; ggml allows 1–\(GGUFLayout.maximumDimensions)", name)
            }
            var dimensions: [Int] = []
            for _ in 0..<dimensionCount {
                let size = try read(UInt64.self, "a dimension of \(name)")
                guard let value = Int(exactly: size), value <= Int(Int32.max) * 16 else {
                    throw fail("dimension \(size) is out of range", name)
                }
                dimensions.append(value)
            }
            let rawType = try read(UInt32.self, "the type of \(name)")
            guard let type = GGUFTensorType(rawValue: rawType) else {
                let types = GGUFTensorType.dequantizable.map(\.description).joined(separator: ", ")
                throw fail(
                    "tensor type \(rawType) is not a ggml type this reader knows, so its data size is unknown; the "
                        + "file is corrupt or newer than this reader (types read: \(types))", name)
            }
            let offset = try read(UInt64.self, "the data offset of \(name)")
            guard let start = Int(exactly: offset), start % alignment == 0 else {
                throw fail("data offset \(offset) is not a multiple of the alignment \(alignment)", name)
            }
            pending.append((name, type, Array(dimensions.reversed()), start))
        }
        let dataStart = position + (alignment - position % alignment) % alignment
        var tensors: [GGUFTensorInfo] = []
        for tensor in pending {
            let innermost = tensor.shape.last ?? 1
            guard innermost % tensor.type.blockSize == 0 else {
                throw fail(
                    "its innermost dimension \(innermost) (shape \(tensor.shape)) is not a multiple of "
                        + "\(tensor.type)'s block size \(tensor.type.blockSize); the file is corrupt", tensor.name)
            }
            guard let count = checkedProduct(tensor.shape), let size = tensor.type.byteCount(elements: count),
                case (let begin, false) = dataStart.addingReportingOverflow(tensor.offset),
                bytes.slice(at: begin, length: size) != nil
            else {
                throw fail(
                    "its data (shape \(tensor.shape) of \(tensor.type) at offset \(tensor.offset)) runs past the end "
                        + "of the \(bytes.count)-byte file; it was truncated", tensor.name)
            }
            tensors.append(
                GGUFTensorInfo(
                    name: tensor.name, type: tensor.type, shape: tensor.shape, dataRange: begin..<(begin + size)))
        }
        let ordered = tensors.sorted { $0.dataRange.lowerBound < $1.dataRange.lowerBound }
        for (earlier, later) in zip(ordered, ordered.dropFirst())
        where earlier.dataRange.upperBound > later.dataRange.lowerBound {
            throw fail("its data overlaps that of '\(earlier.name)'; the file is corrupt", later.name)
        }
        return Parsed(version: version, alignment: alignment, metadata: metadata, tensors: tensors)
    }
}
