import Foundation
import Testing

@testable import TensorFormats

@Suite("safetensors: bad input is refused with a clear message")
struct SafetensorsBadInputTests {
    private func open(_ bytes: [UInt8]) throws -> SafetensorsFile {
        try SafetensorsFile(mapping: MappedFile(copying: bytes, path: "bad.safetensors"))
    }

    /// One header entry as JSON text.
    private func entry(_ name: String, _ dtype: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
        let dims = shape.map(String.init).joined(separator: ",")
        return #""\#(name)":{"dtype":"\#(dtype)","shape":[\#(dims)],"data_offsets":[\#(begin),\#(end)]}"#
    }

    @discardableResult
    private func problem(header: String, data: [UInt8] = []) -> TensorFormatError? {
        expectFormatError(Comment(rawValue: header)) { try open(makeSafetensors(header: header, data: data)) }
    }

    @Test("A missing file, a directory and an empty file are refused")
    func fileProblems() throws {
        let missing = expectFormatError { try SafetensorsFile(path: "/nonexistent/dir/model.safetensors") }
        #expect(missing?.path == "/nonexistent/dir/model.safetensors")
        #expect(missing?.problem.contains("no such file") == true)
        try withTemporaryDirectory { directory in
            let isDirectory = expectFormatError { try SafetensorsFile(path: directory) }
            #expect(isDirectory?.problem.contains("directory") == true)
            let empty = directory + "/empty.safetensors"
            #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
            #expect(expectFormatError { try SafetensorsFile(path: empty) }?.problem.contains("empty") == true)
            #expect(expectFormatError { try MappedFile(path: empty) } != nil)
        }
    }

    @Test("A missing tensor name is named, with the names that exist")
    func missingTensor() throws {
        let file = try SafetensorsFile(path: FormatFixtures.path("model.safetensors"))
        let error = expectFormatError { try file.floats("model.embed.weights") }
        #expect(error?.tensor == "model.embed.weights")
        #expect(error?.path == FormatFixtures.path("model.safetensors"))
        #expect(error?.problem.contains("'model.embed.weight'") == true)
        #expect(error?.description.contains("model.embed.weights") == true)
        #expect(!file.contains("nope"))
        #expect(file.contains("ids"))
    }

    @Test("Header length beyond the limit, or past the end of the file")
    func headerLength() throws {
        var huge: [UInt8] = []
        withUnsafeBytes(of: UInt64(100_000_001).littleEndian) { huge.append(contentsOf: $0) }
        huge += Array("{}".utf8)
        #expect(expectFormatError { try open(huge) }?.problem.contains("100,000,000") == true)
        var past: [UInt8] = []
        withUnsafeBytes(of: UInt64(50).littleEndian) { past.append(contentsOf: $0) }
        past += Array("{}".utf8)
        #expect(expectFormatError { try open(past) }?.problem.contains("past the end") == true)
        var maximum: [UInt8] = []
        withUnsafeBytes(of: UInt64.max.littleEndian) { maximum.append(contentsOf: $0) }
        expectFormatError { try open(maximum) }
        expectFormatError { try open([1, 2, 3]) }
    }

    @Test("Shape × dtype size must equal the byte count")
    func byteCountMismatch() {
        let error = problem(
            header: #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, data: .init(repeating: 0, count: 12))
        #expect(error?.tensor == "w")
        #expect(error?.problem.contains("needs 16 bytes") == true)
        problem(header: #"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#)
    }

    @Test("Overlapping offsets, holes and uncovered trailing bytes are refused")
    func coverage() {
        let data = [UInt8](repeating: 0, count: 16)
        let overlap = problem(
            header: "{\(entry("a", "F32", [2], 0, 8)),\(entry("b", "F32", [2], 4, 12))}",
            data: data)
        #expect(overlap?.problem.contains("overlap") == true)
        let hole = problem(
            header: "{\(entry("a", "F32", [2], 0, 8)),\(entry("b", "F32", [1], 12, 16))}",
            data: data)
        #expect(hole?.problem.contains("hole") == true)
        let trailing = problem(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: data)
        #expect(trailing?.problem.contains("trailing") == true)
        let past = problem(header: #"{"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}}"#, data: data)
        #expect(past?.problem.contains("past the end") == true)
        problem(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#, data: data)
    }

    @Test(
        "Malformed headers are refused",
        arguments: [
            #"not json"#,
            #"[1, 2]"#,
            #"{"a": 1}"#,
            #"{"a":{"dtype":"F32","shape":[1]}}"#,
            #"{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#,
            #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            #"{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#,
            #"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#,
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#,
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999999]}}"#,
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
                + #""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            #"{"__metadata__":{"format":1},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            #"{"__metadata__":[],"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x"#,
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#,
            #"{"a\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            String(repeating: "[", count: 500),
        ])
    func malformed(header: String) {
        problem(header: header, data: [0, 0, 0, 0])
    }

    @Test("A header that is not UTF-8 is refused")
    func invalidUTF8() {
        var bytes = makeSafetensors(
            header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        bytes[10] = 0xFF
        #expect(expectFormatError { try open(bytes) }?.problem.contains("UTF-8") == true)
    }

    @Test("Legal edge cases parse: scalars, zero-size tensors, padding, escapes, no tensors")
    func legalEdgeCases() throws {
        let header =
            #"{"__metadata__":{"k":"v\u00e9\n"},"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"#
            + #""z":{"dtype":"F32","shape":[3,0],"data_offsets":[8,8]},"#
            + #""q\"uote":{"dtype":"U8","shape":[1],"data_offsets":[8,9]}}   "#
        var data = [UInt8](repeating: 0, count: 9)
        withUnsafeBytes(of: (2.5 as Double).bitPattern.littleEndian) { data.replaceSubrange(0..<8, with: $0) }
        data[8] = 7
        let file = try open(makeSafetensors(header: header, data: data))
        #expect(file.metadata == ["k": "vé\n"])
        #expect(file.tensorNames == ["s", "z", "q\"uote"])
        #expect(try file.floats("s") == [2.5])
        #expect(try file.floats("z") == [])
        #expect(try file.int64s("q\"uote") == [7])
        let none = try open(makeSafetensors(header: "{}      ", data: []))
        #expect(none.tensorNames.isEmpty)
        let f4 = try open(
            makeSafetensors(header: #"{"p":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}"#, data: [1, 2]))
        #expect(try f4.info("p").byteCount == 2)
        expectFormatError { try f4.floats("p") }
    }

    @Test("Every dtype string of the format parses")
    func everyDTypeParses() throws {
        for dtype in TensorDType.allCases {
            let count = dtype.bitSize < 8 ? 8 : 2
            let bytes = count * dtype.bitSize / 8
            let header = #"{"t":{"dtype":"\#(dtype.rawValue)","shape":[\#(count)],"data_offsets":[0,\#(bytes)]}}"#
            let file = try open(makeSafetensors(header: header, data: [UInt8](repeating: 0, count: bytes)))
            #expect(try file.info("t").dtype == dtype)
            if dtype.isConvertibleToFloat { #expect(try file.floats("t") == [Float](repeating: 0, count: count)) }
            if dtype.isInteger { #expect(try file.int64s("t") == [Int64](repeating: 0, count: count)) }
        }
    }
}
