import Foundation
import SteeringTestSupport
import TensorFormats
import Testing

/// A Python interpreter that can `import gguf, numpy`: `$STEER_TEST_PYTHON`, the reference venv, or python3.
enum GGUFPython {
    /// The command (executable and leading arguments), or nil when none has the packages.
    static let command: [String]? = {
        var candidates: [[String]] = []
        if let configured = ProcessInfo.processInfo.environment["STEER_TEST_PYTHON"], !configured.isEmpty {
            candidates.append([configured])
        }
        candidates += [["/work/venv-ref/bin/python"], ["/usr/bin/env", "python3"]]
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate[0]) {
            let probe = try? Subprocess.run(
                candidate[0], Array(candidate.dropFirst()) + ["-c", "import gguf, numpy"], timeout: 60)
            if probe?.status == 0 { return candidate }
        }
        return nil
    }()

    /// Runs Tests/Reference/check_gguf.py with `arguments`.
    static func check(_ arguments: [String]) throws -> SubprocessResult? {
        guard let command else { return nil }
        let script = repositoryRoot.appendingPathComponent("Tests/Reference/check_gguf.py").path
        return try Subprocess.run(command[0], Array(command.dropFirst()) + [script] + arguments, timeout: 120)
    }
}

@Suite("GGUF control vectors for llama.cpp")
struct GGUFTests {
    private static func fixture(_ name: String) -> String { fixturePath("gguf/\(name)") }

