import SteeringCore

// Block dequantisers for GGUF tensor data. Each follows the bit layout of ggml's block structs
// (ggml-common.h) and performs the float operations of gguf-py's numpy dequantiser (gguf/quants.py) in the
// same order and precision, so the results are bit-identical to `gguf.quants.dequantize`:
//
//   Q4_0  d · (q − 8)               Q4_1  (d · q) + m
//   Q5_0  d · (q − 16)              Q5_1  (d · q) + m
//   Q8_0  q · d
//   Q4_K  (d·sc) · q − (dmin·m)     Q5_K  the same with a fifth bit
//   Q6_K  (d·sc) · (q − 32)         Q8_K  q · d (ggml's dequantize_row_q8_K; gguf-py has none)
//
// d, m, dmin are f16 (Q8_K: f32) converted exactly to f32; sc, m are small integers and q integers converted
// exactly; each · and ± is one f32 operation rounded to nearest (Swift does not fuse them into FMAs).
// The loops read raw bytes with unaligned little-endian loads and write straight to the destination.

/// Dequantises whole blocks of GGUF tensor data. Callers check types and sizes first.
enum GGUFDequantizer {
    /// Writes `blockCount * type.blockSize` floats for `blockCount` blocks of `type` read from `source`
    /// (`blockCount * type.typeSize` bytes). `type` must be one of ``GGUFTensorType/dequantizable``.
    static func run(
        _ type: GGUFTensorType, source: UnsafeRawPointer, blockCount: Int, destination: UnsafeMutablePointer<Float>
    ) {
        switch type {
        case .f32: UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: blockCount * 4)
        case .f16: f16(source, blockCount, destination)
        case .bf16: bf16(source, blockCount, destination)
        case .f64: f64(source, blockCount, destination)
        case .q4_0: q4_0(source, blockCount, destination)
        case .q4_1: q4_1(source, blockCount, destination)
        case .q5_0: q5_0(source, blockCount, destination)
        case .q5_1: q5_1(source, blockCount, destination)
        case .q8_0: q8_0(source, blockCount, destination)
        case .q4_k: q4_k(source, blockCount, destination)
        case .q5_k: q5_k(source, blockCount, destination)
        case .q6_k: q6_k(source, blockCount, destination)
        case .q8_k: q8_k(source, blockCount, destination)
        default: preconditionFailure("GGUFDequantizer.run called for \(type), which is not dequantizable")
        }
    }

    @inline(__always)
    private static func byte(_ pointer: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        pointer.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always)
    private static func half(_ pointer: UnsafeRawPointer, _ offset: Int) -> Float {
        HalfPrecision.float16ToFloat(
            UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    private static func f16(_ source: UnsafeRawPointer, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        for index in 0..<count { out[index] = half(source, 2 * index) }
    }

    private static func bf16(_ source: UnsafeRawPointer, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        for index in 0..<count {
            let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
            out[index] = Float(bitPattern: UInt32(bits) << 16)
        }
    }

    private static func f64(_ source: UnsafeRawPointer, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        for index in 0..<count {
            let bits = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
            out[index] = Float(Double(bitPattern: bits))
        }
    }

    /// block_q4_0: f16 d; u8 qs[16] (element j: low nibble of qs[j], element j+16: high nibble).
    private static func q4_0(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let base = source + block * 18
            let y = out + block * 32
            let d = half(base, 0)
            for j in 0..<16 {
                let q = byte(base, 2 + j)
                y[j] = d * Float(Int32(q & 0x0F) - 8)
                y[j + 16] = d * Float(Int32(q >> 4) - 8)
            }
        }
    }

    /// block_q4_1: f16 d, f16 m; u8 qs[16] as in Q4_0.
    private static func q4_1(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let base = source + block * 20
            let y = out + block * 32
            let d = half(base, 0)
            let m = half(base, 2)
            for j in 0..<16 {
                let q = byte(base, 4 + j)
                y[j] = d * Float(q & 0x0F) + m
                y[j + 16] = d * Float(q >> 4) + m
            }
        }
    }

    /// block_q5_0: f16 d; u32 qh (bit j is element j's fifth bit); u8 qs[16] as in Q4_0.
    private static func q5_0(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let base = source + block * 22
            let y = out + block * 32
            let d = half(base, 0)
            let qh = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            for j in 0..<16 {
                let q = UInt32(byte(base, 6 + j))
                let low = (q & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                let high = (q >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = d * Float(Int32(low) - 16)
                y[j + 16] = d * Float(Int32(high) - 16)
            }
        }
    }

    /// block_q5_1: f16 d, f16 m; u32 qh; u8 qs[16] as in Q5_0.
    private static func q5_1(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let base = source + block * 24
            let y = out + block * 32
            let d = half(base, 0)
            let m = half(base, 2)
            let qh = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            for j in 0..<16 {
                let q = UInt32(byte(base, 8 + j))
                let low = (q & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                let high = (q >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = d * Float(low) + m
                y[j + 16] = d * Float(high) + m
            }
        }
    }

    /// block_q8_0: f16 d; i8 qs[32].
    private static func q8_0(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let base = source + block * 34
            let y = out + block * 32
            let d = half(base, 0)
            for j in 0..<32 { y[j] = Float(Int8(bitPattern: byte(base, 2 + j))) * d }
        }
    }

    /// The 6-bit scale and minimum of sub-block `j` (0..<8) from the 12 packed bytes at `scales`
    /// (ggml's get_scale_min_k4).
    @inline(__always)
    private static func scaleMin(_ scales: UnsafeRawPointer, _ j: Int) -> (scale: Float, min: Float) {
        if j < 4 { return (Float(byte(scales, j) & 63), Float(byte(scales, j + 4) & 63)) }
        let scale = (byte(scales, j + 4) & 0x0F) | ((byte(scales, j - 4) >> 6) << 4)
        let min = (byte(scales, j + 4) >> 4) | ((byte(scales, j) >> 6) << 4)
        return (Float(scale), Float(min))
    }

    /// block_q4_K: f16 d, f16 dmin; u8 scales[12]; u8 qs[128]. Sub-blocks 2p and 2p+1 (32 elements each) are
    /// the low and high nibbles of qs[32p ..< 32p+32].
    private static func q4_k(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let base = source + block * 144
            let y = out + block * 256
            let d = half(base, 0)
            let dmin = half(base, 2)
            let scales = base + 4
            for pair in 0..<4 {
                let (scaleLow, minLow) = scaleMin(scales, 2 * pair)
                let (scaleHigh, minHigh) = scaleMin(scales, 2 * pair + 1)
                let d1 = d * scaleLow
                let m1 = dmin * minLow
                let d2 = d * scaleHigh
                let m2 = dmin * minHigh
                let qs = base + 16 + 32 * pair
                let yy = y + 64 * pair
                for l in 0..<32 {
                    let q = byte(qs, l)
                    yy[l] = d1 * Float(q & 0x0F) - m1
                    yy[l + 32] = d2 * Float(q >> 4) - m2
                }
            }
        }
    }

    /// block_q5_K: f16 d, f16 dmin; u8 scales[12]; u8 qh[32] (bit s of qh[l] is the fifth bit of element l
    /// of sub-block s); u8 qs[128] as in Q4_K.
    private static func q5_k(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let base = source + block * 176
            let y = out + block * 256
            let d = half(base, 0)
            let dmin = half(base, 2)
            let scales = base + 4
            let qh = base + 16
            for pair in 0..<4 {
                let (scaleLow, minLow) = scaleMin(scales, 2 * pair)
                let (scaleHigh, minHigh) = scaleMin(scales, 2 * pair + 1)
                let d1 = d * scaleLow
                let m1 = dmin * minLow
                let d2 = d * scaleHigh
                let m2 = dmin * minHigh
                let qs = base + 48 + 32 * pair
                let yy = y + 64 * pair
                let shift = UInt8(2 * pair)
                for l in 0..<32 {
                    let q = byte(qs, l)
                    let h = byte(qh, l) >> shift
                    yy[l] = d1 * Float((q & 0x0F) | (h & 1) << 4) - m1
                    yy[l + 32] = d2 * Float((q >> 4) | (h & 2) << 3) - m2
                }
            }
        }
    }

    /// block_q6_K: u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d. In half h (128 elements), element r takes its
    /// low 4 bits from ql[64h + r % 64] (low nibble for r < 64, else high) and its top 2 bits from
    /// qh[32h + r % 32] >> 2(r / 32); scales[e / 16] scales element e.
    private static func q6_k(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let base = source + block * 210
            let y = out + block * 256
            let d = half(base, 208)
            for h in 0..<2 {
                let ql = base + 64 * h
                let qh = base + 128 + 32 * h
                let scales = base + 192 + 8 * h
                let yy = y + 128 * h
                for part in 0..<2 {
                    // Elements l, l+32, l+64, l+96 for l in 16·part ..< 16·part + 16 use scales part, part+2, +4, +6.
                    let s0 = d * Float(Int8(bitPattern: byte(scales, part)))
                    let s1 = d * Float(Int8(bitPattern: byte(scales, part + 2)))
                    let s2 = d * Float(Int8(bitPattern: byte(scales, part + 4)))
                    let s3 = d * Float(Int8(bitPattern: byte(scales, part + 6)))
                    for l in (16 * part)..<(16 * part + 16) {
                        let a = byte(ql, l)
                        let b = byte(ql, l + 32)
                        let c = byte(qh, l)
                        yy[l] = s0 * Float(Int32((a & 0x0F) | (c & 0x03) << 4) - 32)
                        yy[l + 32] = s1 * Float(Int32((b & 0x0F) | (c & 0x0C) << 2) - 32)
                        yy[l + 64] = s2 * Float(Int32((a >> 4) | (c & 0x30)) - 32)
                        yy[l + 96] = s3 * Float(Int32((b >> 4) | (c & 0xC0) >> 2) - 32)
                    }
                }
            }
        }
    }

    /// block_q8_K: f32 d; i8 qs[256]; i16 bsums[16] (not needed to dequantise).
    private static func q8_k(_ source: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let base = source + block * 292
            let y = out + block * 256
            let d = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
            for j in 0..<256 { y[j] = Float(Int8(bitPattern: byte(base, 4 + j))) * d }
        }
    }
}
