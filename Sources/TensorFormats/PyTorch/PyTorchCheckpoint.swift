import Foundation

/// A `torch.save` checkpoint (`.pt`, `.pth`, `.bin`): the ZIP format of torch ≥ 1.6, read without Python.
///
/// `data.pkl` is interpreted by a restricted unpickler that understands only what state dicts and
/// dicts/lists/tuples of tensors use (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
/// `_rebuild_parameter`, `torch.*Storage` persistent ids). Any other global is refused with an error naming
/// it; nothing in the file is ever executed. Opening validates every tensor against its storage record
/// (record present, long enough, view within the storage). Reading materialises any strided view — transposed,
/// sliced, expanded, sharing a storage with other tensors — in row-major order, and byte-swaps big-endian
/// files. Records are mapped, not copied; CRC-32s are checked on first use. Sendable: nothing changes after
/// `init` except the lock-protected set of records already verified.
public final class PyTorchCheckpoint: @unchecked Sendable {
    /// The file's path (or the label of in-memory bytes), used in every message.
    public let path: String
    /// Every tensor's flattened name, in pickle order: dict keys (`W`, `b`), nested keys and list or tuple
    /// indices joined by dots (`model.layers.0`, `list.1.0`), and `tensor` for a file holding one bare tensor.
    /// Non-tensor leaves (numbers, strings, None) are skipped.
    public let tensorNames: [String]
    /// The folder all members sit in: the file stem at save time, or `archive` in older files.
    public let archiveName: String
    /// The byte order of the storage records (`byteorder`; little when absent).
    public let byteOrder: PyTorchByteOrder
    /// The serialization format version from the `version` member, when present (torch 2.x writes `3`).
    public let formatVersion: String?
    private let mapping: MappedFile
    private let infos: [String: PyTorchTensorInfo]
    private let records: [String: ZipMember]
    private let verifiedLock = NSLock()
    private var verifiedRecords: Set<String> = []

    /// Maps and opens the checkpoint at `path`.
    /// - Throws: ``TensorFormatError`` naming the file (and tensor or member) when it is not a torch ZIP
    ///   checkpoint, its pickle references a refused global or is malformed, or a tensor does not fit its
    ///   storage record.
    public convenience init(path: String) throws {
        try self.init(mapping: MappedFile(path: path))
    }

    /// Opens checkpoint bytes that are already mapped or in memory.
    public init(mapping: MappedFile) throws {
        let path = mapping.path
        let archive = try PyTorchArchive(mapping.bytes, path: path)
        let root = try PyTorchArchive.withContents(archive.pickle, in: mapping.bytes, path: path) { pickle in
            try RestrictedUnpickler.load(pickle, path: path, member: archive.pickle.name)
        }
        var flattened: [(name: String, tensor: PickleTensor)] = []
        var seen: Set<String> = []
        try Self.flatten(root, name: nil, depth: 0, into: &flattened, seen: &seen, path: path)
        var infos: [String: PyTorchTensorInfo] = [:]
        var storages: [String: PickleStorage] = [:]
        for (name, tensor) in flattened {
            let storage = tensor.storage
            if let earlier = storages[storage.key], earlier != storage {
                throw TensorFormatError(
                    path: path, tensor: name,
                    "storage '\(storage.key)' is described as \(storage.elementCount) \(storage.dtype.rawValue) "
                        + "elements here but as \(earlier.elementCount) \(earlier.dtype.rawValue) by another "
                        + "tensor; the checkpoint is corrupt")
            }
            storages[storage.key] = storage
            infos[name] = try PyTorchTensorInfo.validated(
                name: name, tensor: tensor, record: archive.records[storage.key],
                recordName: "\(archive.prefix)/data/\(storage.key)", path: path)
        }
        self.path = path
        self.mapping = mapping
        self.tensorNames = flattened.map(\.name)
        self.infos = infos
        self.records = archive.records
        self.archiveName = archive.prefix
        self.byteOrder = archive.byteOrder
        self.formatVersion = archive.formatVersion
    }

    /// The most deeply nested containers accepted (a cycle or a hostile file would otherwise recurse forever).
    private static let maximumDepth = 64

    private static func flatten(
        _ value: PickleValue, name: String?, depth: Int, into result: inout [(name: String, tensor: PickleTensor)],
        seen: inout Set<String>, path: String
    ) throws {
        func child(_ key: String) -> String { name.map { "\($0).\(key)" } ?? key }
        guard depth <= maximumDepth else {
            throw TensorFormatError(
                path: path, tensor: name,
                "containers nest more than \(maximumDepth) deep (or refer to themselves); not a checkpoint")
        }
        switch value {
        case .tensor(let tensor):
            let tensorName = name ?? "tensor"
            guard seen.insert(tensorName).inserted else {
                throw TensorFormatError(
                    path: path, tensor: tensorName,
                    "two tensors flatten to this name (a key containing '.' clashes with a nested one)")
            }
            result.append((tensorName, tensor))
        case .dict(let dict):
            for (key, item) in dict.entries {
                try flatten(item, name: child(key.text), depth: depth + 1, into: &result, seen: &seen, path: path)
            }
        case .list(let list):
            for (index, item) in list.items.enumerated() {
                try flatten(item, name: child(String(index)), depth: depth + 1, into: &result, seen: &seen, path: path)
            }
        case .tuple(let items):
            for (index, item) in items.enumerated() {
                try flatten(item, name: child(String(index)), depth: depth + 1, into: &result, seen: &seen, path: path)
            }
        case .none, .bool, .int, .float, .string, .bytes, .global, .storage:
            break
        }
    }

