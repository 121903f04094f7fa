// Value and tensor types of the GGUF format (llama.cpp's `ggml/include/gguf.h`, `ggml.h`; GGUF v3).

/// The type tag of a GGUF metadata value, as stored (u32).
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    /// An unsigned 8-bit integer.
    case uint8 = 0
    /// A signed 8-bit integer.
    case int8 = 1
    /// An unsigned 16-bit integer.
    case uint16 = 2
    /// A signed 16-bit integer.
    case int16 = 3
    /// An unsigned 32-bit integer.
    case uint32 = 4
    /// A signed 32-bit integer.
    case int32 = 5
    /// An IEEE binary32 float.
    case float32 = 6
    /// A boolean stored as one byte, 0 or 1.
    case bool = 7
    /// A UTF-8 string with a u64 byte length.
    case string = 8
    /// A typed array: element type (u32), count (u64), values.
    case array = 9
    /// An unsigned 64-bit integer.
    case uint64 = 10
    /// A signed 64-bit integer.
    case int64 = 11
    /// An IEEE binary64 float.
    case float64 = 12

    /// Bytes of one value of a fixed-size type; nil for strings and arrays.
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }
}

/// A GGUF metadata value.
public indirect enum GGUFValue: Sendable, Equatable {
    /// An unsigned 8-bit integer.
    case uint8(UInt8)
    /// A signed 8-bit integer.
    case int8(Int8)
    /// An unsigned 16-bit integer.
    case uint16(UInt16)
    /// A signed 16-bit integer.
    case int16(Int16)
    /// An unsigned 32-bit integer.
    case uint32(UInt32)
    /// A signed 32-bit integer.
    case int32(Int32)
    /// An IEEE binary32 float.
    case float32(Float)
    /// A boolean stored as one byte, 0 or 1.
    case bool(Bool)
    /// A UTF-8 string with a u64 byte length.
    case string(String)
    /// An array of values that all have the element type given first (arrays of arrays are allowed).
    case array(GGUFValueType, [GGUFValue])
    /// An unsigned 64-bit integer.
    case uint64(UInt64)
    /// A signed 64-bit integer.
    case int64(Int64)
    /// An IEEE binary64 float.
    case float64(Double)

    /// The type tag written before the value.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// The string, for `.string` values.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The value as an integer, for any integer type whose value fits in `Int`.
    public var integerValue: Int? {
        switch self {
        case .uint8(let value): return Int(value)
        case .int8(let value): return Int(value)
        case .uint16(let value): return Int(value)
        case .int16(let value): return Int(value)
        case .uint32(let value): return Int(value)
        case .int32(let value): return Int(value)
        case .uint64(let value): return Int(exactly: value)
        case .int64(let value): return Int(exactly: value)
        default: return nil
        }
    }
}

/// The element type of a GGUF tensor (ggml's `ggml_type`), for the unquantized types this package reads and
/// writes.
public enum GGUFTensorType: UInt32, Sendable, CaseIterable {
    /// IEEE binary32 floats (ggml type 0).
    case f32 = 0
    /// IEEE binary16 floats (ggml type 1).
    case f16 = 1
    /// Signed 8-bit integers (ggml type 24).
    case i8 = 24
    /// Signed 16-bit integers (ggml type 25).
    case i16 = 25
    /// Signed 32-bit integers (ggml type 26).
    case i32 = 26
    /// Signed 64-bit integers (ggml type 27).
    case i64 = 27
    /// IEEE binary64 floats (ggml type 28).
    case f64 = 28
    /// bfloat16 floats (ggml type 30).
    case bf16 = 30

    /// Bytes per element.
    public var elementSize: Int {
        switch self {
        case .i8: return 1
        case .f16, .bf16, .i16: return 2
        case .f32, .i32: return 4
        case .i64, .f64: return 8
        }
    }

    /// The same element type in safetensors spelling, for the shared decoders.
    var tensorDType: TensorDType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .f64: return .f64
        case .i8: return .i8
        case .i16: return .i16
        case .i32: return .i32
        case .i64: return .i64
        }
    }
}

/// Constants of the file layout.
enum GGUFLayout {
    /// "GGUF" as stored: the bytes 47 47 55 46.
    static let magic: [UInt8] = Array("GGUF".utf8)
    /// The version this package writes.
    static let version: UInt32 = 3
    /// The data alignment when `general.alignment` is absent.
    static let defaultAlignment = 32
    /// ggml's `GGML_MAX_NAME`: tensor names must be shorter (the C struct keeps a NUL).
    static let maximumTensorNameBytes = 63
    /// ggml's `GGML_MAX_DIMS`.
    static let maximumDimensions = 4
}
