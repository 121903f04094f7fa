import Foundation
import SteeringTestSupport
import Testing

@testable import TensorFormats

/// Seeded truncations and byte flips of valid files: every case must throw a ``TensorFormatError`` or
/// return a result, never crash or read out of bounds; every truncation must throw.
@Suite("Fuzzing the readers with damaged files")
struct FuzzTests {
    private static let casesPerFormat = 300

    /// Opens safetensors bytes and reads every tensor.
    private static func exerciseSafetensors(_ bytes: [UInt8]) throws {
        let file = try SafetensorsFile(mapping: MappedFile(copying: bytes, path: "fuzz.safetensors"))
        for name in file.tensorNames {
            let info = try file.info(name)
            if info.dtype.isConvertibleToFloat { _ = try file.floats(name) }
            if info.dtype.isInteger { _ = try file.int64s(name) }
            _ = try file.float32Pointer(name)
        }
    }

    /// Decodes .npy bytes and converts the array.
    private static func exerciseNPY(_ bytes: [UInt8]) throws {
        let array = try bytes.withUnsafeBytes { try NPY.decode($0, source: "fuzz.npy") }
        if array.dtype.isFloat { _ = try array.floats() } else if array.dtype.isInteger { _ = try array.int64s() }
    }

    /// Opens .npz bytes and decodes every member.
    private static func exerciseNPZ(_ bytes: [UInt8]) throws {
        let archive = try NPZ.decode(bytes, source: "fuzz.npz")
        for name in archive.names { _ = try archive.array(name) }
    }

    /// Opens GGUF bytes and dequantises every tensor.
    private static func exerciseGGUF(_ bytes: [UInt8]) throws {
        let file = try GGUFFile(mapping: MappedFile(copying: bytes, path: "fuzz.gguf"))
        for name in file.tensorNames { _ = try file.floats(name) }
    }

