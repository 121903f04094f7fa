import SteeringCore

// Element-type conversions shared by the safetensors and npy readers and writers. The 16-bit float
// formats are converted bit by bit so the results are identical on every platform.

/// Conversions between stored element encodings and Swift numbers.
enum ElementConversion {
    // The bit-level conversions live in SteeringCore.HalfPrecision (one implementation for the whole
    // package); these names keep the decoding tables below readable.
    static func floatFromBFloat16(_ bits: UInt16) -> Float { HalfPrecision.bfloat16ToFloat(bits) }
    static func bfloat16FromFloat(_ value: Float) -> UInt16 { HalfPrecision.floatToBFloat16(value) }
    static func floatFromFloat16(_ bits: UInt16) -> Float { HalfPrecision.float16ToFloat(bits) }
    static func float16FromFloat(_ value: Float) -> UInt16 { HalfPrecision.floatToFloat16(value) }

    static func decode<T: FixedWidthInteger, R>(
        _ raw: UnsafeRawBufferPointer, count: Int, as type: T.Type, _ transform: (T) -> R
    ) -> [R] {
        let stride = MemoryLayout<T>.size
        precondition(raw.count >= count * stride, "decode: \(raw.count) bytes cannot hold \(count) elements")
        return [R](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count {
                let stored = raw.loadUnaligned(fromByteOffset: index * stride, as: T.self)
                (buffer.baseAddress! + index).initialize(to: transform(T(littleEndian: stored)))
            }
            initialized = count
        }
    }

    /// `count` float32 values copied from little-endian bytes (a plain copy on little-endian hosts).
    static func float32s(_ raw: UnsafeRawBufferPointer, count: Int) -> [Float] {
        precondition(raw.count >= count * 4, "float32s: \(raw.count) bytes cannot hold \(count) floats")
        #if _endian(little)
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0, let source = raw.baseAddress {
                    UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: source, byteCount: count * 4)
                }
                initialized = count
            }
        #else
            return decode(raw, count: count, as: UInt32.self) { Float(bitPattern: $0) }
        #endif
    }

    /// Encodes `values` as little-endian elements of `T` produced by `transform`.
    @inline(__always)
    static func encode<V, T: FixedWidthInteger>(_ values: [V], as type: T.Type, _ transform: (V) -> T) -> [UInt8] {
        let stride = MemoryLayout<T>.size
        return [UInt8](unsafeUninitializedCapacity: values.count * stride) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            for (index, value) in values.enumerated() {
                raw.storeBytes(of: transform(value).littleEndian, toByteOffset: index * stride, as: T.self)
            }
            initialized = values.count * stride
        }
    }
}
