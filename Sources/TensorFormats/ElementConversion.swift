// Element-type conversions shared by the safetensors and npy readers and writers. The 16-bit float
// formats are converted bit by bit so the results are identical on every platform.

/// Conversions between stored element encodings and Swift numbers.
enum ElementConversion {
    /// bfloat16 → Float: the 16 bits are the high half of the float32.
    @inline(__always)
    static func floatFromBFloat16(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// Float → bfloat16, rounding to nearest even; NaN stays a (quiet) NaN.
    @inline(__always)
    static func bfloat16FromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let lsb = (bits >> 16) & 1
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ lsb) >> 16)
    }

    /// IEEE binary16 → Float, including subnormals, infinities and NaN payloads.
    @inline(__always)
    static func floatFromFloat16(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32((bits >> 10) & 0x1F)
        let fraction = UInt32(bits & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: fraction × 2⁻²⁴, exact in float32.
            let magnitude = Float(fraction) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (fraction << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (fraction << 13))
        }
    }

    /// Float → IEEE binary16, rounding to nearest even; too-large values become infinities.
    static func float16FromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let fraction = bits & 0x7F_FFFF
        if exponent == 0xFF {
            if fraction == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: fraction >> 13)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // The result is subnormal (or zero): significand × 2^(halfExponent − 14) in units of 2⁻²⁴.
            if halfExponent < -10 { return sign }
            let significand = fraction | 0x80_0000
            let shift = UInt32(14 - halfExponent)
            var half = significand >> shift
            let remainder = significand & ((1 << shift) - 1)
            let halfway: UInt32 = 1 << (shift - 1)
            if remainder > halfway || (remainder == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(truncatingIfNeeded: half)
        }
        var half = (UInt32(halfExponent) << 10) | (fraction >> 13)
        let remainder = fraction & 0x1FFF
        // A carry out of the fraction correctly bumps the exponent, up to infinity.
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }
        return sign | UInt16(truncatingIfNeeded: half)
    }

    /// Decodes `count` little-endian elements of `T` from `raw` with `transform`; `raw` must hold
    /// at least `count × MemoryLayout<T>.size` bytes (callers check that first).
    @inline(__always)
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