    private static func seedFiles() throws -> [(format: String, bytes: [UInt8], exercise: ([UInt8]) throws -> Void)] {
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        try writer.add("a", floats: [1, 2, 3, 4, 5, 6], shape: [2, 3], as: .bf16)
        try writer.add("b", int64s: [1, 2], shape: [2])
        try writer.add("c", floats: [], shape: [0])
        let arrays: [(name: String, array: NDArray)] = [
            ("x", NDArray(floats: (0..<40).map(Float.init), shape: [5, 8])),
            ("y", NDArray(int32s: [1, 2], shape: [2])),
        ]
        return [
            ("safetensors", try FormatFixtures.bytes("model.safetensors"), exerciseSafetensors),
            ("safetensors", try writer.serialized(), exerciseSafetensors),
            ("npy", try FormatFixtures.bytes("f32.npy"), exerciseNPY),
            ("npy", try FormatFixtures.bytes("fortran3d.npy"), exerciseNPY),
            ("npz", try FormatFixtures.bytes("stored.npz"), exerciseNPZ),
            ("npz", try FormatFixtures.bytes("deflated.npz"), exerciseNPZ),
            ("npz", try NPZ.encode(arrays, compressed: true, forceZip64: true), exerciseNPZ),
            // One tensor of every dequantised block type; the file ends with tensor data, so every cut fails.
            (
                "gguf", [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath("gguf/quants.gguf")))),
                exerciseGGUF
            ),
        ]
    }

    /// Runs `exercise`, recording an issue for any error other than ``TensorFormatError``.
    /// - Returns: whether it threw.
    private static func threw(_ exercise: ([UInt8]) throws -> Void, _ bytes: [UInt8], _ label: String) -> Bool {
        do {
            try exercise(bytes)
            return false
        } catch is TensorFormatError {
            return true
        } catch {
            Issue.record("\(label): threw \(type(of: error)) instead of TensorFormatError: \(error)")
            return true
        }
    }

    @Test("Valid seed files read cleanly")
    func seedsAreValid() throws {
        for seed in try Self.seedFiles() {
            #expect(!Self.threw(seed.exercise, seed.bytes, seed.format), "\(seed.format)")
        }
    }

    @Test("Random truncations always throw", arguments: ["safetensors", "npy", "npz", "gguf"])
    func truncations(format: String) throws {
        let seeds = try Self.seedFiles().filter { $0.format == format }
        var generator = SeededGenerator(seed: 1234)
        for index in 0..<Self.casesPerFormat {
            let seed = seeds[index % seeds.count]
            let length = Int(generator.next() % UInt64(seed.bytes.count))
            let truncated = Array(seed.bytes.prefix(length))
            #expect(
                Self.threw(seed.exercise, truncated, "\(format) truncated to \(length)"),
                "\(format) truncated to \(length) of \(seed.bytes.count) bytes was accepted")
        }
    }

    // GGUF flips: GGUFQuantTests.flips (the quantised file is mostly tensor data, where flips legitimately read).
    @Test("Random byte flips either throw a TensorFormatError or read", arguments: ["safetensors", "npy", "npz"])
    func byteFlips(format: String) throws {
        let seeds = try Self.seedFiles().filter { $0.format == format }
        var generator = SeededGenerator(seed: 5678)
        var rejected = 0
        for index in 0..<Self.casesPerFormat {
            let seed = seeds[index % seeds.count]
            var damaged = seed.bytes
            let flips = 1 + Int(generator.next() % 3)
            for _ in 0..<flips {
                let position = Int(generator.next() % UInt64(damaged.count))
                damaged[position] ^= UInt8(1 + generator.next() % 255)
            }
            if Self.threw(seed.exercise, damaged, "\(format) flip case \(index)") { rejected += 1 }
        }
        // Most damage must be noticed; some flips (in padding or float data) legitimately keep a file valid.
        #expect(rejected > Self.casesPerFormat / 2)
    }

    @Test(
        "Structured damage: random header integers and garbage files", arguments: ["safetensors", "npy", "npz", "gguf"])
    func targetedDamage(format: String) throws {
        let seeds = try Self.seedFiles().filter { $0.format == format }
        var generator = SeededGenerator(seed: 91)
        for index in 0..<Self.casesPerFormat {
            let seed = seeds[index % seeds.count]
            var damaged = seed.bytes
            // Overwrite 4 or 8 bytes with extreme integers, where lengths and offsets live.
            let width = generator.next() % 2 == 0 ? 4 : 8
            let position = Int(generator.next() % UInt64(max(1, damaged.count - width)))
            let extremes: [UInt64] = [0, 1, .max, UInt64(Int64.max), 0xFFFF_FFFF, 0x8000_0000, UInt64(damaged.count)]
            let value = extremes[Int(generator.next() % UInt64(extremes.count))]
            for byte in 0..<width where position + byte < damaged.count {
                damaged[position + byte] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(byte)))
            }
            _ = Self.threw(seed.exercise, damaged, "\(format) integer case \(index)")
            let garbage = (0..<Int(generator.next() % 200)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            #expect(Self.threw(seed.exercise, garbage, "\(format) garbage \(index)"))
        }
    }

    @Test("Damaged files on disk are refused through the file APIs too")
    func onDisk() throws {
        try withTemporaryDirectory { directory in
            var generator = SeededGenerator(seed: 7)
            for (name, open) in [
                ("model.safetensors", { (path: String) throws in _ = try SafetensorsFile(path: path) }),
                ("f32.npy", { (path: String) throws in _ = try NPY.read(path: path) }),
                (
                    "deflated.npz",
                    { (path: String) throws in
                        let archive = try NPZ.read(path: path)
                        for member in archive.names { _ = try archive.array(member) }
                    }
                ),
            ] {
                let bytes = try FormatFixtures.bytes(name)
                for trial in 0..<20 {
                    let length = Int(generator.next() % UInt64(bytes.count))
                    let path = directory + "/\(trial)-\(name)"
                    try Data(bytes.prefix(length)).write(to: URL(fileURLWithPath: path))
                    expectFormatError("\(name) truncated to \(length)") { try open(path) }
                }
            }
        }
    }
}