    /// Whether the checkpoint holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { infos[name] != nil }

    /// The description of tensor `name`: dtype, shape, strides and storage.
    /// - Throws: ``TensorFormatError`` naming the file and the missing tensor, with some names it does hold.
    public func info(_ name: String) throws -> PyTorchTensorInfo {
        guard let info = infos[name] else {
            throw TensorFormatError(path: path, tensor: name, missingTensorProblem(name, available: tensorNames))
        }
        return info
    }

    /// The tensor's values as `Float` in row-major order, from F32, F16, BF16 or F64.
    /// - Throws: ``TensorFormatError`` for a missing tensor, another dtype or a corrupt record.
    public func floats(_ name: String) throws -> [Float] {
        let info = try info(name)
        return try decode(info, offset: info.storageOffset, shape: info.shape) { raw, count in
            try TensorDecoding.floats(raw, dtype: info.dtype, count: count) {
                TensorFormatError(path: path, tensor: name, $0)
            }
        }
    }

    /// Rows `rows` of tensor `name` (a range of its first dimension) as `Float` in row-major order, so a large
    /// matrix can be read in pieces.
    /// - Throws: ``TensorFormatError`` for a missing or 0-d tensor, rows outside the first dimension, another
    ///   dtype or a corrupt record.
    public func floats(_ name: String, rows: Range<Int>) throws -> [Float] {
        let info = try info(name)
        guard let first = info.shape.first else {
            throw TensorFormatError(path: path, tensor: name, "is 0-dimensional; it has no rows to select")
        }
        guard rows.lowerBound >= 0, rows.upperBound <= first else {
            throw TensorFormatError(
                path: path, tensor: name, "rows \(rows.lowerBound)..<\(rows.upperBound) are outside 0..<\(first)")
        }
        let offset = info.storageOffset + rows.lowerBound * info.strides[0]
        let shape = [rows.count] + info.shape.dropFirst()
        return try decode(info, offset: offset, shape: shape) { raw, count in
            try TensorDecoding.floats(raw, dtype: info.dtype, count: count) {
                TensorFormatError(path: path, tensor: name, $0)
            }
        }
    }

    /// The tensor's values as `Int64` in row-major order, from any integer or BOOL dtype.
    /// - Throws: ``TensorFormatError`` for a missing tensor, a float dtype or a corrupt record.
    public func int64s(_ name: String) throws -> [Int64] {
        let info = try info(name)
        return try decode(info, offset: info.storageOffset, shape: info.shape) { raw, count in
            try TensorDecoding.int64s(raw, dtype: info.dtype, count: count) {
                TensorFormatError(path: path, tensor: name, $0)
            }
        }
    }

    /// Runs `body` on the elements of the view (`offset`, `shape`, the tensor's strides) as little-endian
    /// row-major bytes: the record in place when the view is contiguous and little-endian, else a gathered copy.
    private func decode<R>(
        _ info: PyTorchTensorInfo, offset: Int, shape: [Int],
        _ body: (UnsafeRawBufferPointer, Int) throws -> R
    ) throws -> R {
        let count = checkedProduct(shape) ?? 0
        guard count > 0 else { return try body(UnsafeRawBufferPointer(start: nil, count: 0), 0) }
        guard let record = records[info.storageKey] else {
            throw TensorFormatError(path: path, tensor: info.name, "its storage record is missing")
        }
        let verify = !isVerified(info.storageKey)
        let result = try PyTorchArchive.withContents(record, in: mapping.bytes, path: path, verify: verify) {
            storage -> R in
            let itemSize = info.dtype.byteSize
            guard storage.count >= info.storageElementCount * itemSize else {
                throw TensorFormatError(
                    path: path, tensor: info.name, "its storage record is shorter than the storage; corrupt")
            }
            if byteOrder == .little, PyTorchTensorInfo.isContiguous(shape: shape, strides: info.strides),
                let slice = storage.slice(at: offset * itemSize, length: count * itemSize)
            {
                return try body(slice, count)
            }
            let bytes = StridedCopy.gather(
                storage, offset: offset, shape: shape, strides: info.strides, itemSize: itemSize,
                swapBytes: byteOrder == .big)
            return try bytes.withUnsafeBytes { try body($0, count) }
        }
        if verify { markVerified(info.storageKey) }
        return result
    }

    private func isVerified(_ key: String) -> Bool {
        verifiedLock.lock()
        defer { verifiedLock.unlock() }
        return verifiedRecords.contains(key)
    }

    private func markVerified(_ key: String) {
        verifiedLock.lock()
        defer { verifiedLock.unlock() }
        verifiedRecords.insert(key)
    }
}
