import Foundation
import SteeringTestSupport
import Testing

@testable import TensorFormats

/// Seeded damage to torch's own files: every case must throw a ``TensorFormatError`` or read, never crash.
@Suite("Fuzzing the PyTorch reader")
struct PyTorchFuzzTests {
    private static let cases = 300

    /// Opens checkpoint bytes and reads every tensor.
    private static func exercise(_ bytes: [UInt8]) throws {
        let checkpoint = try PyTorchCheckpoint(mapping: MappedFile(copying: bytes, path: "fuzz.pt"))
        for name in checkpoint.tensorNames {
            let info = try checkpoint.info(name)
            if info.dtype.isConvertibleToFloat {
                _ = try checkpoint.floats(name)
            } else {
                _ = try checkpoint.int64s(name)
            }
        }
    }

    /// The `data.pkl` bytes of every good fixture, as torch wrote them.
    private static func pickles() throws -> [[UInt8]] {
        try TorchFixtures.good.map { stem in
            let mapping = try MappedFile(path: TorchFixtures.path("\(stem).pt"))
            let archive = try PyTorchArchive(mapping.bytes, path: mapping.path)
            return try PyTorchArchive.contents(archive.pickle, in: mapping.bytes, path: mapping.path)
        }
    }

    private static func threw(_ body: () throws -> Void, _ label: String) -> Bool {
        do {
            try body()
            return false
        } catch is TensorFormatError {
            return true
        } catch {
            Issue.record("\(label): threw \(type(of: error)) instead of TensorFormatError: \(error)")
            return true
        }
    }

    @Test("Every truncation of every pickle throws")
    func pickleTruncations() throws {
        for pickle in try Self.pickles() {
            for length in 0..<pickle.count {
                let cut = Array(pickle.prefix(length))
                #expect(
                    Self.threw(
                        { _ = try cut.withUnsafeBytes { try RestrictedUnpickler.load($0, path: "f", member: "m") } },
                        "length \(length)"), "a pickle cut to \(length) of \(pickle.count) bytes was accepted")
            }
        }
    }

    @Test("Random pickle byte flips throw or unpickle")
    func pickleFlips() throws {
        let pickles = try Self.pickles()
        var generator = SeededGenerator(seed: 2411)
        for index in 0..<Self.cases * 4 {
            var damaged = pickles[index % pickles.count]
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                let position = Int(generator.next() % UInt64(damaged.count))
                damaged[position] ^= UInt8(1 + generator.next() % 255)
            }
            _ = Self.threw(
                { _ = try damaged.withUnsafeBytes { try RestrictedUnpickler.load($0, path: "f", member: "m") } },
                "flip case \(index)")
        }
    }

    @Test("Random truncations and byte flips of whole files")
    func wholeFiles() throws {
        let seeds = try ["effects", "views", "nested", "dtypes"].map { stem in
            try [UInt8](Data(contentsOf: URL(fileURLWithPath: TorchFixtures.path("\(stem).pt"))))
        }
        for seed in seeds { #expect(!Self.threw({ try Self.exercise(seed) }, "seed")) }
        var generator = SeededGenerator(seed: 99)
        for index in 0..<Self.cases {
            let seed = seeds[index % seeds.count]
            let length = Int(generator.next() % UInt64(seed.count))
            #expect(Self.threw({ try Self.exercise(Array(seed.prefix(length))) }, "truncated to \(length)"))
            var damaged = seed
            let position = Int(generator.next() % UInt64(damaged.count))
            damaged[position] ^= UInt8(1 + generator.next() % 255)
            _ = Self.threw({ try Self.exercise(damaged) }, "flip at \(position)")
        }
    }
}
