import Foundation
import SteeringTestSupport
import Testing

@testable import TensorFormats

@Suite(".npz archives")
struct NPZTests {
    @Test(
        "np.savez (stored) and np.savez_compressed (deflate) fixtures read back exactly",
        arguments: ["stored.npz", "deflated.npz"])
    func readsFixtures(fileName: String) throws {
        let section = try FormatFixtures.section("npz")
        let members = try #require(section[fileName] as? [String: Any])
        let archive = try NPZ.read(path: FormatFixtures.path(fileName))
        #expect(archive.names == ["W_enc", "b_enc", "threshold", "steps", "half"])
        for (name, value) in members {
            let expected = try ExpectedArray(value)
            let array = try archive.array(name)
            #expect(array.shape == expected.shape)
            #expect(array.dtype.rawValue == expected.descr)
            if let floatBits = expected.f32bits { #expect(bits(try archive.floats(name)) == floatBits, "\(name)") }
            if let ints = expected.ints { #expect(try array.int64s() == ints) }
            #expect(archive[name] == array)
        }
        #expect(archive.contains("W_enc"))
        #expect(archive["missing"] == nil)
        let missing = expectFormatError { try archive.array("W_dec") }
        #expect(missing?.tensor == "W_dec")
        #expect(missing?.problem.contains("'W_enc'") == true)
        #expect(missing?.problem.contains("'threshold'") == true)
        let notFloats = expectFormatError { try archive.floats("steps") }
        #expect(notFloats?.path == FormatFixtures.path(fileName))
        #expect(notFloats?.tensor == "steps")
    }

    private func sampleArrays() throws -> [(name: String, array: NDArray)] {
        var generator = SeededGenerator(seed: 5)
        return [
            ("W_enc", NDArray(floats: (0..<96).map { _ in generator.normal() }, shape: [8, 12])),
            ("b_dec", NDArray(floats: (0..<8).map { _ in generator.normal() }, shape: [8])),
            ("zeros", NDArray(floats: [Float](repeating: 0, count: 4096), shape: [64, 64])),
            ("ids", NDArray(int64s: [1, 2, 3], shape: [3])),
            ("scalar", NDArray(doubles: [0.5], shape: [])),
            ("empty", NDArray(int32s: [], shape: [0])),
            ("half", try NDArray(floats: [1, 2], shape: [2], dtype: .f16)),
            ("bf16", try NDArray(floats: [1, 2], shape: [2], dtype: .void2)),
            ("naïve", NDArray(int32s: [9], shape: [1])),
        ]
    }

    @Test(
        "Round trips: stored, deflated, and with forced ZIP64 records",
        arguments: [
            (false, false), (true, false), (false, true), (true, true),
        ])
    func roundTrip(compressed: Bool, forceZip64: Bool) throws {
        let arrays = try sampleArrays()
        try withTemporaryDirectory { directory in
            let path = directory + "/out.npz"
            try NPZ.write(arrays, compressed: compressed, forceZip64: forceZip64, to: path)
            let archive = try NPZ.read(path: path)
            #expect(archive.names == arrays.map(\.name))
            for (name, array) in arrays { #expect(try archive.array(name) == array, "\(name)") }
            let encoded = try NPZ.encode(arrays, compressed: compressed, forceZip64: forceZip64)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == encoded)
            if compressed {
                let stored = try NPZ.encode(arrays, compressed: false)
                #expect(encoded.count < stored.count)
            }
        }
    }

    @Test(
        "numpy loads what the writer produces", .enabled(if: Python.hasNumpy, "python3 with numpy is not available"),
        arguments: [(false, false), (true, false), (true, true)])
    func numpyReadsOutput(compressed: Bool, forceZip64: Bool) throws {
        let arrays = try sampleArrays()
        try withTemporaryDirectory { directory in
            let path = directory + "/out.npz"
            try NPZ.write(arrays, compressed: compressed, forceZip64: forceZip64, to: path)
            let script = """
                import json, sys, numpy as np, zipfile
                zipfile.ZipFile(sys.argv[1]).testzip()
                d = np.load(sys.argv[1])
                print(json.dumps({k: [d[k].dtype.str, list(d[k].shape), d[k].tobytes().hex()] for k in d.files}))
                """
            let output = try Python.run(["-c", script, path])
            let decoded = try #require(
                try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [Any]])
            #expect(decoded.count == arrays.count)
            for (name, array) in arrays {
                let entry = try #require(decoded[name], "\(name) missing for numpy")
                #expect(entry[0] as? String == array.dtype.rawValue)
                #expect(entry[1] as? [Int] == array.shape)
                #expect(entry[2] as? String == array.data.map { String(format: "%02x", $0) }.joined())
            }
        }
    }

    @Test(
        "numpy loads .npy files the writer produces",
        .enabled(if: Python.hasNumpy, "python3 with numpy is not available"))
    func numpyReadsNPY() throws {
        try withTemporaryDirectory { directory in
            let arrays = try sampleArrays()
            for (index, (_, array)) in arrays.enumerated() { try NPY.write(array, to: directory + "/\(index).npy") }
            let script = """
                import sys, numpy as np
                for i in range(int(sys.argv[2])):
                    a = np.load(f"{sys.argv[1]}/{i}.npy")
                    print(a.dtype.str, a.shape, a.tobytes().hex())
                """
            let lines = try Python.run(["-c", script, directory, String(arrays.count)]).split(separator: "\n")
            #expect(lines.count == arrays.count)
            for (line, (_, array)) in zip(lines, arrays) {
                let hex = array.data.map { String(format: "%02x", $0) }.joined()
                #expect(line.hasPrefix(array.dtype.rawValue + " "))
                #expect(line.hasSuffix(" " + hex) || (hex.isEmpty && line.hasSuffix(" ")))
            }
        }
    }

