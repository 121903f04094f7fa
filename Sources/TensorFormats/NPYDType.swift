/// An element type of a `.npy` array, named by its little-endian numpy `descr`.
///
/// Big-endian files (`'>f4'`…) are converted to these little-endian types on load. `void2` (`'|V2'`) is how
/// ml_dtypes' bfloat16 arrays are saved; it is read as floats only when the caller asks for bfloat16.
public enum NPYDType: String, Sendable, CaseIterable {
    case f64 = "<f8"
    case f32 = "<f4"
    case f16 = "<f2"
    case i64 = "<i8"
    case i32 = "<i4"
    case i16 = "<i2"
    case i8 = "|i1"
    case u64 = "<u8"
    case u32 = "<u4"
    case u16 = "<u2"
    case u8 = "|u1"
    case bool = "|b1"
    case void2 = "|V2"

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .i16, .u16, .void2: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// Whether this is a float type (`floats()` converts it without being asked to).
    public var isFloat: Bool { self == .f64 || self == .f32 || self == .f16 }

    /// Whether this is an integer or boolean type.
    public var isInteger: Bool { !isFloat && self != .void2 }

    /// The safetensors element type with the same little-endian encoding, for integer and boolean
    /// types (so both formats share one integer decoder); `nil` for floats and `|V2`.
    var integerTensorDType: TensorDType? {
        switch self {
        case .i64: return .i64
        case .i32: return .i32
        case .i16: return .i16
        case .i8: return .i8
        case .u64: return .u64
        case .u32: return .u32
        case .u16: return .u16
        case .u8: return .u8
        case .bool: return .bool
        case .f64, .f32, .f16, .void2: return nil
        }
    }

    /// Parses a numpy `descr` string: the byte order (`<`, `>`, `|`, `=`, or none) then kind and size.
    /// - Returns: the type and whether the stored bytes are big-endian (and need swapping), or nil.
    static func parse(descr: String) -> (dtype: NPYDType, bigEndian: Bool)? {
        var body = Substring(descr)
        var bigEndian = false
        if let order = body.first, "<>|=".contains(order) {
            bigEndian = order == ">"
            body = body.dropFirst()
        }
        let dtype: NPYDType
        switch body {
        case "f8": dtype = .f64
        case "f4": dtype = .f32
        case "f2": dtype = .f16
        case "i8": dtype = .i64
        case "i4": dtype = .i32
        case "i2": dtype = .i16
        case "i1": dtype = .i8
        case "u8": dtype = .u64
        case "u4": dtype = .u32
        case "u2": dtype = .u16
        case "u1": dtype = .u8
        case "b1": dtype = .bool
        case "V2": dtype = .void2
        default: return nil
        }
        // Byte order means nothing for single bytes or opaque void data.
        return (dtype, bigEndian && dtype.itemSize > 1 && dtype != .void2)
    }
}
