/// A file of named tensors in any format the package reads: safetensors, a PyTorch checkpoint or a numpy
/// `.npz` archive. Import commands open their inputs with ``open(path:)`` and so accept all three.
///
/// ```swift
/// let file = try NamedTensorFile.open(path: "adapter_2b_layer_12.pt")   // or .safetensors / .npz
/// let w = try file.floats("W")                                          // row-major
/// let shape = try file.shape(of: "W")                                   // [2304, 16384]
/// ```
public enum NamedTensorFile: Sendable {
    /// A `.safetensors` file.
    case safetensors(SafetensorsFile)
    /// A `torch.save` checkpoint (`.pt`, `.pth`, `.bin`, `.ckpt`).
    case pytorch(PyTorchCheckpoint)
    /// A numpy `.npz` archive; tensor names are the member names without `.npy`.
    case npz(NPZArchive)

    /// The formats ``open(path:)`` recognises, by extension.
    public enum Format: String, Sendable, CaseIterable {
        /// safetensors (`.safetensors`).
        case safetensors
        /// A `torch.save` ZIP checkpoint (`.pt`, `.pth`, `.bin`, `.ckpt`).
        case pytorch
        /// A numpy archive (`.npz`).
        case npz

        /// The format a path's extension names (case-insensitive), or nil.
        public init?(path: String) {
            let lower = path.lowercased()
            if lower.hasSuffix(".safetensors") {
                self = .safetensors
            } else if [".pt", ".pth", ".bin", ".ckpt"].contains(where: { lower.hasSuffix($0) }) {
                self = .pytorch
            } else if lower.hasSuffix(".npz") {
                self = .npz
            } else {
                return nil
            }
        }
    }

    /// Opens `path`, choosing the reader by extension: `.safetensors`; `.pt`, `.pth`, `.bin` or `.ckpt` (a
    /// torch.save ZIP checkpoint); `.npz`. Other names are recognised by content: a ZIP holding `data.pkl` is a
    /// checkpoint, another ZIP an `.npz`, anything else is tried as safetensors.
    /// - Throws: ``TensorFormatError`` naming the file when it cannot be opened or is malformed.
    public static func open(path: String) throws -> NamedTensorFile {
        let mapping = try MappedFile(path: path)
        switch Format(path: path) ?? sniff(mapping) {
        case .safetensors: return .safetensors(try SafetensorsFile(mapping: mapping))
        case .pytorch: return .pytorch(try PyTorchCheckpoint(mapping: mapping))
        case .npz: return .npz(try NPZArchive(mapping: mapping))
        }
    }

    /// The format of a file whose name does not tell.
    private static func sniff(_ mapping: MappedFile) -> Format {
        let bytes = mapping.bytes
        guard bytes.count >= 4, bytes.readLittleEndian(UInt32.self, at: 0) == 0x0403_4B50 else { return .safetensors }
        let members = (try? ZipReader.members(of: bytes, path: mapping.path)) ?? []
        let isCheckpoint = members.contains { member in
            let parts = member.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl"
        }
        return isCheckpoint ? .pytorch : .npz
    }

    /// The format of this file.
    public var format: Format {
        switch self {
        case .safetensors: return .safetensors
        case .pytorch: return .pytorch
        case .npz: return .npz
        }
    }

    /// The file's path, as given to ``open(path:)``.
    public var path: String {
        switch self {
        case .safetensors(let file): return file.path
        case .pytorch(let file): return file.path
        case .npz(let file): return file.path
        }
    }

    /// Every tensor name, in file order (flattened names for checkpoints, see
    /// ``PyTorchCheckpoint/tensorNames``).
    public var tensorNames: [String] {
        switch self {
        case .safetensors(let file): return file.tensorNames
        case .pytorch(let file): return file.tensorNames
        case .npz(let file): return file.names
        }
    }

