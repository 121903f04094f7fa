/// The header and metadata of a GGUF file, read without its tensor infos: what a tokenizer or a config
/// reader needs, from any GGUF file, whatever its tensor types (quantized ones included) and without
/// validating the tensor data. Use ``GGUFFile`` to read tensors.
public struct GGUFMetadata: @unchecked Sendable {
    /// The file's path (or the label of in-memory bytes), used in every message.
    public let path: String
    /// The format version (2 or 3).
    public let version: UInt32
    /// The number of tensors the header declares (their infos are not read).
    public let tensorCount: Int
    /// The metadata pairs, in file order.
    public let pairs: [(key: String, value: GGUFValue)]
    private let index: [String: Int]

    /// Maps the GGUF file at `path` and reads its header and metadata (the tensor data is never touched).
    /// - Throws: ``TensorFormatError`` naming the file (and key) for a missing file, a bad magic or version,
    ///   truncated or malformed metadata, or a key that appears twice.
    public init(path: String) throws {
        try self.init(mapping: MappedFile(path: path))
    }

    /// Reads the header and metadata of GGUF bytes that are already mapped or in memory.
    public init(mapping: MappedFile) throws {
        var reader = GGUFReader(bytes: mapping.bytes, path: mapping.path)
        let parsed = try reader.parseHeaderAndMetadata()
        self.init(path: mapping.path, version: parsed.version, tensorCount: parsed.tensorCount, pairs: parsed.metadata)
    }

    /// The metadata of a fully opened ``GGUFFile``.
    public init(_ file: GGUFFile) {
        self.init(path: file.path, version: file.version, tensorCount: file.tensorNames.count, pairs: file.metadata)
    }

    private init(path: String, version: UInt32, tensorCount: Int, pairs: [(key: String, value: GGUFValue)]) {
        self.path = path
        self.version = version
        self.tensorCount = tensorCount
        self.pairs = pairs
        var index: [String: Int] = [:]
        for (position, pair) in pairs.enumerated() { index[pair.key] = position }
        self.index = index
    }

    /// The value of metadata `key`, or nil.
    public func value(_ key: String) -> GGUFValue? {
        index[key].map { pairs[$0].value }
    }
}
