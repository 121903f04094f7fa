// The values the restricted unpickler builds. Only plain data (None, booleans, integers, floats, strings,
// bytes, tuples, lists, dicts) and the few torch objects a checkpoint needs exist here; there is no way
// to represent, let alone call, anything else.

/// One of the globals the restricted unpickler accepts (see ``PickleGlobal/resolve(module:name:)``).
enum PickleGlobal: Sendable, Equatable {
    /// `collections.OrderedDict`: called with no arguments it makes an empty dict.
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    case rebuildTensorV2
    /// `torch._utils._rebuild_parameter(tensor, requires_grad, hooks)`.
    case rebuildParameter
    /// `torch._utils._rebuild_parameter_with_state(tensor, requires_grad, hooks, state)`.
    case rebuildParameterWithState
    /// A typed storage class such as `torch.FloatStorage`; only ever an element of a persistent id.
    case storageType(TensorDType, name: String)

    /// The storage classes torch writes, by class name, with their element types.
    static let storageTypes: [String: TensorDType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8, "ByteStorage": .u8,
        "BoolStorage": .bool,
    ]

    /// The accepted global `module.name`, or nil for every other one.
    static func resolve(module: String, name: String) -> PickleGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        default:
            guard module == "torch", let dtype = storageTypes[name] else { return nil }
            return .storageType(dtype, name: name)
        }
    }

    /// `module.name`, for messages.
    var qualifiedName: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .storageType(_, let name): return "torch.\(name)"
        }
    }
}

/// A storage named by a persistent id: `('storage', <storage class>, key, location, numel)`.
struct PickleStorage: Sendable, Equatable {
    /// The element type, from the storage class.
    var dtype: TensorDType
    /// The record name under `<prefix>/data/`.
    var key: String
    /// Where torch kept it when saving (`cpu`, `cuda:0`, …); informational.
    var location: String
    /// The number of elements the storage holds.
    var elementCount: Int
}

/// A tensor built by `_rebuild_tensor_v2`: a strided view of a storage.
struct PickleTensor: Sendable, Equatable {
    var storage: PickleStorage
    var storageOffset: Int
    var shape: [Int]
    var strides: [Int]
}

/// A list: a reference, because pickles append to lists that the memo also holds.
final class PickleList {
    var items: [PickleValue] = []
}

/// A dict (plain or `OrderedDict`), keeping insertion order; setting an existing key replaces its value.
final class PickleDict {
    /// The keys a dict may have here: those state dicts and their metadata use.
    enum Key: Hashable {
        case string(String)
        case int(Int64)
        case bool(Bool)
        case none

        /// The key as it appears in a flattened tensor name.
        var text: String {
            switch self {
            case .string(let text): return text
            case .int(let value): return String(value)
            case .bool(let value): return value ? "True" : "False"
            case .none: return "None"
            }
        }
    }

    private(set) var entries: [(key: Key, value: PickleValue)] = []
    private var positions: [Key: Int] = [:]

    /// Sets `key` to `value`.
    func set(_ key: Key, _ value: PickleValue) {
        if let position = positions[key] {
            entries[position].value = value
        } else {
            positions[key] = entries.count
            entries.append((key, value))
        }
    }
}

/// A value on the unpickler's stack or in its memo.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case global(PickleGlobal)
    case storage(PickleStorage)
    case tensor(PickleTensor)

    /// What kind of value this is, for messages.
    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int: return "an int"
        case .float: return "a float"
        case .string: return "a str"
        case .bytes: return "bytes"
        case .tuple(let items): return "a \(items.count)-tuple"
        case .list: return "a list"
        case .dict: return "a dict"
        case .global(let global): return global.qualifiedName
        case .storage: return "a storage"
        case .tensor: return "a tensor"
        }
    }
}
