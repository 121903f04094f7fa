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

/// A GGUF metadata value. (Not `indirect`: arrays already live on the heap, and boxing every scalar would
/// cost an allocation per element of the 262,144-entry tokenizer arrays.)
public enum GGUFValue: Sendable, Equatable {
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

/// The element type of a GGUF tensor: ggml's `ggml_type`, every number ggml has assigned and not retired.
///
/// ``GGUFFile`` opens files holding any of these (their data size follows ``blockSize`` and ``typeSize``) and
/// dequantises the types in ``dequantizable`` to `Float`. Case names are ggml's names in lower case; the
/// ``description`` is ggml's spelling (`Q4_K`).
public enum GGUFTensorType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    /// IEEE binary32 floats (ggml type 0).
    case f32 = 0
    /// IEEE binary16 floats (ggml type 1).
    case f16 = 1
    /// 32-element blocks: f16 scale, 4-bit values minus 8 (ggml type 2).
    case q4_0 = 2
    /// 32-element blocks: f16 scale and minimum, 4-bit values (ggml type 3).
    case q4_1 = 3
    /// 32-element blocks: f16 scale, 5-bit values minus 16 (ggml type 6).
    case q5_0 = 6
    /// 32-element blocks: f16 scale and minimum, 5-bit values (ggml type 7).
    case q5_1 = 7
    /// 32-element blocks: f16 scale, 8-bit signed values (ggml type 8).
    case q8_0 = 8
    /// 32-element blocks with f32 scale and sum (ggml type 9; an intermediate type, not dequantised).
    case q8_1 = 9
    /// 256-element super-blocks, 2-bit (ggml type 10; not dequantised).
    case q2_k = 10
    /// 256-element super-blocks, 3-bit (ggml type 11; not dequantised).
    case q3_k = 11
    /// 256-element super-blocks of eight 32-element sub-blocks with 6-bit scales and minimums, 4-bit values
    /// (ggml type 12).
    case q4_k = 12
    /// Like Q4_K with a fifth bit per value (ggml type 13).
    case q5_k = 13
    /// 256-element super-blocks of sixteen 16-element sub-blocks with 8-bit scales, 6-bit values (ggml type 14).
    case q6_k = 14
    /// 256-element blocks: f32 scale, 8-bit signed values, 16 block sums (ggml type 15).
    case q8_k = 15
    /// Importance-matrix 2-bit type (ggml type 16; not dequantised).
    case iq2_xxs = 16
    /// Importance-matrix 2-bit type (ggml type 17; not dequantised).
    case iq2_xs = 17
    /// Importance-matrix 3-bit type (ggml type 18; not dequantised).
    case iq3_xxs = 18
    /// Importance-matrix 1-bit type (ggml type 19; not dequantised).
    case iq1_s = 19
    /// Non-linear 4-bit type (ggml type 20; not dequantised).
    case iq4_nl = 20
    /// Importance-matrix 3-bit type (ggml type 21; not dequantised).
    case iq3_s = 21
    /// Importance-matrix 2-bit type (ggml type 22; not dequantised).
    case iq2_s = 22
    /// Non-linear 4-bit super-block type (ggml type 23; not dequantised).
    case iq4_xs = 23
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
    /// Importance-matrix 1-bit type (ggml type 29; not dequantised).
    case iq1_m = 29
    /// bfloat16 floats (ggml type 30).
    case bf16 = 30
    /// Ternary type (ggml type 34; not dequantised).
    case tq1_0 = 34
    /// Ternary type (ggml type 35; not dequantised).
    case tq2_0 = 35
    /// Microscaling 4-bit floats (ggml type 39; not dequantised).
    case mxfp4 = 39
    /// NVIDIA 4-bit floats (ggml type 40; not dequantised).
    case nvfp4 = 40
    /// 1-bit type (ggml type 41; not dequantised).
    case q1_0 = 41

    /// The types ``GGUFFile`` dequantises to `Float` (``GGUFFile/floats(_:)``, ``GGUFFile/dequantize(_:into:)``).
    public static let dequantizable: [GGUFTensorType] = [
        .f32, .f16, .bf16, .f64, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_k, .q5_k, .q6_k, .q8_k,
    ]

    /// Whether ``GGUFFile`` dequantises this type to `Float`.
    public var isDequantizable: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_k, .q5_k, .q6_k, .q8_k: return true
        default: return false
        }
    }

    /// ggml's name of the type (`F32`, `Q4_K`, `IQ2_XXS`).
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q2_k: return "Q2_K"
        case .q3_k: return "Q3_K"
        case .q4_k: return "Q4_K"
        case .q5_k: return "Q5_K"
        case .q6_k: return "Q6_K"
        case .q8_k: return "Q8_K"
        case .iq2_xxs: return "IQ2_XXS"
        case .iq2_xs: return "IQ2_XS"
        case .iq3_xxs: return "IQ3_XXS"
        case .iq1_s: return "IQ1_S"
        case .iq4_nl: return "IQ4_NL"
        case .iq3_s: return "IQ3_S"
        case .iq2_s: return "IQ2_S"
        case .iq4_xs: return "IQ4_XS"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .f64: return "F64"
        case .iq1_m: return "IQ1_M"
        case .bf16: return "BF16"
        case .tq1_0: return "TQ1_0"
        case .tq2_0: return "TQ2_0"
        case .mxfp4: return "MXFP4"
        case .nvfp4: return "NVFP4"
        case .q1_0: return "Q1_0"
        }
    }

    /// Elements per block (ggml's `blck_size`): 1 for the unquantised types, 32 or 256 for the block types.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl, .mxfp4: return 32
        case .nvfp4: return 64
        case .q1_0: return 128
        case .q2_k, .q3_k, .q4_k, .q5_k, .q6_k, .q8_k, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq3_s, .iq2_s, .iq4_xs,
            .iq1_m, .tq1_0, .tq2_0:
            return 256
        }
    }

    /// Bytes per block (ggml's `type_size`).
    public var typeSize: Int {
        switch self {
        case .i8: return 1
        case .f16, .bf16, .i16: return 2
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q8_1: return 40
        case .q2_k: return 84
        case .q3_k: return 110
        case .q4_k: return 144
        case .q5_k: return 176
        case .q6_k: return 210
        case .q8_k: return 292
        case .iq2_xxs: return 66
        case .iq2_xs: return 74
        case .iq3_xxs: return 98
        case .iq1_s: return 50
        case .iq4_nl: return 18
        case .iq3_s: return 110
        case .iq2_s: return 82
        case .iq4_xs: return 136
        case .iq1_m: return 56
        case .tq1_0: return 54
        case .tq2_0: return 66
        case .mxfp4: return 17
        case .nvfp4: return 36
        case .q1_0: return 18
        }
    }

    /// Whether elements are grouped in blocks of more than one (the quantised types).
    public var isQuantized: Bool { blockSize > 1 }

    /// The bytes of `elements` elements (a whole number of blocks), or nil when `elements` is not a multiple of
    /// ``blockSize`` or the count overflows.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: typeSize)
        return overflow ? nil : bytes
    }

    /// The same element type in safetensors spelling, for the shared decoders (unquantised types only).
    var tensorDType: TensorDType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .f64: return .f64
        case .i8: return .i8
        case .i16: return .i16
        case .i32: return .i32
        case .i64: return .i64
        default: return nil
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
