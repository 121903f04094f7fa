// Conversions from raw safetensors element bytes to Swift arrays.

/// Decodes raw little-endian tensor bytes by safetensors dtype.
enum TensorDecoding {
    /// `count` floats from `raw` (F32, F16, BF16 or F64); `makeError` builds the error for other dtypes.
    static func floats(
        _ raw: UnsafeRawBufferPointer, dtype: TensorDType, count: Int,
        makeError: (String) -> TensorFormatError
    ) throws -> [Float] {
        guard let needed = dtype.byteCount(elements: count), raw.count >= needed else {
            throw makeError("the data holds \(raw.count) bytes, too few for \(count) \(dtype.rawValue) elements")
        }
        switch dtype {
        case .f32:
            return ElementConversion.float32s(raw, count: count)
        case .f16:
            return ElementConversion.decode(raw, count: count, as: UInt16.self, ElementConversion.floatFromFloat16)
        case .bf16:
            return ElementConversion.decode(raw, count: count, as: UInt16.self, ElementConversion.floatFromBFloat16)
        case .f64:
            return ElementConversion.decode(raw, count: count, as: UInt64.self) { Float(Double(bitPattern: $0)) }
        default:
            throw makeError(
                "dtype \(dtype.rawValue) cannot be read as floats; only F32, F16, BF16 and F64 convert"
                    + (dtype.isInteger ? " (read integers with int32s(_:) or int64s(_:))" : ""))
        }
    }

    /// `count` Int64 values from `raw` (any integer or BOOL dtype).
    static func int64s(
        _ raw: UnsafeRawBufferPointer, dtype: TensorDType, count: Int,
        makeError: (String) -> TensorFormatError
    ) throws -> [Int64] {
        guard let needed = dtype.byteCount(elements: count), raw.count >= needed else {
            throw makeError("the data holds \(raw.count) bytes, too few for \(count) \(dtype.rawValue) elements")
        }
        switch dtype {
        case .i64: return ElementConversion.decode(raw, count: count, as: Int64.self) { $0 }
        case .i32: return ElementConversion.decode(raw, count: count, as: Int32.self) { Int64($0) }
        case .i16: return ElementConversion.decode(raw, count: count, as: Int16.self) { Int64($0) }
        case .i8: return ElementConversion.decode(raw, count: count, as: Int8.self) { Int64($0) }
        case .u32: return ElementConversion.decode(raw, count: count, as: UInt32.self) { Int64($0) }
        case .u16: return ElementConversion.decode(raw, count: count, as: UInt16.self) { Int64($0) }
        case .u8, .bool: return ElementConversion.decode(raw, count: count, as: UInt8.self) { Int64($0) }
        case .u64:
            let wide = ElementConversion.decode(raw, count: count, as: UInt64.self) { $0 }
            var result: [Int64] = []
            result.reserveCapacity(count)
            for (index, value) in wide.enumerated() {
                guard let narrow = Int64(exactly: value) else {
                    throw makeError("element \(index) = \(value) of this U64 tensor does not fit in Int64")
                }
                result.append(narrow)
            }
            return result
        default:
            throw makeError(
                "dtype \(dtype.rawValue) cannot be read as integers"
                    + (dtype.isConvertibleToFloat ? "; read it with floats(_:)" : "; no conversion is supported"))
        }
    }
}