    /// Whether the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool {
        switch self {
        case .safetensors(let file): return file.contains(name)
        case .pytorch(let file): return file.contains(name)
        case .npz(let file): return file.contains(name)
        }
    }

    /// The shape of tensor `name`, outermost dimension first (an `.npz` member is decoded to learn it).
    /// - Throws: ``TensorFormatError`` naming the file and the missing or unreadable tensor.
    public func shape(of name: String) throws -> [Int] {
        switch self {
        case .safetensors(let file): return try file.info(name).shape
        case .pytorch(let file): return try file.info(name).shape
        case .npz(let file): return try file.array(name).shape
        }
    }

    /// The shape and element type of tensor `name` from one look-up (an `.npz` member is decoded once): the
    /// type as the format spells it (`F32`, `BF16`, `<f4`, …) and whether ``floats(_:)`` reads it.
    /// - Throws: ``TensorFormatError`` naming the file and the missing or unreadable tensor.
    public func layout(of name: String) throws -> (shape: [Int], elementType: String, isFloat: Bool) {
        switch self {
        case .safetensors(let file):
            let info = try file.info(name)
            return (info.shape, info.dtype.rawValue, info.dtype.isConvertibleToFloat)
        case .pytorch(let file):
            let info = try file.info(name)
            return (info.shape, info.dtype.rawValue, info.dtype.isConvertibleToFloat)
        case .npz(let file):
            let array = try file.array(name)
            return (array.shape, array.dtype.rawValue, array.dtype.isFloat)
        }
    }

    /// The values of tensor `name` as `Float`, row-major, from any float dtype (F32, F16, BF16, F64).
    /// - Throws: ``TensorFormatError`` naming the file and tensor when it is missing or not a float tensor.
    public func floats(_ name: String) throws -> [Float] {
        switch self {
        case .safetensors(let file): return try file.floats(name)
        case .pytorch(let file): return try file.floats(name)
        case .npz(let file): return try file.floats(name)
        }
    }

    /// Rows `rows` (a range of the first dimension) of tensor `name` as `Float`, row-major, so a large matrix
    /// can be read in pieces: decoded in place from the map for safetensors and checkpoints (an `.npz` member
    /// is decoded whole first).
    /// - Throws: ``TensorFormatError`` naming the file and tensor when it is missing, 0-dimensional, not a float
    ///   tensor, or `rows` lies outside its first dimension.
    public func floats(_ name: String, rows: Range<Int>) throws -> [Float] {
        switch self {
        case .pytorch(let file): return try file.floats(name, rows: rows)
        case .safetensors(let file):
            let info = try file.info(name)
            let rowElements = try Self.checkRows(rows, shape: info.shape, path: file.path, name: name)
            let rowBytes = rowElements * info.dtype.byteSize
            let raw = try file.rawBytes(name)
            guard info.dtype.isConvertibleToFloat, info.dtype.bitSize % 8 == 0,
                let slice = raw.slice(at: rows.lowerBound * rowBytes, length: rows.count * rowBytes)
            else {
                return Array(try file.floats(name)[(rows.lowerBound * rowElements)..<(rows.upperBound * rowElements)])
            }
            return try TensorDecoding.floats(slice, dtype: info.dtype, count: rows.count * rowElements) {
                TensorFormatError(path: file.path, tensor: name, $0)
            }
        case .npz(let file):
            let array = try file.array(name)
            let rowElements = try Self.checkRows(rows, shape: array.shape, path: file.path, name: name)
            let values = try file.floats(name)
            return Array(values[(rows.lowerBound * rowElements)..<(rows.upperBound * rowElements)])
        }
    }

    /// Checks `rows` against the first dimension of `shape` and returns the elements per row.
    private static func checkRows(_ rows: Range<Int>, shape: [Int], path: String, name: String) throws -> Int {
        guard let first = shape.first else {
            throw TensorFormatError(path: path, tensor: name, "is 0-dimensional; it has no rows to select")
        }
        guard rows.lowerBound >= 0, rows.upperBound <= first else {
            throw TensorFormatError(
                path: path, tensor: name, "rows \(rows.lowerBound)..<\(rows.upperBound) are outside 0..<\(first)")
        }
        return checkedProduct(Array(shape.dropFirst())) ?? 0
    }

    /// The values of tensor `name` as `Int64`, row-major, from any integer or boolean dtype.
    /// - Throws: ``TensorFormatError`` naming the file and tensor when it is missing or not an integer tensor.
    public func int64s(_ name: String) throws -> [Int64] {
        switch self {
        case .safetensors(let file): return try file.int64s(name)
        case .pytorch(let file): return try file.int64s(name)
        case .npz(let file):
            do {
                return try file.array(name).int64s()
            } catch let error as TensorFormatError where error.path != file.path {
                throw TensorFormatError(path: file.path, tensor: name, error.problem)
            }
        }
    }
}
