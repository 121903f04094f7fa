import Foundation
import SteeringTestSupport
import Testing

@testable import TensorFormats

@Suite(".npy reading and writing")
struct NPYTests {
    @Test("Every numpy-written fixture reads back exactly")
    func readsFixtures() throws {
        let section = try FormatFixtures.section("npy")
        #expect(section.count >= 14)
        for (fileName, value) in section {
            let expected = try ExpectedArray(value)
            let array = try NPY.read(path: FormatFixtures.path(fileName))
            #expect(array.shape == expected.shape, "\(fileName)")
            #expect(array.elementCount == expected.shape.reduce(1, *))
            if let floatBits = expected.f32bits {
                let values = try array.floats(treatVoid2AsBFloat16: expected.descr == "|V2")
                #expect(bits(values) == floatBits, "\(fileName)")
            }
            if let doubleBits = expected.f64bits {
                #expect(try array.doubles().map(\.bitPattern) == doubleBits, "\(fileName)")
            }
            if let ints = expected.ints {
                #expect(try array.int64s() == ints, "\(fileName)")
            }
        }
    }

    @Test("Fixture dtypes map as expected, big-endian converted to little-endian")
    func dtypes() throws {
        let cases: [(String, NPYDType)] = [
            ("f32.npy", .f32), ("f16.npy", .f16), ("f64.npy", .f64), ("i32.npy", .i32), ("i64.npy", .i64),
            ("u8.npy", .u8), ("bool.npy", .bool), ("bigendian.npy", .f32), ("bf16void.npy", .void2),
        ]
        for (fileName, dtype) in cases {
            #expect(try NPY.read(path: FormatFixtures.path(fileName)).dtype == dtype, "\(fileName)")
        }
    }

    @Test("Encoding reproduces numpy's bytes (header text, growth padding, 64-byte alignment)")
    func encodeMatchesNumpy() throws {
        for fileName in [
            "f32.npy", "f16.npy", "f64.npy", "i32.npy", "i64.npy", "u8.npy", "bool.npy", "scalar.npy", "vector.npy",
            "empty.npy", "bf16void.npy",
        ] {
            let reference = try FormatFixtures.bytes(fileName)
            let array = try NPY.read(path: FormatFixtures.path(fileName))
            #expect(NPY.encode(array) == reference, "\(fileName)")
        }
    }

    @Test("Fortran-order arrays are transposed to C order (2-D and 3-D)")
    func fortranOrder() throws {
        let matrix = try NPY.read(path: FormatFixtures.path("fortran.npy"))
        #expect(matrix.shape == [3, 4])
        #expect(try matrix.floats() == (0..<12).map { Float($0) - 5.5 })
        let cube = try NPY.read(path: FormatFixtures.path("fortran3d.npy"))
        #expect(cube.shape == [2, 3, 4])
        #expect(try cube.int32s() == (0..<24).map { Int32($0) * 3 - 7 })
    }

    @Test("Round trips through files for every dtype")
    func roundTrips() throws {
        var generator = SeededGenerator(seed: 3)
        let floats = (0..<30).map { _ in generator.normal() }
        var arrays: [NDArray] = [
            NDArray(floats: floats, shape: [5, 6]),
            NDArray(doubles: floats.map { Double($0) / 3 }, shape: [30]),
            NDArray(int32s: [1, -2, .max, .min], shape: [2, 2]),
            NDArray(int64s: [.max, .min, 0], shape: [3]),
            NDArray(floats: [42], shape: []),
            NDArray(floats: [], shape: [0, 7]),
            try NDArray(floats: floats, shape: [30], dtype: .f16),
            try NDArray(floats: floats, shape: [3, 10], dtype: .void2),
        ]
        for dtype in [NPYDType.i16, .i8, .u64, .u32, .u16, .u8, .bool] {
            arrays.append(
                try NDArray(dtype: dtype, shape: [2, 3], data: (0..<(6 * dtype.itemSize)).map { UInt8($0 % 2) }))
        }
        try withTemporaryDirectory { directory in
            for (index, array) in arrays.enumerated() {
                let path = directory + "/a\(index).npy"
                try NPY.write(array, to: path)
                let back = try NPY.read(path: path)
                #expect(back == array, "\(array.dtype) \(array.shape)")
                let encoded = NPY.encode(array)
                #expect(encoded.count % 64 == array.data.count % 64)
                #expect(try encoded.withUnsafeBytes { try NPY.decode($0, source: "memory") } == array)
            }
        }
        let f16 = try NDArray(floats: [1, 0.1, 65504, 1e6], shape: [4], dtype: .f16)
        #expect(try f16.floats() == [1, ElementConversion.floatFromFloat16(0x2E66), 65504, .infinity])
        let bf16 = try NDArray(floats: [1, 3.14159], shape: [2], dtype: .void2)
        #expect(try bf16.floats(void2As: .bfloat16) == [1, 3.140625])
        expectFormatError { try NDArray(floats: [1], shape: [2], dtype: .f32) }
        expectFormatError { try NDArray(floats: [1], shape: [1], dtype: .i32) }
        expectFormatError { try NDArray(dtype: .f32, shape: [2], data: [0, 0, 0, 0]) }
    }

