/// A memory-mapped safetensors file whose header was fully validated when it was opened.
///
/// Tensor data is read straight from the map: ``rawBytes(_:)`` and ``float32Pointer(_:)`` are zero-copy
/// and stay valid while this object is alive. Sendable: nothing changes after `init`.
public final class SafetensorsFile: @unchecked Sendable {
    /// The file's path (or the label of in-memory bytes), used in every message.
    public let path: String
    /// Tensor names in data-offset order.
    public let tensorNames: [String]
    /// The header's `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// The mapped bytes of the whole file.
    public let mapping: MappedFile
    private let infos: [String: TensorInfo]

    /// Maps the file at `path` and validates its header: length, UTF-8 JSON, every entry's dtype, shape and
    /// offsets, byte counts, and full coverage of the data buffer without holes or overlaps.
    /// - Throws: ``TensorFormatError`` naming the file, and the tensor when one is at fault.
    public convenience init(path: String) throws {
        try self.init(mapping: MappedFile(path: path))
    }

    /// Validates and wraps bytes that are already mapped or in memory.
    public init(mapping: MappedFile) throws {
        let layout = try SafetensorsLayout.parse(mapping.bytes, path: mapping.path)
        self.path = mapping.path
        self.mapping = mapping
        self.tensorNames = layout.tensors.map(\.name)
        self.metadata = layout.metadata
        var infos: [String: TensorInfo] = [:]
        for info in layout.tensors { infos[info.name] = info }
        self.infos = infos
    }

    /// Whether the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { infos[name] != nil }

    /// The header entry of tensor `name`.
    /// - Throws: ``TensorFormatError`` naming the file and the missing tensor, with some names it does hold.
    public func info(_ name: String) throws -> TensorInfo {
        guard let info = infos[name] else {
            throw TensorFormatError(path: path, tensor: name, missingTensorProblem(name, available: tensorNames))
        }
        return info
    }

    /// The tensor's bytes inside the map (little-endian, row-major). Valid while `self` is alive.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let info = try info(name)
        return UnsafeRawBufferPointer(rebasing: mapping.bytes[info.dataRange])
    }

    /// A zero-copy view of an F32 tensor whose data is 4-byte aligned in memory; nil for other dtypes or
    /// unaligned data (use ``floats(_:)`` then). Valid while `self` is alive.
    public func float32Pointer(_ name: String) throws -> UnsafeBufferPointer<Float>? {
        let info = try info(name)
        guard info.dtype == .f32 else { return nil }
        let raw = UnsafeRawBufferPointer(rebasing: mapping.bytes[info.dataRange])
        guard let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 else {
            return nil
        }
        return UnsafeBufferPointer(
            start: base.bindMemory(to: Float.self, capacity: raw.count / 4), count: raw.count / 4)
    }

    /// The tensor's values as `Float` (row-major), converted from F32, F16, BF16 or F64.
    /// - Throws: ``TensorFormatError`` for a missing tensor or another dtype.
    public func floats(_ name: String) throws -> [Float] {
        let info = try info(name)
        return try TensorDecoding.floats(rawBytes(name), dtype: info.dtype, count: info.elementCount) {
            TensorFormatError(path: path, tensor: name, $0)
        }
    }

    /// The tensor's values as `Int32`, from I32 or a narrower integer dtype, or from I64/U32/U64 when every
    /// value fits.
    /// - Throws: ``TensorFormatError`` for a missing tensor, a float dtype, or a value out of `Int32` range.
    public func int32s(_ name: String) throws -> [Int32] {
        let info = try info(name)
        if info.dtype == .i32 {
            return ElementConversion.decode(try rawBytes(name), count: info.elementCount, as: Int32.self) { $0 }
        }
        let values = try int64s(name)
        var result: [Int32] = []
        result.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            guard let narrow = Int32(exactly: value) else {
                throw TensorFormatError(
                    path: path, tensor: name,
                    "element \(index) = \(value) does not fit in Int32; read it with int64s(_:)")
            }
            result.append(narrow)
        }
        return result
    }

    /// The tensor's values as `Int64`, from any integer or BOOL dtype (U64 values must fit).
    /// - Throws: ``TensorFormatError`` for a missing tensor, a float dtype, or a U64 value above `Int64.max`.
    public func int64s(_ name: String) throws -> [Int64] {
        let info = try info(name)
        return try TensorDecoding.int64s(rawBytes(name), dtype: info.dtype, count: info.elementCount) {
            TensorFormatError(path: path, tensor: name, $0)
        }
    }
}

/// The message for a tensor that is not there, listing a few that are.
func missingTensorProblem(_ name: String, available: [String]) -> String {
    guard !available.isEmpty else { return "no such tensor; the file holds no tensors at all" }
    let shown = available.prefix(12).map { "'\($0)'" }.joined(separator: ", ")
    let more = available.count > 12 ? ", … (\(available.count) in all)" : ""
    return "no such tensor (names are case-sensitive); available: \(shown)\(more)"
}
