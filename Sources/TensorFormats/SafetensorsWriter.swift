import SteeringCore

/// Builds a safetensors file the way the reference writer does: the header JSON padded with spaces to a
/// multiple of 8 bytes, tensors laid out by descending dtype alignment and then by name, so F32 data is
/// 4-byte aligned from the file start.
public struct SafetensorsWriter: Sendable {
    private struct Entry: Sendable {
        var name: String
        var dtype: TensorDType
        var shape: [Int]
        var bytes: [UInt8]
    }

    private var entries: [Entry] = []
    private var names: Set<String> = []
    /// The `__metadata__` map written into the header (omitted when empty).
    public var metadata: [String: String]

    /// Starts an empty file with the given `__metadata__`.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    private static let label = "safetensors writer"

    /// Adds a float tensor stored as F32, F16, BF16 or F64 (narrowing rounds to nearest even).
    /// - Throws: ``TensorFormatError`` for a duplicate or reserved name, a shape that does not match
    ///   `floats.count`, or a non-float `dtype`.
    public mutating func add(_ name: String, floats: [Float], shape: [Int], as dtype: TensorDType = .f32) throws {
        try checkCount(name, floats.count, shape: shape)
        let bytes: [UInt8]
        switch dtype {
        case .f32: bytes = ElementConversion.encode(floats, as: UInt32.self) { $0.bitPattern }
        case .f16: bytes = ElementConversion.encode(floats, as: UInt16.self, ElementConversion.float16FromFloat)
        case .bf16: bytes = ElementConversion.encode(floats, as: UInt16.self, ElementConversion.bfloat16FromFloat)
        case .f64: bytes = ElementConversion.encode(floats, as: UInt64.self) { Double($0).bitPattern }
        default:
            throw TensorFormatError(
                path: Self.label, tensor: name,
                "floats can be stored as F32, F16, BF16 or F64, not \(dtype.rawValue)")
        }
        try add(name, dtype: dtype, shape: shape, bytes: bytes)
    }

    /// Adds an I32 tensor.
    public mutating func add(_ name: String, int32s: [Int32], shape: [Int]) throws {
        try checkCount(name, int32s.count, shape: shape)
        try add(name, dtype: .i32, shape: shape, bytes: ElementConversion.encode(int32s, as: Int32.self) { $0 })
    }

    /// Adds an I64 tensor.
    public mutating func add(_ name: String, int64s: [Int64], shape: [Int]) throws {
        try checkCount(name, int64s.count, shape: shape)
        try add(name, dtype: .i64, shape: shape, bytes: ElementConversion.encode(int64s, as: Int64.self) { $0 })
    }

    /// Adds a tensor from raw little-endian row-major bytes of any dtype.
    /// - Throws: ``TensorFormatError`` when the name is empty, `__metadata__` or already used, a dimension
    ///   is negative, or `bytes.count` is not product(shape) × the dtype size.
    public mutating func add(_ name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8]) throws {
        guard !name.isEmpty, name != "__metadata__" else {
            throw TensorFormatError(path: Self.label, tensor: name, "this tensor name is empty or reserved")
        }
        guard !names.contains(name) else {
            throw TensorFormatError(path: Self.label, tensor: name, "a tensor with this name was already added")
        }
        guard let elements = checkedProduct(shape), let expected = dtype.byteCount(elements: elements) else {
            throw TensorFormatError(
                path: Self.label, tensor: name,
                "shape \(shape) has a negative dimension or is too large for \(dtype.rawValue)")
        }
        guard bytes.count == expected else {
            throw TensorFormatError(
                path: Self.label, tensor: name,
                "shape \(shape) of \(dtype.rawValue) needs \(expected) bytes, got \(bytes.count)")
        }
        names.insert(name)
        entries.append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    private func checkCount(_ name: String, _ count: Int, shape: [Int]) throws {
        guard let elements = checkedProduct(shape), elements == count else {
            throw TensorFormatError(
                path: Self.label, tensor: name, "shape \(shape) does not hold \(count) values")
        }
    }

    /// Entries in file order: descending dtype alignment, then name (byte-wise, as the reference writer).
    private var ordered: [Entry] {
        entries.sorted { left, right in
            if left.dtype.alignmentRank != right.dtype.alignmentRank {
                return left.dtype.alignmentRank > right.dtype.alignmentRank
            }
            return Array(left.name.utf8).lexicographicallyPrecedes(Array(right.name.utf8))
        }
    }

    /// The 8-byte length prefix and the padded header for `ordered`.
    private func headerBytes(_ ordered: [Entry], path: String) throws -> [UInt8] {
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map {
                "\(JSONString.quoted($0)):\(JSONString.quoted(metadata[$0] ?? ""))"
            }
            json += "\"__metadata__\":{" + pairs.joined(separator: ",") + "}"
            first = false
        }
        var offset = 0
        for entry in ordered {
            if !first { json += "," }
            first = false
            let shape = entry.shape.map(String.init).joined(separator: ",")
            json += "\(JSONString.quoted(entry.name)):{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],"
            json += "\"data_offsets\":[\(offset),\(offset + entry.bytes.count)]}"
            offset += entry.bytes.count
        }
        json += "}"
        var header = Array(json.utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        guard header.count <= SafetensorsLayout.maximumHeaderLength else {
            throw TensorFormatError(
                path: path,
                "the header would be \(header.count) bytes, over the 100,000,000-byte limit readers enforce; "
                    + "split the tensors over several files")
        }
        var result: [UInt8] = []
        result.reserveCapacity(8 + header.count)
        result.appendLittleEndian(UInt64(header.count))
        result.append(contentsOf: header)
        return result
    }

    /// The complete file.
    public func serialized() throws -> [UInt8] {
        let ordered = self.ordered
        var result = try headerBytes(ordered, path: Self.label)
        for entry in ordered { result.append(contentsOf: entry.bytes) }
        return result
    }

    /// Writes the file to `path` atomically (a temporary file renamed into place).
    /// - Throws: ``TensorFormatError`` naming `path` when it cannot be written.
    public func write(to path: String) throws {
        let ordered = self.ordered
        let header = try headerBytes(ordered, path: path)
        try AtomicWrites.stream(to: path) { sink in
            try header.withUnsafeBytes { try sink($0) }
            for entry in ordered { try entry.bytes.withUnsafeBytes { try sink($0) } }
        }
    }
}
