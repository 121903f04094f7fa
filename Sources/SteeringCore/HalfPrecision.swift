// bfloat16 and IEEE half ↔ float32, written out bit by bit so they behave the same on every platform.

/// Conversions between 16-bit float formats and `Float`.
public enum HalfPrecision {
    /// bf16 → f32: the 16 bits become the high half of the f32.
    @inline(__always)
    public static func bfloat16ToFloat(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// f32 → bf16 with round-to-nearest-even (PyTorch's rounding); NaN stays NaN.
    @inline(__always)
    public static func floatToBFloat16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    /// IEEE binary16 → f32, including subnormals, infinities and NaN.
    @inline(__always)
    public static func float16ToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: value = mantissa · 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// f32 → IEEE binary16 with round-to-nearest-even; overflow gives infinity.
    public static func floatToFloat16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        if value.isNaN { return sign | 0x7E00 }
        let magnitude = abs(value)
        if magnitude >= 65520 { return sign | 0x7C00 }
        if magnitude < 0x1p-14 {
            // Subnormal or zero: round magnitude / 2^-24 to nearest even integer.
            let scaled = magnitude * 0x1p24
            let rounded = scaled.rounded(.toNearestOrEven)
            return sign | UInt16(rounded)
        }
        let exponent = Int((bits >> 23) & 0xFF) - 127 + 15
        var mantissa = bits & 0x7F_FFFF
        var halfExponent = UInt32(exponent)
        // Round 23-bit mantissa to 10 bits, nearest even.
        let remainder = mantissa & 0x1FFF
        mantissa >>= 13
        if remainder > 0x1000 || (remainder == 0x1000 && (mantissa & 1) == 1) {
            mantissa += 1
            if mantissa == 0x400 {
                mantissa = 0
                halfExponent += 1
            }
        }
        return sign | UInt16(halfExponent << 10) | UInt16(mantissa)
    }

    /// Converts a buffer of bf16 bit patterns.
    public static func bfloat16ToFloat(
        _ source: UnsafeBufferPointer<UInt16>, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(destination.count >= source.count, "bf16 conversion: destination too small")
        for i in 0..<source.count { destination[i] = bfloat16ToFloat(source[i]) }
    }

    /// Converts a buffer of IEEE half bit patterns.
    public static func float16ToFloat(
        _ source: UnsafeBufferPointer<UInt16>, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(destination.count >= source.count, "f16 conversion: destination too small")
        for i in 0..<source.count { destination[i] = float16ToFloat(source[i]) }
    }
}
