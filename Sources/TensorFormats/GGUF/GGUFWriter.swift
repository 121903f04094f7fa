/// Builds a GGUF v3 file (little-endian), the container llama.cpp loads models, LoRA adapters and control
/// vectors from.
///
/// Layout: the magic `GGUF`, version 3 (u32), tensor count and metadata count (u64); each metadata pair as a
/// string key (u64 length + UTF-8), a u32 type tag and the value; each tensor's info as its name, dimension
/// count (u32), dimensions (u64 each, innermost first as ggml orders them), type (u32) and data offset (u64,
/// relative to the data section, a multiple of the alignment); zero padding to the alignment; the tensor
/// data, each tensor padded to the alignment. The alignment is 32 unless ``alignment`` is set, in which case
/// `general.alignment` (u32) is written too.
public struct GGUFWriter: Sendable {
    private struct Tensor: Sendable {
        var name: String
        var type: GGUFTensorType
        var shape: [Int]
        var bytes: [UInt8]
    }

    private var metadata: [(key: String, value: GGUFValue)] = []
    private var tensors: [Tensor] = []
    /// The data alignment in bytes (a power of two); `general.alignment` is written when it is not 32.
    public var alignment: Int = GGUFLayout.defaultAlignment

    private static let label = "GGUF writer"

    /// Starts an empty file.
    public init() {}

    /// Adds metadata pair `key` = `value`, in order.
    /// - Throws: ``TensorFormatError`` when the key is empty, repeated, or `general.alignment` (set
    ///   ``alignment`` instead), or an array mixes element types.
    public mutating func set(_ key: String, _ value: GGUFValue) throws {
        guard !key.isEmpty, key.utf8.count <= 65_535 else {
            throw TensorFormatError(path: Self.label, tensor: key, "metadata keys must be 1–65535 bytes")
        }
        guard key != "general.alignment" else {
            throw TensorFormatError(path: Self.label, tensor: key, "set the writer's `alignment` property instead")
        }
        guard !metadata.contains(where: { $0.key == key }) else {
            throw TensorFormatError(path: Self.label, tensor: key, "this metadata key was already set")
        }
        try Self.checkArrays(value, key: key)
        metadata.append((key, value))
    }

    private static func checkArrays(_ value: GGUFValue, key: String) throws {
        guard case .array(let type, let items) = value else { return }
        for item in items {
            guard item.type == type else {
                throw TensorFormatError(
                    path: label, tensor: key, "an array of \(type) holds a \(item.type) value; arrays are homogeneous")
            }
            try checkArrays(item, key: key)
        }
    }

    /// Adds a float tensor of `shape` (outermost dimension first) stored as F32 (default), F16 or BF16.
    /// - Throws: ``TensorFormatError`` for a bad name or shape, or another `type`.
    public mutating func addTensor(_ name: String, floats: [Float], shape: [Int], as type: GGUFTensorType = .f32)
        throws
    {
        let bytes: [UInt8]
        switch type {
        case .f32: bytes = ElementConversion.encode(floats, as: UInt32.self) { $0.bitPattern }
        case .f16: bytes = ElementConversion.encode(floats, as: UInt16.self, ElementConversion.float16FromFloat)
        case .bf16: bytes = ElementConversion.encode(floats, as: UInt16.self, ElementConversion.bfloat16FromFloat)
        case .f64: bytes = ElementConversion.encode(floats, as: UInt64.self) { Double($0).bitPattern }
        default:
            throw TensorFormatError(path: Self.label, tensor: name, "floats can be stored as F32, F16, BF16 or F64")
        }
        guard checkedProduct(shape) == floats.count else {
            throw TensorFormatError(
                path: Self.label, tensor: name, "shape \(shape) does not hold \(floats.count) values")
        }
        try addTensor(name, type: type, shape: shape, bytes: bytes)
    }

