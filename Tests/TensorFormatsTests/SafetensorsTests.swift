import Foundation
import SteeringTestSupport
import Testing

@testable import TensorFormats

@Suite("safetensors reading and writing")
struct SafetensorsTests {
    @Test("The numpy-written fixture reads back exactly, with metadata and offset order")
    func readsFixture() throws {
        let section = try FormatFixtures.section("safetensors")
        for fileName in ["model.safetensors", "bf16.safetensors"] {
            let entry = try #require(section[fileName] as? [String: Any])
            let tensors = try #require(entry["tensors"] as? [String: Any])
            let file = try SafetensorsFile(path: FormatFixtures.path(fileName))
            #expect(file.metadata == (entry["metadata"] as? [String: String] ?? [:]))
            #expect(Set(file.tensorNames) == Set(tensors.keys))
            let offsets = try file.tensorNames.map { try file.info($0).dataRange.lowerBound }
            #expect(offsets == offsets.sorted())
            for (name, value) in tensors {
                let expected = try ExpectedArray(value)
                let info = try file.info(name)
                #expect(info.dtype.rawValue == expected.descr, "\(name)")
                #expect(info.shape == expected.shape, "\(name)")
                #expect(info.elementCount == expected.shape.reduce(1, *))
                if let floatBits = expected.f32bits {
                    #expect(bits(try file.floats(name)) == floatBits, "\(fileName) \(name)")
                }
                if let ints = expected.ints {
                    #expect(try file.int64s(name) == ints, "\(fileName) \(name)")
                    if ints.allSatisfy({ Int32(exactly: $0) != nil }) {
                        #expect(try file.int32s(name) == ints.map { Int32($0) })
                    }
                }
            }
        }
    }

    @Test("The writer reproduces the reference writer's bytes exactly")
    func writerMatchesReference() throws {
        let reference = try FormatFixtures.bytes("model.safetensors")
        let original = try SafetensorsFile(path: FormatFixtures.path("model.safetensors"))
        var writer = SafetensorsWriter(metadata: original.metadata)
        // Add in reverse order: the writer must sort like the reference (alignment desc, then name).
        for name in original.tensorNames.reversed() {
            let info = try original.info(name)
            switch info.dtype {
            case .i32: try writer.add(name, int32s: try original.int32s(name), shape: info.shape)
            case .i64: try writer.add(name, int64s: try original.int64s(name), shape: info.shape)
            default: try writer.add(name, floats: try original.floats(name), shape: info.shape, as: info.dtype)
            }
        }
        #expect(try writer.serialized() == reference)
    }

    @Test(
        "Every float dtype round-trips, narrowing with round-to-nearest-even",
        arguments: [
            TensorDType.f32, .f16, .bf16, .f64,
        ])
    func floatRoundTrip(dtype: TensorDType) throws {
        var generator = SeededGenerator(seed: 11)
        let values = (0..<24).map { _ in generator.normal() * 3 } + [0, -0.0, .infinity, -.infinity, 1e-7, 65504]
        let expected: [Float]
        switch dtype {
        case .f16: expected = values.map { ElementConversion.floatFromFloat16(ElementConversion.float16FromFloat($0)) }
        case .bf16:
            expected = values.map { ElementConversion.floatFromBFloat16(ElementConversion.bfloat16FromFloat($0)) }
        default: expected = values
        }
        var writer = SafetensorsWriter(metadata: ["format": "pt", "note": "quote \" and\nnewline"])
        try writer.add("w", floats: values, shape: [5, 6], as: dtype)
        try writer.add("scalar", floats: [1.5], shape: [], as: dtype)
        try writer.add("nothing", floats: [], shape: [0, 4], as: dtype)
        try withTemporaryDirectory { directory in
            let path = directory + "/t.safetensors"
            try writer.write(to: path)
            let file = try SafetensorsFile(path: path)
            #expect(file.metadata == ["format": "pt", "note": "quote \" and\nnewline"])
            #expect(bits(try file.floats("w")) == bits(expected))
            #expect(try file.info("w").shape == [5, 6])
            #expect(try file.floats("scalar") == [1.5])
            #expect(try file.info("scalar").shape == [])
            #expect(try file.floats("nothing").isEmpty)
            #expect(try file.info("nothing").byteCount == 0)
            #expect(try file.rawBytes("w").count == 30 * dtype.byteSize)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == writer.serialized())
        }
    }