    @Test("Conversions between array kinds check types and ranges")
    func conversions() throws {
        let void = try NPY.read(path: FormatFixtures.path("bf16void.npy"))
        #expect(expectFormatError { try void.floats() }?.problem.contains("treatVoid2AsBFloat16") == true)
        expectFormatError { try void.int64s() }
        let ints = NDArray(int64s: [1, 5_000_000_000], shape: [2])
        #expect(expectFormatError { try ints.int32s() }?.problem.contains("Int32") == true)
        expectFormatError { try ints.floats() }
        expectFormatError { try ints.doubles() }
        #expect(try NDArray(int32s: [3, -4], shape: [2]).int64s() == [3, -4])
        expectFormatError { try NDArray(floats: [1], shape: [1]).int32s() }
        let u64 = try NDArray(dtype: .u64, shape: [1], data: [UInt8](repeating: 0xFF, count: 8))
        expectFormatError { try u64.int64s() }
        var broken = NDArray(floats: [1, 2], shape: [2])
        broken.shape = [3]
        expectFormatError { try broken.floats() }
        expectFormatError { try NPZ.encode([(name: "x", array: broken)], compressed: false) }
    }

    @Test("A v2.0 header is written when the dict is longer than 65,535 bytes, and v2/v3 read")
    func largeHeaders() throws {
        let array = NDArray(floats: [Float](repeating: 1, count: 1), shape: [Int](repeating: 1, count: 22_000))
        let encoded = NPY.encode(array)
        #expect(encoded[6] == 2)
        #expect((encoded.count - array.data.count) % 64 == 0)
        #expect(try encoded.withUnsafeBytes { try NPY.decode($0, source: "v2") } == array)
        // Version 3.0 is version 2.0 with a UTF-8 header.
        var small = NPY.encode(NDArray(int32s: [7], shape: [1]))
        small[6] = 2
        small.insert(contentsOf: [0, 0], at: 10)
        small[6] = 3
        #expect(try small.withUnsafeBytes { try NPY.decode($0, source: "v3") }.int32s() == [7])
    }

    @Test("Hand-written headers parse tolerantly")
    func tolerantHeaders() throws {
        let headers = [
            "{'shape': (3,), 'fortran_order': False, 'descr': '<i4'}",
            "{ \"descr\" : \"<i4\" ,\"fortran_order\":False,'shape':(3L,),}  \n",
            "{'descr': '<i4', 'fortran_order': False, 'shape': [3], 'extra': None}\n",
            "{'descr':'i4','fortran_order':True,'shape':(3,)}",
        ]
        let data: [UInt8] = [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]
        for header in headers {
            let bytes = npyBytes(header: header, data: data)
            let array = try bytes.withUnsafeBytes { try NPY.decode($0, source: "hand") }
            #expect(try array.int32s() == [1, 2, 3], "\(header)")
        }
    }

    @Test(
        "Bad .npy input is refused clearly",
        arguments: [
            ("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "pickled"),
            ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "structured"),
            ("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "unsupported dtype"),
            ("{'descr': '|V4', 'fortran_order': False, 'shape': (1,), }", "unsupported dtype"),
            ("{'descr': '<f4', 'shape': (1,), }", "fortran_order"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", "fortran_order"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "non-negative"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': 4, }", "shape"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "Python dict"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", "too large"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", "needs 8"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "unexpected bytes"),
            ("['descr']", "not a dict"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk", "Python dict"),
            ("{'descr': '<f4' 'fortran_order': False}", "Python dict"),
        ])
    func badInput(header: String, expected: String) {
        let bytes = npyBytes(header: header, data: [0, 0, 0, 0, 0, 0])
        let error = expectFormatError(Comment(rawValue: header)) {
            try bytes.withUnsafeBytes { try NPY.decode($0, source: "bad.npy") }
        }
        #expect(error?.path == "bad.npy")
        #expect(error?.problem.contains(expected) == true, "\(header): \(error?.problem ?? "")")
    }

    @Test("Bad magic, version and files are refused")
    func badFiles() throws {
        var bytes = npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0])
        bytes[6] = 4
        #expect(
            expectFormatError { try bytes.withUnsafeBytes { try NPY.decode($0, source: "v4") } }?.problem
                .contains("version") == true)
        bytes[1] = 0
        #expect(
            expectFormatError { try bytes.withUnsafeBytes { try NPY.decode($0, source: "magic") } }?.problem
                .contains("NUMPY") == true)
        expectFormatError { try NPY.read(path: "/nonexistent/x.npy") }
        try withTemporaryDirectory { directory in
            expectFormatError { try NPY.read(path: directory) }
            expectFormatError { try NPY.write(NDArray(floats: [1], shape: [1]), to: directory + "/missing/x.npy") }
        }
    }

    /// A version-1.0 .npy file with a hand-written header.
    private func npyBytes(header: String, data: [UInt8]) -> [UInt8] {
        let text = Array(header.utf8)
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
        withUnsafeBytes(of: UInt16(text.count).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes + text + data
    }
}