    /// Adds a tensor from raw little-endian row-major bytes (for a quantised type, its blocks, row by row).
    /// - Throws: ``TensorFormatError`` when the name is empty, too long (ggml keeps at most 63 bytes) or repeated,
    ///   the shape has no or more than 4 dimensions or a non-positive one, the innermost dimension is not whole
    ///   blocks, or the byte count does not match.
    public mutating func addTensor(_ name: String, type: GGUFTensorType, shape: [Int], bytes: [UInt8]) throws {
        func fail(_ problem: String) -> TensorFormatError { TensorFormatError(path: Self.label, tensor: name, problem) }
        guard !name.isEmpty, name.utf8.count <= GGUFLayout.maximumTensorNameBytes else {
            throw fail("tensor names must be 1–\(GGUFLayout.maximumTensorNameBytes) bytes (ggml's limit)")
        }
        guard !tensors.contains(where: { $0.name == name }) else {
            throw fail("a tensor with this name was already added")
        }
        guard (1...GGUFLayout.maximumDimensions).contains(shape.count), shape.allSatisfy({ $0 > 0 }) else {
            throw fail("shape \(shape) must have 1–\(GGUFLayout.maximumDimensions) positive dimensions")
        }
        guard shape[shape.count - 1] % type.blockSize == 0 else {
            throw fail("the innermost dimension of shape \(shape) is not a multiple of \(type)'s block size")
        }
        guard let count = checkedProduct(shape), let needed = type.byteCount(elements: count), needed == bytes.count
        else { throw fail("shape \(shape) of \(type) does not match \(bytes.count) data bytes") }
        tensors.append(Tensor(name: name, type: type, shape: shape, bytes: bytes))
    }

    /// Bytes to add to `count` to reach a multiple of the alignment.
    private func padding(_ count: Int) -> Int { (alignment - count % alignment) % alignment }

    /// The header, metadata, tensor infos and padding up to the data section.
    private func headerBytes() throws -> [UInt8] {
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= Int(UInt32.max) else {
            throw TensorFormatError(path: Self.label, "alignment \(alignment) is not a power of two")
        }
        var pairs = metadata
        if alignment != GGUFLayout.defaultAlignment {
            pairs.append(("general.alignment", .uint32(UInt32(alignment))))
        }
        var out = GGUFLayout.magic
        out.appendLittleEndian(GGUFLayout.version)
        out.appendLittleEndian(UInt64(tensors.count))
        out.appendLittleEndian(UInt64(pairs.count))
        for (key, value) in pairs {
            Self.appendString(key, to: &out)
            out.appendLittleEndian(value.type.rawValue)
            Self.appendValue(value, to: &out)
        }
        var offset = 0
        for tensor in tensors {
            Self.appendString(tensor.name, to: &out)
            out.appendLittleEndian(UInt32(tensor.shape.count))
            for dimension in tensor.shape.reversed() { out.appendLittleEndian(UInt64(dimension)) }
            out.appendLittleEndian(tensor.type.rawValue)
            out.appendLittleEndian(UInt64(offset))
            offset += tensor.bytes.count + padding(tensor.bytes.count)
        }
        out += [UInt8](repeating: 0, count: padding(out.count))
        return out
    }

    private static func appendString(_ text: String, to out: inout [UInt8]) {
        out.appendLittleEndian(UInt64(text.utf8.count))
        out += Array(text.utf8)
    }

    private static func appendValue(_ value: GGUFValue, to out: inout [UInt8]) {
        switch value {
        case .uint8(let v): out.append(v)
        case .int8(let v): out.appendLittleEndian(v)
        case .uint16(let v): out.appendLittleEndian(v)
        case .int16(let v): out.appendLittleEndian(v)
        case .uint32(let v): out.appendLittleEndian(v)
        case .int32(let v): out.appendLittleEndian(v)
        case .float32(let v): out.appendLittleEndian(v.bitPattern)
        case .bool(let v): out.append(v ? 1 : 0)
        case .string(let v): appendString(v, to: &out)
        case .array(let type, let items):
            out.appendLittleEndian(type.rawValue)
            out.appendLittleEndian(UInt64(items.count))
            for item in items { appendValue(item, to: &out) }
        case .uint64(let v): out.appendLittleEndian(v)
        case .int64(let v): out.appendLittleEndian(v)
        case .float64(let v): out.appendLittleEndian(v.bitPattern)
        }
    }

    /// The complete file.
    public func serialized() throws -> [UInt8] {
        var out = try headerBytes()
        for tensor in tensors {
            out += tensor.bytes
            out += [UInt8](repeating: 0, count: padding(tensor.bytes.count))
        }
        return out
    }

    /// Writes the file to `path` atomically (a temporary file renamed into place).
    /// - Throws: ``TensorFormatError`` naming `path` when it cannot be written.
    public func write(to path: String) throws {
        let header = try headerBytes()
        try AtomicWrites.stream(to: path) { sink in
            try header.withUnsafeBytes { try sink($0) }
            for tensor in tensors {
                try tensor.bytes.withUnsafeBytes { try sink($0) }
                try [UInt8](repeating: 0, count: padding(tensor.bytes.count)).withUnsafeBytes { try sink($0) }
            }
        }
    }
}
