import Dispatch
import Foundation
import SteeringCore
import SteeringTestSupport
import Synchronization
import TensorFormats
import Testing

/// Dequantisation of GGUF tensors against gguf-py's numpy dequantiser (`gguf.quants.dequantize`), bit for bit.
/// Fixtures: Tests/Reference/make_gguf_quant_fixtures.py.
@Suite("GGUF quantised tensors")
struct GGUFQuantTests {
    static let quantsPath = fixturePath("gguf/quants.gguf")

    static func quantBytes() throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: quantsPath))) }

    /// Opens GGUF bytes and reads every tensor as floats.
    static func exercise(_ bytes: [UInt8], label: String = "fuzz.gguf") throws {
        let file = try GGUFFile(mapping: MappedFile(copying: bytes, path: label))
        for name in file.tensorNames { _ = try file.floats(name) }
    }

    @Test("Every dequantised type is bit-identical to gguf.quants.dequantize (tolerance: none)")
    func fixtureParity() throws {
        let file = try GGUFFile(path: Self.quantsPath)
        let expected = try SafetensorsFile(path: fixturePath("gguf/quants_expected.safetensors"))
        #expect(try file.metadata.string("general.architecture") == "quanttest")
        let covered = Set(try file.tensorNames.map { try file.info($0).type })
        // F64 is not a gguf-py dequantiser type; it is checked in `unquantizedTypes`.
        #expect(covered == Set(GGUFTensorType.dequantizable).subtracting([.f64]))
        #expect(Set(file.tensorNames) == Set(expected.tensorNames))
        for name in file.tensorNames {
            let info = try file.info(name)
            #expect(info.type.description.lowercased() == name, "\(name)")
            #expect(info.shape == (try expected.info(name)).shape, "\(name)")
            #expect(info.shape.count >= 2 && info.rowCount >= 2, "\(name): several rows")
            let reference = bits(try expected.floats(name))
            let values = try file.floats(name)
            #expect(
                Self.firstDifference(values, reference) == nil,
                "\(name) (\(info.type)) differs from gguf-py at \(Self.firstDifference(values, reference) ?? "")")

            // The same values straight into caller memory, whole and by row ranges.
            var whole = [Float](repeating: .nan, count: info.elementCount)
            try whole.withUnsafeMutableBufferPointer { try file.dequantize(name, into: $0) }
            #expect(Self.firstDifference(whole, reference) == nil, "\(name) into a buffer")
            var byRows = [Float](repeating: .nan, count: info.elementCount)
            try byRows.withUnsafeMutableBufferPointer { buffer in
                for row in stride(from: info.rowCount - 1, through: 0, by: -1) {
                    let slice = UnsafeMutableBufferPointer(
                        rebasing: buffer[(row * info.rowLength)..<((row + 1) * info.rowLength)])
                    try file.dequantize(name, rows: row..<(row + 1), into: slice)
                }
            }
            #expect(Self.firstDifference(byRows, reference) == nil, "\(name) row by row")
            var middle = [Float](repeating: .nan, count: (info.rowCount - 1) * info.rowLength)
            try middle.withUnsafeMutableBufferPointer { try file.dequantize(name, rows: 1..<info.rowCount, into: $0) }
            #expect(
                Self.firstDifference(middle, Array(reference.dropFirst(info.rowLength))) == nil, "\(name) rows 1...")
        }
    }

    /// nil when `values` have exactly the bit patterns `reference`, else where and how they first differ.
    static func firstDifference(_ values: [Float], _ reference: [UInt32]) -> String? {
        guard values.count == reference.count else { return "\(values.count) values, expected \(reference.count)" }
        guard let index = values.indices.first(where: { values[$0].bitPattern != reference[$0] }) else { return nil }
        let expected = Float(bitPattern: reference[index])
        return "element \(index): \(values[index]) (0x\(String(values[index].bitPattern, radix: 16))), "
            + "expected \(expected) (0x\(String(reference[index], radix: 16)))"
    }

    @Test("Every byte of every block layout is read: damaging it changes the output in some block")
    func everyByteIsRead() throws {
        // A dequantiser that ignored a field or read it from the wrong offset would leave the output unchanged
        // for that byte position in every block. (One block alone may not show it: a zero scale hides its
        // values, a large minimum can absorb a small change.) Q8_K's block sums are not used to dequantise.
        let bytes = try Self.quantBytes()
        let file = try GGUFFile(mapping: MappedFile(copying: bytes, path: "quants.gguf"))
        for name in file.tensorNames {
            let info = try file.info(name)
            let original = bits(try file.floats(name))
            let blocks = info.dataRange.count / info.type.typeSize
            var ignored: [Int] = []
            for position in 0..<info.type.typeSize {
                let read = try (0..<blocks).contains { block in
                    var damaged = bytes
                    damaged[info.dataRange.lowerBound + block * info.type.typeSize + position] ^= 0xFF
                    let changed = try GGUFFile(mapping: MappedFile(copying: damaged, path: "flip.gguf"))
                    return bits(try changed.floats(name)) != original
                }
                if !read { ignored.append(position) }
            }
            let unused = info.type == .q8_k ? Array(260..<292) : []
            #expect(ignored == unused, "\(name): byte positions \(ignored) of each block do not affect the values")
        }
    }

    @Test("F32, F16, BF16 and F64 written by GGUFWriter read back, whole and by rows")
    func unquantizedTypes() throws {
        let values: [Float] = (0..<12).map { Float($0) * 0.375 - 2 }
        var writer = GGUFWriter()
        for type in [GGUFTensorType.f32, .f16, .bf16, .f64] {
            try writer.addTensor("\(type)", floats: values, shape: [3, 4], as: type)
        }
        let file = try GGUFFile(mapping: MappedFile(copying: try writer.serialized(), path: "plain.gguf"))
        for name in file.tensorNames {
            #expect(try file.floats(name) == values, "\(name)")
            var rows = [Float](repeating: 0, count: 8)
            try rows.withUnsafeMutableBufferPointer { try file.dequantize(name, rows: 1..<3, into: $0) }
            #expect(rows == Array(values[4...]), "\(name)")
        }
    }

    @Test("Types that are not dequantised open (metadata, infos) and fail when read, naming file, tensor, type")
    func unsupportedTypes() throws {
        var writer = GGUFWriter()
        try writer.set("general.architecture", .string("test"))
        try writer.addTensor("q2", type: .q2_k, shape: [2, 256], bytes: [UInt8](repeating: 0, count: 2 * 84))
        try writer.addTensor("iq", type: .iq2_xxs, shape: [256], bytes: [UInt8](repeating: 0, count: 66))
        try writer.addTensor("tq", type: .tq1_0, shape: [256], bytes: [UInt8](repeating: 0, count: 54))
        try writer.addTensor("ints", type: .i32, shape: [3], bytes: [UInt8](repeating: 0, count: 12))
        try writer.addTensor("ok", type: .q8_0, shape: [32], bytes: [0, 0x3C] + [UInt8](repeating: 1, count: 32))
        let file = try GGUFFile(mapping: MappedFile(copying: try writer.serialized(), path: "mixed.gguf"))
        #expect(try file.metadata.string("general.architecture") == "test")
        #expect(try file.info("q2").shape == [2, 256] && (try file.info("q2").type) == .q2_k)
        #expect(try file.info("q2").dataRange.count == 168)
        #expect(try file.floats("ok") == [Float](repeating: 1, count: 32))
        for (name, type, number) in [
            ("q2", "Q2_K", 10), ("iq", "IQ2_XXS", 16), ("tq", "TQ1_0", 34), ("ints", "I32", 26),
        ] {
            let error = expectFormatError { try file.floats(name) }
            #expect(error?.path == "mixed.gguf" && error?.tensor == name)
            let text = error?.description ?? ""
            #expect(text.contains("\(type) (ggml type \(number))"), "\(text)")
            #expect(
                text.contains("F32, F16, BF16, F64, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K"), "\(text)")
            var buffer = [Float](repeating: 0, count: try file.info(name).elementCount)
            #expect(
                expectFormatError { try buffer.withUnsafeMutableBufferPointer { try file.dequantize(name, into: $0) } }
                    != nil)
            #expect(try file.data(name).count == (try file.info(name)).dataRange.count)
        }
        #expect(expectFormatError { try file.floats("missing") }?.description.contains("no such tensor") == true)
    }

    @Test("Wrong destination sizes and row ranges are refused")
    func badDestinations() throws {
        let file = try GGUFFile(path: Self.quantsPath)
        let info = try file.info("q4_k")
        var buffer = [Float](repeating: 0, count: info.elementCount + 1)
        try buffer.withUnsafeMutableBufferPointer { all in
            let tooBig = expectFormatError { try file.dequantize("q4_k", into: all) }
            #expect(tooBig?.tensor == "q4_k" && tooBig?.description.contains("destination") == true)
            let oneRow = UnsafeMutableBufferPointer(rebasing: all[0..<info.rowLength])
            #expect(expectFormatError { try file.dequantize("q4_k", rows: 0..<2, into: oneRow) } != nil)
            let outside = expectFormatError { try file.dequantize("q4_k", rows: 2..<3, into: oneRow) }
            #expect(outside?.description.contains("outside") == true)
            let empty = UnsafeMutableBufferPointer(rebasing: all[0..<0])
            try file.dequantize("q4_k", rows: 1..<1, into: empty)
        }
    }

    /// The byte offset of tensor `name`'s info fields after its name: (dimension count, dimensions, type).
    static func infoOffsets(_ name: String, in bytes: [UInt8]) throws -> (dimensions: Int, type: Int, count: Int) {
        let needle = Array(name.utf8)
        // The name is preceded by its u64 length.
        let length = withUnsafeBytes(of: UInt64(needle.count).littleEndian) { Array($0) }
        let pattern = length + needle
        let start = try #require(
            (0...(bytes.count - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) })
        let dimensionCountOffset = start + pattern.count
        let count = Int(bytes[dimensionCountOffset])
        return (dimensionCountOffset + 4, dimensionCountOffset + 4 + 8 * count, count)
    }

    static func patched(_ bytes: [UInt8], at offset: Int, _ value: UInt64, width: Int) -> [UInt8] {
        var copy = bytes
        for index in 0..<width { copy[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
        return copy
    }

    @Test("Bad input: truncation, sizes that do not match, unknown types, partial blocks")
    func badInput() throws {
        let good = try Self.quantBytes()
        try Self.exercise(good)
        let file = try GGUFFile(mapping: MappedFile(copying: good, path: "quants.gguf"))
        let firstData = try file.tensorNames.map { try file.info($0).dataRange.lowerBound }.min()!
        // The file ends with the last tensor's data, so every cut fails: in the header at open, in the data too
        // (the tensor whose data runs past the end is named).
        for length in 0..<good.count {
            let error = expectFormatError("cut to \(length)") {
                try Self.exercise(Array(good.prefix(length)), label: "cut.gguf")
            }
            #expect(error?.path == "cut.gguf")
            if length > firstData {
                #expect(error?.tensor != nil && error?.description.contains("truncated") == true, "\(length)")
            }
        }

        // A shape whose data (computed from type and shape) is longer than the space before the next tensor.
        let q4 = try Self.infoOffsets("q4_0", in: good)  // ggml order: 64, 3, 2
        let longer = expectFormatError {
            try Self.exercise(Self.patched(good, at: q4.dimensions + 16, 3, width: 8), label: "long.gguf")
        }
        #expect(
            longer?.path == "long.gguf" && longer?.description.contains("overlaps") == true,
            "\(longer?.description ?? "")")
        let last = try Self.infoOffsets("q4_k", in: good)  // the last tensor: 512, 2
        let pastEnd = expectFormatError { try Self.exercise(Self.patched(good, at: last.dimensions + 8, 3, width: 8)) }
        #expect(pastEnd?.tensor == "q4_k" && pastEnd?.description.contains("past the end") == true)

        // Unknown and retired type numbers: the data size cannot be computed, so the file is refused at open.
        for number: UInt64 in [31, 36, 99, 0xFFFF_FFFF] {
            let error = expectFormatError { try Self.exercise(Self.patched(good, at: q4.type, number, width: 4)) }
            #expect(error?.tensor == "q4_0", "\(number)")
            #expect(
                error?.description.contains("type \(number) is not a ggml type") == true, "\(error?.description ?? "")")
            #expect(error?.description.contains("Q6_K") == true)
        }

        // An innermost dimension that is not whole blocks.
        let q8 = try Self.infoOffsets("q8_0", in: good)  // 32, 5
        let partial = expectFormatError { try Self.exercise(Self.patched(good, at: q8.dimensions, 16, width: 8)) }
        #expect(partial?.tensor == "q8_0")
        #expect(
            partial?.description.contains("not a multiple of Q8_0's block size 32") == true,
            "\(partial?.description ?? "")")
        // Another type whose block size does not divide the row: Q4_0 (32) relabelled Q4_K (256).
        let relabelled = expectFormatError { try Self.exercise(Self.patched(good, at: q4.type, 12, width: 4)) }
        #expect(relabelled?.description.contains("Q4_K's block size 256") == true)

        // The writer refuses partial blocks and wrong byte counts too.
        var writer = GGUFWriter()
        #expect(
            expectFormatError {
                try writer.addTensor("w", type: .q4_0, shape: [16], bytes: [UInt8](repeating: 0, count: 9))
            } != nil)
        #expect(
            expectFormatError {
                try writer.addTensor("w", type: .q4_0, shape: [32], bytes: [UInt8](repeating: 0, count: 17))
            } != nil)
    }

    @Test("Seeded byte flips of the quantised file throw a TensorFormatError or read")
    func flips() throws {
        let good = try Self.quantBytes()
        var generator = SeededGenerator(seed: 31)
        for index in 0..<300 {
            var damaged = good
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                let position = Int(generator.next() % UInt64(damaged.count))
                damaged[position] ^= UInt8(1 + generator.next() % 255)
            }
            do { try Self.exercise(damaged) } catch is TensorFormatError {} catch {
                Issue.record("flip \(index): \(error)")
            }
        }
    }

    @Test("Typed metadata reads name the key when it is missing or of another type")
    func metadata() throws {
        var writer = GGUFWriter()
        try writer.set("general.architecture", .string("gemma3"))
        try writer.set("gemma3.block_count", .uint32(18))
        try writer.set("gemma3.eps", .float32(1e-6))
        try writer.set("gemma3.big", .float64(0.5))
        try writer.set("flag", .bool(true))
        try writer.set("tokens", .array(.string, [.string("<pad>"), .string("a")]))
        try writer.set("scores", .array(.float32, [.float32(0), .float32(-1.5)]))
        try writer.set("types", .array(.int32, [.int32(3), .int32(1)]))
        try writer.set("huge", .uint64(.max))
        try writer.addTensor("t", floats: [1], shape: [1])
        let file = try GGUFFile(mapping: MappedFile(copying: try writer.serialized(), path: "meta.gguf"))
        let metadata = file.metadata
        #expect(metadata.keys.first == "general.architecture" && metadata.count == 9)
        #expect(metadata.map(\.key) == metadata.keys)
        #expect(try metadata.string("general.architecture") == "gemma3")
        #expect(try metadata.int("gemma3.block_count") == 18)
        #expect(try metadata.float("gemma3.eps") == 1e-6 && (try metadata.float("gemma3.big")) == 0.5)
        #expect(try metadata.bool("flag"))
        #expect(try metadata.strings("tokens") == ["<pad>", "a"])
        #expect(try metadata.floats("scores") == [0, -1.5])
        #expect(try metadata.ints("types") == [3, 1])
        #expect(metadata.contains(key: "flag") && !metadata.contains(key: "Flag"))
        #expect(metadata.value("gemma3.block_count") == .uint32(18) && file.value("flag") == .bool(true))

        let missing = expectFormatError { try metadata.int("gemma3.context_length") }
        #expect(missing?.path == "meta.gguf")
        #expect(missing?.description.contains("'gemma3.context_length' is missing") == true)
        #expect(missing?.description.contains("gemma3.block_count") == true, "suggests keys with the same prefix")
        let cases: [(String, () throws -> Any, String)] = [
            (
                "general.architecture", { try metadata.int("general.architecture") },
                "a string (\"gemma3\"), not an integer"
            ),
            ("gemma3.block_count", { try metadata.string("gemma3.block_count") }, "a uint32 (18), not a string"),
            ("tokens", { try metadata.floats("tokens") }, "an array of 2 string values"),
            ("scores", { try metadata.strings("scores") }, "not an array of strings"),
            ("types", { try metadata.float("types") }, "not a float32"),
            ("flag", { try metadata.ints("flag") }, "a bool (true)"),
            ("huge", { try metadata.int("huge") }, "not an integer that fits in Int"),
            ("gemma3.eps", { try metadata.bool("gemma3.eps") }, "not a bool"),
        ]
        for (key, read, mentions) in cases {
            let error = expectFormatError(Comment(rawValue: key)) { try read() }
            #expect(error?.description.contains("metadata key '\(key)'") == true, "\(error?.description ?? "")")
            #expect(error?.description.contains(mentions) == true, "\(error?.description ?? "")")
        }
    }

    /// CPU seconds used by the calling thread (timings that other processes on a busy machine do not inflate).
    static func threadSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// Tests/Fixtures/gguf/gemma-3-270m/dequantized_sha256.json.
    struct RealDigests: Decodable {
        struct Entry: Decodable {
            var type: String
            var shape: [Int]
            var sha256: String
        }
        var file_size: Int
        var tensors: [String: Entry]
    }

    @Test(
        "Every tensor of the real gemma-3-270m Q4_K_M GGUF dequantises bit-identically to gguf-py (sha256)",
        .enabled(if: RealGemma3.enabled))
    func realModel() throws {
        let path = try RealGemma3.requirePath()
        let data = try Data(contentsOf: URL(fileURLWithPath: fixturePath("gguf/gemma-3-270m/dequantized_sha256.json")))
        let expected = try JSONDecoder().decode(RealDigests.self, from: data)
        let opened = Self.threadSeconds()
        let file = try GGUFFile(path: path)
        let openTime = Self.threadSeconds() - opened
        #expect(file.mapping.byteCount == expected.file_size, "not the file the digests were made from")
        #expect(Set(file.tensorNames) == Set(expected.tensors.keys))
        #expect(try file.metadata.string("general.architecture") == "gemma3")
        #expect(try file.metadata.int("gemma3.block_count") == 18)
        #expect(try file.metadata.int("gemma3.embedding_length") == 640)
        #expect(try file.metadata.strings("tokenizer.ggml.tokens").count == 262_144)
        #expect(try file.metadata.floats("tokenizer.ggml.scores").count == 262_144)
        #expect(try file.metadata.ints("tokenizer.ggml.token_type").count == 262_144)
        #expect(try file.info("token_embd.weight").shape == [262_144, 640])

        let largest = try file.tensorNames.map { try file.info($0).elementCount }.max() ?? 0
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: largest)
        defer { buffer.deallocate() }
        var seconds = 0.0
        var elements = 0
        var mismatches: [String] = []
        for name in file.tensorNames {
            let info = try file.info(name)
            let entry = try #require(expected.tensors[name])
            #expect(info.type.description == entry.type && info.shape == entry.shape, "\(name)")
            let target = UnsafeMutableBufferPointer(rebasing: buffer[0..<info.elementCount])
            let started = Self.threadSeconds()
            try file.dequantize(name, into: target)
            seconds += Self.threadSeconds() - started
            elements += info.elementCount
            if ContentDigest(of: UnsafeRawBufferPointer(target)).hex != entry.sha256 { mismatches.append(name) }
        }
        #expect(mismatches.isEmpty, "differ from gguf-py: \(mismatches.prefix(10))")

        // The embedding in 7 row slices on concurrent threads, as the loader will do, gives the same bytes.
        let embedding = try file.info("token_embd.weight")
        // Each thread writes only its own rows.
        nonisolated(unsafe) let target = UnsafeMutableBufferPointer(rebasing: buffer[0..<embedding.elementCount])
        target.update(repeating: .nan)
        let slices = 7
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            let rows = (embedding.rowCount * slice / slices)..<(embedding.rowCount * (slice + 1) / slices)
            let part = UnsafeMutableBufferPointer(
                rebasing: target[(rows.lowerBound * embedding.rowLength)..<(rows.upperBound * embedding.rowLength)])
            do { try file.dequantize("token_embd.weight", rows: rows, into: part) } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        // Steady state (pages of file and buffer already resident): the embedding again on one thread.
        let warmStart = Self.threadSeconds()
        let copy = UnsafeMutableBufferPointer(rebasing: buffer[0..<embedding.elementCount])
        try file.dequantize("token_embd.weight", into: copy)
        let warm = Self.threadSeconds() - warmStart
        #expect(ContentDigest(of: UnsafeRawBufferPointer(target)).hex == expected.tensors["token_embd.weight"]?.sha256)

        print(
            "gemma-3-270m Q4_K_M (thread CPU time): opened in \(String(format: "%.3f", openTime)) s; dequantised \(file.tensorNames.count) tensors, "
                + "\(elements) floats (\((elements * 4) >> 20) MiB) in \(String(format: "%.2f", seconds)) s, "
                + "\(String(format: "%.0f", Double(elements) / seconds / 1e6)) M floats/s, one thread, first touch; "
                + "token_embd (Q8_0) again: \(String(format: "%.3f", warm)) s")
    }
}
