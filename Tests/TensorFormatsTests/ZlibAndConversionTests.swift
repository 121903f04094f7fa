import SteeringTestSupport
import Testing

@testable import TensorFormats

@Suite("zlib helpers")
struct ZlibTests {
    @Test("CRC-32 matches the standard check value")
    func crc() {
        #expect(Zlib.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(Zlib.crc32([]) == 0)
        let whole = Array("hello, world".utf8)
        let split = whole.withUnsafeBytes { raw in
            Zlib.crc32(
                UnsafeRawBufferPointer(rebasing: raw[5...]),
                continuing: Zlib.crc32(UnsafeRawBufferPointer(rebasing: raw[..<5])))
        }
        #expect(split == Zlib.crc32(whole))
    }

    @Test(
        "compress and decompress round-trip at every level, including empty input", arguments: [0, 1, 6, 9] as [Int32])
    func roundTrip(level: Int32) throws {
        var generator = SeededGenerator(seed: UInt64(level))
        let noisy = (0..<100_000).map { _ in UInt8(truncatingIfNeeded: generator.next() % 7) }
        for input in [noisy, [], Array(repeating: 42, count: 1_000_000)] {
            let packed = try Zlib.compress(input, level: level)
            #expect(packed.first == 0x78)  // zlib container header
            #expect(try Zlib.decompress(packed) == input)
            #expect(try Zlib.decompress(packed, expectedSize: input.count) == input)
        }
    }

    @Test("Size mismatches, truncation and garbage are refused")
    func failures() throws {
        let input = Array(repeating: UInt8(7), count: 5000)
        let packed = try Zlib.compress(input)
        #expect(
            expectFormatError { try Zlib.decompress(packed, expectedSize: 4999) }?.problem.contains("more than") == true
        )
        #expect(expectFormatError { try Zlib.decompress(packed, expectedSize: 5001) }?.problem.contains("5001") == true)
        #expect(
            expectFormatError { try Zlib.decompress(Array(packed.dropLast(6))) }?.problem.contains("truncated") == true)
        expectFormatError { try Zlib.decompress([1, 2, 3, 4, 5]) }
        expectFormatError { try Zlib.decompress([]) }
        expectFormatError { try Zlib.compress(input, level: 42) }
    }

    @Test("Raw deflate round-trips (the ZIP member encoding)")
    func rawDeflate() throws {
        let input = Array("the quick brown fox jumps over the lazy dog ".utf8) + Array(repeating: 1, count: 300)
        let packed = try input.withUnsafeBytes { try Zlib.deflateData($0, level: 9, raw: true, path: "t", member: nil) }
        let unpacked = try packed.withUnsafeBytes {
            try Zlib.inflateData($0, raw: true, expectedSize: input.count, path: "t", member: nil)
        }
        #expect(unpacked == input)
    }
}

@Suite("16-bit float conversions")
struct HalfConversionTests {
    @Test("Every binary16 value survives f16 → f32 → f16, and matches Swift's Float16")
    func float16Exhaustive() {
        for pattern in 0...UInt16.max {
            let value = ElementConversion.floatFromFloat16(pattern)
            #if !(os(macOS) && arch(x86_64))
                let reference = Float(Float16(bitPattern: pattern))
                #expect(value.bitPattern == reference.bitPattern || (value.isNaN && reference.isNaN))
            #endif
            if value.isNaN {
                #expect(ElementConversion.float16FromFloat(value) & 0x7C00 == 0x7C00)
                #expect(ElementConversion.float16FromFloat(value) & 0x03FF != 0)
            } else if ElementConversion.float16FromFloat(value) != pattern {
                Issue.record("binary16 0x\(String(pattern, radix: 16)) did not round-trip")
                return
            }
        }
    }

    @Test("f32 → f16 rounds to nearest even like Swift's Float16")
    func float16Rounding() {
        var generator = SeededGenerator(seed: 99)
        var cases: [Float] = [
            65504, 65519.99, 65520, 1e-8, 2.9802322e-8, 2.9802326e-8, 5.9604645e-8, 6.1035156e-5,
            6.1e-5, -0.0, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 1 + 0x1p-11,
            1 + 0x1p-11 + 0x1p-23, 1 + 3 * 0x1p-11,
        ]
        for _ in 0..<200_000 {
            cases.append(Float(bitPattern: UInt32(truncatingIfNeeded: generator.next())))
        }
        #if !(os(macOS) && arch(x86_64))
            for value in cases where !value.isNaN {
                let mine = ElementConversion.float16FromFloat(value)
                let reference = Float16(value).bitPattern
                if mine != reference {
                    Issue.record(
                        "\(value) (0x\(String(value.bitPattern, radix: 16))): got \(mine), expected \(reference)")
                    return
                }
            }
        #endif
    }

    @Test("f32 → bf16 rounds to nearest even and keeps NaN")
    func bfloat16Rounding() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3F80), (Float(bitPattern: 0x3F80_8000), 0x3F80), (Float(bitPattern: 0x3F81_8000), 0x3F82),
            (Float(bitPattern: 0x3F80_8001), 0x3F81), (-2, 0xC000), (.infinity, 0x7F80),
            (.greatestFiniteMagnitude, 0x7F80), (Float(bitPattern: 0x0000_0001), 0x0000),
        ]
        for (value, expected) in cases { #expect(ElementConversion.bfloat16FromFloat(value) == expected, "\(value)") }
        #expect(ElementConversion.floatFromBFloat16(ElementConversion.bfloat16FromFloat(.nan)).isNaN)
        #expect(
            ElementConversion.floatFromBFloat16(ElementConversion.bfloat16FromFloat(Float(bitPattern: 0x7F80_0001)))
                .isNaN)
        #expect(ElementConversion.floatFromBFloat16(0x4049) == 3.140625)
    }
}