    @Test(
        "safetensors reads what the writer produces",
        .enabled(if: Python.hasSafetensors, "safetensors is not installed"))
    func safetensorsReadsOutput() throws {
        var writer = SafetensorsWriter(metadata: ["format": "np"])
        try writer.add("a", floats: [1, 2, 3, 4], shape: [2, 2])
        try writer.add("b", floats: [0.5], shape: [], as: .f16)
        try writer.add("c", int64s: [7, -7], shape: [2])
        try withTemporaryDirectory { directory in
            let path = directory + "/x.safetensors"
            try writer.write(to: path)
            let script = """
                import sys
                from safetensors.numpy import load_file
                d = load_file(sys.argv[1])
                print(d["a"].tolist(), float(d["b"]), d["c"].tolist())
                """
            #expect(try Python.run(["-c", script, path]) == "[[1.0, 2.0], [3.0, 4.0]] 0.5 [7, -7]\n")
        }
    }

    @Test("Data-descriptor flags and archive comments are handled")
    func descriptorFlagAndComment() throws {
        var bytes = try FormatFixtures.bytes("stored.npz")
        // Set flag bit 3 in every local and central header; sizes still come from the central directory.
        for offset in 0..<(bytes.count - 4) {
            let signature = bytes[offset..<offset + 4]
            if signature.elementsEqual([0x50, 0x4B, 0x03, 0x04]) { bytes[offset + 6] |= 0x08 }
            if signature.elementsEqual([0x50, 0x4B, 0x01, 0x02]) { bytes[offset + 8] |= 0x08 }
        }
        let comment = Array("written by a test".utf8)
        bytes[bytes.count - 2] = UInt8(comment.count)
        bytes += comment
        let archive = try NPZ.decode(bytes, source: "flagged.npz")
        #expect(try archive.array("steps").int64s() == [3, 1, 4, 1, 5])
    }

    @Test("Unsupported methods, CRC mismatches and encryption are refused, naming the member")
    func corruptMembers() throws {
        let original = try FormatFixtures.bytes("stored.npz")
        let centralStart = try #require(firstOffset(of: [0x50, 0x4B, 0x01, 0x02], in: original))
        var method = original
        method[centralStart + 10] = 12
        let methodError = expectFormatError { try NPZ.decode(method, source: "bzip.npz") }
        #expect(methodError?.tensor == "W_enc.npy")
        #expect(methodError?.problem.contains("bzip2") == true)

        var encrypted = original
        encrypted[centralStart + 8] |= 1
        #expect(expectFormatError { try NPZ.decode(encrypted, source: "e.npz") }?.problem.contains("encrypted") == true)

        var flipped = original
        flipped[200] ^= 0x01  // inside W_enc's float data
        let archive = try NPZ.decode(flipped, source: "crc.npz")
        let crcError = expectFormatError { try archive.array("W_enc") }
        #expect(crcError?.tensor == "W_enc.npy")
        #expect(crcError?.problem.contains("CRC-32") == true)
        #expect(try archive.array("b_enc").elementCount == 6)

        var renamed = original
        renamed[30] = UInt8(ascii: "X")  // first byte of the first local header's name
        #expect(
            expectFormatError { try NPZ.decode(renamed, source: "r.npz") }?.problem.contains("local header") == true)
    }

    @Test("Corrupt deflate data is refused")
    func corruptDeflate() throws {
        var bytes = try FormatFixtures.bytes("deflated.npz")
        let firstData = 30 + Int(bytes[26]) + Int(bytes[28])
        for offset in firstData..<(firstData + 40) { bytes[offset] = 0xFF }
        let broken = try NPZ.decode(bytes, source: "d.npz")
        #expect(expectFormatError { try broken.array("W_enc") }?.tensor == "W_enc.npy")
    }

    @Test("Files that are not archives are refused")
    func notArchives() throws {
        expectFormatError { try NPZ.read(path: FormatFixtures.path("f32.npy")) }
        expectFormatError { try NPZ.read(path: "/nonexistent.npz") }
        expectFormatError { try NPZ.decode([], source: "empty.npz") }
        expectFormatError { try NPZ.decode([UInt8](repeating: 0, count: 100), source: "zeros.npz") }
        expectFormatError {
            try NPZ.encode(
                [
                    (name: "a", array: NDArray(int32s: [1], shape: [1])),
                    (name: "a", array: NDArray(int32s: [1], shape: [1])),
                ], compressed: false)
        }
        expectFormatError { try NPZ.encode([(name: "", array: NDArray(int32s: [1], shape: [1]))], compressed: false) }
    }

    private func firstOffset(of pattern: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        return (0...(bytes.count - pattern.count)).first { bytes[$0..<$0 + pattern.count].elementsEqual(pattern) }
    }
}
