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

    /// The values of tensor `name` as `Float`, row-major, from any float dtype (F32, F16, BF16, F64).
    /// - Throws: ``TensorFormatError`` naming the file and tensor when it is missing or not a float tensor.
    public func floats(_ name: String) throws -> [Float] {
        switch self {
        case .safetensors(let file): return try file.floats(name)
        case .pytorch(let file): return try file.floats(name)
        case .npz(let file): return try file.floats(name)
        }
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
