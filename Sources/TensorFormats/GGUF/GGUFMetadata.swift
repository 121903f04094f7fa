/// The metadata of a GGUF file: its key–value pairs in file order, with typed reads whose errors name the file
/// and the key (absent, or of another type).
///
/// ```swift
/// let architecture = try file.metadata.string("general.architecture")
/// let layers = try file.metadata.int("gemma3.block_count")
/// let tokens = try file.metadata.strings("tokenizer.ggml.tokens")
/// ```
public struct GGUFMetadata: Sendable, RandomAccessCollection {
    /// The file the metadata came from, for messages.
    public let path: String
    private let pairs: [(key: String, value: GGUFValue)]
    private let positions: [String: Int]

    /// Wraps `pairs` (keys unique) read from `path`.
    init(path: String, pairs: [(key: String, value: GGUFValue)]) {
        self.path = path
        self.pairs = pairs
        var positions: [String: Int] = [:]
        for (index, pair) in pairs.enumerated() { positions[pair.key] = index }
        self.positions = positions
    }

    /// Maps the GGUF file at `path` and reads only its header and metadata (tensor infos and data are
    /// never touched): what a tokenizer or configuration reader needs.
    /// - Throws: ``TensorFormatError`` naming the file (and key) for a missing file, a bad magic or version,
    ///   truncated or malformed metadata, or a key that appears twice.
    public init(path: String) throws {
        try self.init(mapping: MappedFile(path: path))
    }

    /// Reads the header and metadata of GGUF bytes that are already mapped or in memory.
    public init(mapping: MappedFile) throws {
        var reader = GGUFReader(bytes: mapping.bytes, path: mapping.path)
        let parsed = try reader.parseHeaderAndMetadata()
        self.init(path: mapping.path, pairs: parsed.metadata)
    }

    /// The metadata of a fully opened ``GGUFFile``.
    public init(_ file: GGUFFile) { self = file.metadata }

    /// The index of the first pair.
    public var startIndex: Int { 0 }
    /// One past the index of the last pair.
    public var endIndex: Int { pairs.count }
    /// The pair at `position`, in file order.
    public subscript(position: Int) -> (key: String, value: GGUFValue) { pairs[position] }

    /// The keys, in file order.
    public var keys: [String] { pairs.map(\.key) }

    /// Whether the file has metadata `key`.
    public func contains(key: String) -> Bool { positions[key] != nil }

    /// The value of `key`, or nil when absent.
    public func value(_ key: String) -> GGUFValue? { positions[key].map { pairs[$0].value } }

    /// The string value of `key`.
    /// - Throws: ``TensorFormatError`` naming the file and key when it is absent or not a string.
    public func string(_ key: String) throws -> String {
        let value = try required(key)
        guard case .string(let text) = value else { throw wrongType(key, value, "a string") }
        return text
    }

    /// The integer value of `key`, of any GGUF integer type whose value fits in `Int`.
    /// - Throws: ``TensorFormatError`` naming the file and key when it is absent, not an integer, or too large.
    public func int(_ key: String) throws -> Int {
        let value = try required(key)
        guard let number = value.integerValue else { throw wrongType(key, value, "an integer that fits in Int") }
        return number
    }

    /// The float value of `key`: a float32, or a float64 rounded to `Float`.
    /// - Throws: ``TensorFormatError`` naming the file and key when it is absent or not a float.
    public func float(_ key: String) throws -> Float {
        let value = try required(key)
        switch value {
        case .float32(let number): return number
        case .float64(let number): return Float(number)
        default: throw wrongType(key, value, "a float32 or float64")
        }
    }

    /// The boolean value of `key`.
    /// - Throws: ``TensorFormatError`` naming the file and key when it is absent or not a bool.
    public func bool(_ key: String) throws -> Bool {
        let value = try required(key)
        guard case .bool(let flag) = value else { throw wrongType(key, value, "a bool") }
        return flag
    }

    /// The array of strings at `key`.
    /// - Throws: ``TensorFormatError`` naming the file and key when it is absent or not an array of strings.
    public func strings(_ key: String) throws -> [String] {
        let items = try array(key, of: .string, "an array of strings")
        return items.map { $0.stringValue ?? "" }
    }

    /// The array of floats at `key` (float32 elements, or float64 rounded to `Float`).
    /// - Throws: ``TensorFormatError`` naming the file and key when it is absent or not an array of floats.
    public func floats(_ key: String) throws -> [Float] {
        let value = try required(key)
        guard case .array(let type, let items) = value, type == .float32 || type == .float64 else {
            throw wrongType(key, value, "an array of float32 or float64")
        }
        return items.map { item in
            switch item {
            case .float32(let number): return number
            case .float64(let number): return Float(number)
            default: return .nan  // unreachable: arrays are homogeneous when read
            }
        }
    }

    /// The array of integers at `key` (elements of any one GGUF integer type, each fitting in `Int`).
    /// - Throws: ``TensorFormatError`` naming the file and key when it is absent, not an array of integers, or
    ///   an element is too large.
    public func ints(_ key: String) throws -> [Int] {
        let value = try required(key)
        guard case .array(let type, let items) = value,
            [.uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64].contains(type)
        else { throw wrongType(key, value, "an array of integers") }
        var numbers: [Int] = []
        numbers.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard let number = item.integerValue else {
                throw TensorFormatError(
                    path: path, "metadata key '\(key)': element \(index) (\(item)) does not fit in Int")
            }
            numbers.append(number)
        }
        return numbers
    }

    private func required(_ key: String) throws -> GGUFValue {
        guard let value = value(key) else {
            let nearby = keys.filter { $0.hasPrefix(key.split(separator: ".").first.map(String.init) ?? key) }
            let shown = (nearby.isEmpty ? keys : nearby).prefix(12).map { "'\($0)'" }.joined(separator: ", ")
            throw TensorFormatError(
                path: path,
                "metadata key '\(key)' is missing (keys are case-sensitive); the file has \(pairs.count) keys"
                    + (shown.isEmpty ? "" : ", such as \(shown)")
                    + "; check that the file is the model the loader expects")
        }
        return value
    }

    private func array(_ key: String, of type: GGUFValueType, _ expected: String) throws -> [GGUFValue] {
        let value = try required(key)
        guard case .array(let elementType, let items) = value, elementType == type else {
            throw wrongType(key, value, expected)
        }
        return items
    }

    private func wrongType(_ key: String, _ value: GGUFValue, _ expected: String) -> TensorFormatError {
        TensorFormatError(path: path, "metadata key '\(key)' is \(Self.summary(value)), not \(expected)")
    }

    /// A short description of a value: its type and, for scalars, the value.
    static func summary(_ value: GGUFValue) -> String {
        switch value {
        case .array(let type, let items): return "an array of \(items.count) \(type) values"
        case .string(let text): return "a string (\"\(text.prefix(40))\(text.count > 40 ? "…" : "")\")"
        case .uint8(let v): return "a uint8 (\(v))"
        case .int8(let v): return "an int8 (\(v))"
        case .uint16(let v): return "a uint16 (\(v))"
        case .int16(let v): return "an int16 (\(v))"
        case .uint32(let v): return "a uint32 (\(v))"
        case .int32(let v): return "an int32 (\(v))"
        case .uint64(let v): return "a uint64 (\(v))"
        case .int64(let v): return "an int64 (\(v))"
        case .float32(let v): return "a float32 (\(v))"
        case .float64(let v): return "a float64 (\(v))"
        case .bool(let v): return "a bool (\(v))"
        }
    }
}
