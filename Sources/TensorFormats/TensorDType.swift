/// An element type named in a safetensors header (`"dtype"`), spelled exactly as the format spells it.
///
/// Every dtype the format defines parses, so a header is never refused for naming one; only converting
/// an unsupported dtype to `Float` or integers throws.
public enum TensorDType: String, Sendable, CaseIterable {
    case f64 = "F64"
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i64 = "I64"
    case i32 = "I32"
    case i16 = "I16"
    case i8 = "I8"
    case u64 = "U64"
    case u32 = "U32"
    case u16 = "U16"
    case u8 = "U8"
    case bool = "BOOL"
    case c64 = "C64"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case f4 = "F4"

    /// Bits per element (4 for `F4`, 6 for the `F6_*` types).
    public var bitSize: Int {
        switch self {
        case .f4: return 4
        case .f6E2M3, .f6E3M2: return 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .i64, .u64, .f64, .c64: return 64
        }
    }

    /// Bytes per element, rounded up (1 for the sub-byte `F4`/`F6_*` types, whose byte counts come from
    /// ``bitSize``).
    public var byteSize: Int { (bitSize + 7) / 8 }

    /// Whether ``SafetensorsFile/floats(_:)`` can convert this dtype (F32, F16, BF16, F64).
    public var isConvertibleToFloat: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: return true
        default: return false
        }
    }

    /// Whether this is one of the integer or boolean dtypes that ``SafetensorsFile/int64s(_:)`` reads.
    public var isInteger: Bool {
        switch self {
        case .i64, .i32, .i16, .i8, .u64, .u32, .u16, .u8, .bool: return true
        default: return false
        }
    }

    /// The position of this dtype in safetensors' `Dtype` enum, which is ordered by increasing alignment.
    /// The reference writer lays tensors out by descending rank, then by name.
    var alignmentRank: Int {
        switch self {
        case .bool: return 0
        case .f4: return 1
        case .f6E2M3: return 2
        case .f6E3M2: return 3
        case .u8: return 4
        case .i8: return 5
        case .f8E5M2: return 6
        case .f8E4M3: return 7
        case .f8E8M0: return 8
        case .f8E4M3FNUZ: return 9
        case .f8E5M2FNUZ: return 10
        case .i16: return 11
        case .u16: return 12
        case .f16: return 13
        case .bf16: return 14
        case .i32: return 15
        case .u32: return 16
        case .f32: return 17
        case .c64: return 18
        case .f64: return 19
        case .i64: return 20
        case .u64: return 21
        }
    }

    /// The byte count of `elements` values, or nil on overflow or when sub-byte values do not fill whole bytes.
    func byteCount(elements: Int) -> Int? {
        let (bits, overflow) = elements.multipliedReportingOverflow(by: bitSize)
        guard !overflow, bits % 8 == 0 else { return nil }
        return bits / 8
    }
}