    @Test("Integer dtypes round-trip, and int32s range-checks I64")
    func integerRoundTrip() throws {
        var writer = SafetensorsWriter()
        try writer.add("i32", int32s: [0, -1, .max, .min], shape: [2, 2])
        try writer.add("i64", int64s: [1, -2, 3], shape: [3])
        try writer.add("big", int64s: [.max], shape: [1])
        try writer.add("u8", dtype: .u8, shape: [3], bytes: [0, 200, 255])
        try writer.add("u64", dtype: .u64, shape: [1], bytes: [UInt8](repeating: 0xFF, count: 8))
        try writer.add("f8", dtype: .f8E4M3, shape: [2], bytes: [1, 2])
        let file = try SafetensorsFile(mapping: MappedFile(copying: writer.serialized(), path: "memory"))
        #expect(try file.int32s("i32") == [0, -1, .max, .min])
        #expect(try file.int64s("i32") == [0, -1, Int64(Int32.max), Int64(Int32.min)])
        #expect(try file.int64s("i64") == [1, -2, 3])
        #expect(try file.int32s("i64") == [1, -2, 3])
        #expect(try file.int64s("u8") == [0, 200, 255])
        let tooBig = expectFormatError { try file.int32s("big") }
        #expect(tooBig?.tensor == "big")
        #expect(tooBig?.problem.contains("Int32") == true)
        expectFormatError { try file.int64s("u64") }
        let refused = expectFormatError { try file.floats("f8") }
        #expect(refused?.problem.contains("F8_E4M3") == true)
        expectFormatError { try file.floats("i32") }
        expectFormatError { try file.int64s("f8") }
        #expect(try file.float32Pointer("i32") == nil)
    }

    @Test("float32Pointer is a zero-copy view into the map for aligned F32 data")
    func zeroCopyPointer() throws {
        var writer = SafetensorsWriter()
        let values: [Float] = (0..<64).map { Float($0) * 0.25 }
        try writer.add("weight", floats: values, shape: [8, 8])
        try writer.add("bias", floats: [1, 2, 3], shape: [3], as: .f16)
        try withTemporaryDirectory { directory in
            let path = directory + "/z.safetensors"
            try writer.write(to: path)
            let file = try SafetensorsFile(path: path)
            let pointer = try #require(try file.float32Pointer("weight"))
            #expect(Array(pointer) == values)
            let map = file.mapping.bytes
            let start = UnsafeRawPointer(try #require(pointer.baseAddress))
            let mapStart = try #require(map.baseAddress)
            #expect(start >= mapStart && start + pointer.count * 4 <= mapStart + map.count)
            #expect(start == UnsafeRawPointer(try #require(try file.rawBytes("weight").baseAddress)))
            #expect(try file.float32Pointer("bias") == nil)
        }
    }

    @Test("The writer refuses duplicate, reserved and mismatched tensors")
    func writerValidation() throws {
        var writer = SafetensorsWriter()
        try writer.add("a", floats: [1, 2], shape: [2])
        #expect(expectFormatError { try writer.add("a", floats: [1], shape: [1]) }?.tensor == "a")
        expectFormatError { try writer.add("__metadata__", floats: [1], shape: [1]) }
        expectFormatError { try writer.add("", floats: [1], shape: [1]) }
        expectFormatError { try writer.add("b", floats: [1, 2, 3], shape: [2]) }
        expectFormatError { try writer.add("c", floats: [1], shape: [1], as: .i32) }
        expectFormatError { try writer.add("d", dtype: .f32, shape: [2], bytes: [0, 0, 0]) }
        expectFormatError { try writer.add("e", dtype: .f32, shape: [-1], bytes: []) }
        expectFormatError { try writer.add("f", dtype: .f32, shape: [Int.max, 2], bytes: []) }
        expectFormatError { try writer.add("g", int32s: [1], shape: [2]) }
    }
}