    private static func vector(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in generator.normal() }
    }

    @Test("A written control vector has llama.cpp's layout, byte by byte")
    func layout() throws {
        let values = Self.vector(10, seed: 1)
        let bytes = try LlamaControlVector(vector: values, afterBlock: 12, modelHint: "gemma2").gguf().serialized()
        #expect(Array(bytes[0..<4]) == Array("GGUF".utf8))
        #expect(bytes[4..<8].elementsEqual([3, 0, 0, 0]), "version 3, little-endian")
        #expect(bytes[8..<16].elementsEqual([1, 0, 0, 0, 0, 0, 0, 0]), "one tensor")
        #expect(bytes[16..<24].elementsEqual([3, 0, 0, 0, 0, 0, 0, 0]), "three metadata pairs")
        #expect(bytes.count % 32 == 0)
        let file = try GGUFFile(mapping: MappedFile(copying: bytes, path: "cv.gguf"))
        #expect(file.version == 3 && file.alignment == 32)
        #expect(
            file.metadata.map(\.key) == [
                "general.architecture", "controlvector.model_hint", "controlvector.layer_count",
            ])
        #expect(file.value("general.architecture") == .string("controlvector"))
        #expect(file.value("controlvector.model_hint") == .string("gemma2"))
        #expect(file.value("controlvector.layer_count") == .int32(1))
        #expect(file.tensorNames == ["direction.12"])
        let info = try file.info("direction.12")
        #expect(info.type == .f32 && info.shape == [10])
        #expect(info.dataRange.lowerBound % 32 == 0 && info.dataRange.count == 40)
        #expect(bits(try file.floats("direction.12")) == bits(values))
        let read = try LlamaControlVector(file: file)
        #expect(read.modelHint == "gemma2" && read.directions == [12: values])
    }

    @Test("Several layers, custom alignment and every metadata type round-trip")
    func roundTrip() throws {
        var writer = GGUFWriter()
        writer.alignment = 64
        let metadata: [(String, GGUFValue)] = [
            ("general.architecture", .string("test")), ("a.u8", .uint8(255)), ("a.i8", .int8(-7)),
            ("a.u16", .uint16(65535)), ("a.i16", .int16(-2)), ("a.u32", .uint32(7)), ("a.i32", .int32(-9)),
            ("a.f32", .float32(1.5)), ("a.bool", .bool(true)), ("a.string", .string("ünïcode")),
            ("a.u64", .uint64(.max)), ("a.i64", .int64(.min)), ("a.f64", .float64(-0.0)),
            ("a.array", .array(.array, [.array(.int32, [.int32(1)]), .array(.int32, [])])),
        ]
        for (key, value) in metadata { try writer.set(key, value) }
        try writer.addTensor("w", floats: (0..<12).map { Float($0) / 4 }, shape: [3, 4], as: .f16)
        try writer.addTensor("v", floats: [1, 2, 3], shape: [3])
        try withTemporaryDirectory { directory in
            let path = directory + "/t.gguf"
            try writer.write(to: path)
            let file = try GGUFFile(path: path)
            #expect(file.alignment == 64)
            #expect(file.value("general.alignment") == .uint32(64))
            for (key, value) in metadata { #expect(file.value(key) == value, "\(key)") }
            #expect(try file.info("w").shape == [3, 4])
            #expect(try file.floats("w") == (0..<12).map { Float($0) / 4 })
            #expect(try file.info("v").dataRange.lowerBound % 64 == 0)
            #expect(try file.floats("v") == [1, 2, 3])
        }
    }

    @Test("Files written by gguf-py (the gguf PyPI package) read correctly")
    func ggufPyFixtures() throws {
        let vector = try LlamaControlVector(file: GGUFFile(path: Self.fixture("ggufpy_controlvector.gguf")))
        #expect(vector.modelHint == "gemma2")
        #expect(vector.directions[3] == (0..<8).map { Float($0) * 0.5 - 1 })
        #expect(vector.directions[12] == (0..<8).map { Float($0) * -0.125 })
        let file = try GGUFFile(path: Self.fixture("ggufpy_metadata.gguf"))
        #expect(file.alignment == 64)
        #expect(file.value("t.u8") == .uint8(200) && file.value("t.i8") == .int8(-100))
        #expect(file.value("t.u16") == .uint16(60000) && file.value("t.i16") == .int16(-30000))
        #expect(file.value("t.u32") == .uint32(4_000_000_000) && file.value("t.i32") == .int32(-2_000_000_000))
        #expect(file.value("t.f32") == .float32(0.15625) && file.value("t.bool") == .bool(true))
        #expect(file.value("t.string") == .string("héllo"))
        #expect(file.value("t.u64") == .uint64(18_000_000_000_000_000_000))
        #expect(file.value("t.i64") == .int64(-9_000_000_000_000_000_000))
        #expect(file.value("t.f64") == .float64(-2.5e-300))
        #expect(file.value("t.ints") == .array(.int32, [.int32(1), .int32(-2), .int32(3)]))
        #expect(file.value("t.strings") == .array(.string, [.string("a"), .string("bc")]))
        #expect(try file.info("matrix").shape == [3, 4] && (try file.info("matrix").type) == .f16)
        #expect(try file.floats("matrix") == (0..<12).map { Float($0) * 0.25 })
        #expect(try file.floats("vector") == [0, 1, 2, 3, 4])
        #expect(expectFormatError { try LlamaControlVector(file: file) }?.description.contains("not a control") == true)
    }

    @Test("Invalid control vectors are refused before anything is written")
    func invalidVectors() throws {
        #expect(expectFormatError { try LlamaControlVector(vector: [1], afterBlock: 0, modelHint: "g") } != nil)
        #expect(expectFormatError { try LlamaControlVector.layerIndex(afterBlock: -1) } != nil)
        #expect(try LlamaControlVector.layerIndex(afterBlock: 12) == 12)
        let mismatched = LlamaControlVector(modelHint: "g", directions: [1: [1, 2], 2: [1]])
        #expect(expectFormatError { try mismatched.gguf() }?.tensor == "direction.2")
        let nan = LlamaControlVector(modelHint: "g", directions: [1: [1, .nan]])
        #expect(expectFormatError { try nan.gguf() }?.description.contains("finite") == true)
        #expect(expectFormatError { try LlamaControlVector(modelHint: "g", directions: [:]).gguf() } != nil)
        var writer = GGUFWriter()
        try writer.set("k", .int32(1))
        #expect(expectFormatError { try writer.set("k", .int32(2)) } != nil)
        #expect(expectFormatError { try writer.set("general.alignment", .uint32(8)) } != nil)
        #expect(expectFormatError { try writer.set("mixed", .array(.int32, [.int32(1), .uint8(2)])) } != nil)
        #expect(
            expectFormatError { try writer.addTensor(String(repeating: "n", count: 64), floats: [1], shape: [1]) }
                != nil)
        #expect(expectFormatError { try writer.addTensor("bad", floats: [1, 2], shape: [3]) } != nil)
        #expect(expectFormatError { try writer.addTensor("zero", floats: [], shape: [0]) } != nil)
        writer.alignment = 24
        #expect(expectFormatError { try writer.serialized() } != nil)
    }

    /// Opens GGUF bytes and reads every float tensor.
    private static func exercise(_ bytes: [UInt8]) throws {
        let file = try GGUFFile(mapping: MappedFile(copying: bytes, path: "fuzz.gguf"))
        for name in file.tensorNames { _ = try file.floats(name) }
    }

    @Test("Malformed files: every truncation, bad headers, random damage")
    func malformed() throws {
        let vector = LlamaControlVector(
            modelHint: "gemma2", directions: [3: Self.vector(6, seed: 2), 9: Self.vector(6, seed: 3)])
        let good = try vector.gguf().serialized()
        try Self.exercise(good)
        // The data of the last tensor ends 8 bytes before the file (padding), so shorter cuts must all fail.
        for length in 0..<(good.count - 8) {
            #expect(expectFormatError("cut to \(length)") { try Self.exercise(Array(good.prefix(length))) } != nil)
        }
        func patched(_ offset: Int, _ replacement: [UInt8]) -> [UInt8] {
            var bytes = good
            bytes.replaceSubrange(offset..<(offset + replacement.count), with: replacement)
            return bytes
        }
        let cases: [(bytes: [UInt8], mentions: String)] = [
            (patched(0, Array("GGUG".utf8)), "magic"),
            (patched(4, [1, 0, 0, 0]), "version 1"),
            (patched(4, [0, 0, 0, 3]), "big-endian"),
            (patched(8, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), "tensor count"),
            (patched(16, [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]), "metadata count"),
            (patched(24, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0]), "past the end"),
        ]
        for item in cases {
            let error = expectFormatError(Comment(rawValue: item.mentions)) { try Self.exercise(item.bytes) }
            #expect(error?.description.contains(item.mentions) == true, "\(error?.description ?? "")")
        }
        // Tensor info fields: find the first tensor's type and offset (after its name and one dimension).
        let nameOffset = try #require(Self.find(Array("direction.3".utf8), in: good))
        let typeOffset = nameOffset + 11 + 4 + 8
        // Q4_0 needs whole 32-element blocks; the tensor has 6 elements.
        let quantized = expectFormatError { try Self.exercise(patched(typeOffset, [2, 0, 0, 0])) }
        #expect(quantized?.description.contains("block size 32") == true)
        let unknown = expectFormatError { try Self.exercise(patched(typeOffset, [99, 0, 0, 0])) }
        #expect(unknown?.description.contains("not a ggml type") == true)
        let misaligned = expectFormatError { try Self.exercise(patched(typeOffset + 4, [4, 0, 0, 0])) }
        #expect(misaligned?.description.contains("alignment") == true)
        let overlapping = expectFormatError { try Self.exercise(patched(typeOffset + 4, [32, 0, 0, 0])) }
        #expect(overlapping?.description.contains("overlaps") == true)
        let dimensions = expectFormatError { try Self.exercise(patched(nameOffset + 11, [9, 0, 0, 0])) }
        #expect(dimensions?.description.contains("dimensions") == true)

        var generator = SeededGenerator(seed: 4)
        for index in 0..<300 {
            var damaged = good
            let position = Int(generator.next() % UInt64(damaged.count))
            damaged[position] ^= UInt8(1 + generator.next() % 255)
            do { try Self.exercise(damaged) } catch is TensorFormatError {} catch {
                Issue.record("flip \(index): \(error)")
            }
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    @Test("gguf-py reads what the writer writes (Tests/Reference/check_gguf.py)")
    func pythonReader() throws {
        guard GGUFPython.command != nil else {
            print("skipping the gguf-py check: no Python with `gguf` and `numpy` (pip install gguf numpy)")
            return
        }
        try withTemporaryDirectory { directory in
            let single = Self.vector(2304, seed: 12)
            try LlamaControlVector(vector: single, afterBlock: 12, modelHint: "gemma2").write(
                to: directory + "/one.gguf")
            try NPY.write(NDArray(floats: single, shape: [2304]), to: directory + "/one.npy")
            let result = try #require(
                try GGUFPython.check([directory + "/one.gguf", directory + "/one.npy", "--layer", "12"]))
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.hasPrefix("OK"))

            let two = [5: Self.vector(16, seed: 5), 20: Self.vector(16, seed: 20)]
            try LlamaControlVector(modelHint: "llama", directions: two).write(to: directory + "/two.gguf")
            try NPY.write(NDArray(floats: two[5]! + two[20]!, shape: [2, 16]), to: directory + "/two.npy")
            let both = try #require(
                try GGUFPython.check([
                    directory + "/two.gguf", directory + "/two.npy", "--layer", "5", "--layer", "20",
                    "--model-hint", "llama",
                ]))
            #expect(both.status == 0, "\(both.stdout)\(both.stderr)")

            // The checker notices wrong values, so a pass above means something.
            try NPY.write(NDArray(floats: single.map { $0 + 1 }, shape: [2304]), to: directory + "/wrong.npy")
            let wrong = try #require(
                try GGUFPython.check([directory + "/one.gguf", directory + "/wrong.npy", "--layer", "12"]))
            #expect(wrong.status != 0)
            #expect(wrong.stdout.contains("FAIL"))
        }
    }
}
