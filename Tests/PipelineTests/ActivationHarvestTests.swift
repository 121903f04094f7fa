import Foundation
import Pipeline
import SteeringCore
import SteeringTestSupport
import Synchronization
import TensorFormats
import Testing

/// A backend whose forward passes fail from the `failAt`-th on (0-based), like a killed run.
private final class InterruptedBackend: ModelBackend {
    struct Interrupted: Error {}
    let base: any ModelBackend
    let failAt: Int
    private let calls = Mutex(0)

    init(_ base: any ModelBackend, failAt: Int) {
        self.base = base
        self.failAt = failAt
    }

    var descriptor: ModelDescriptor { base.descriptor }
    func encode(_ text: String, addBOS: Bool) -> [Int32] { base.encode(text, addBOS: addBOS) }
    func decode(_ tokens: [Int32], skipSpecialTokens: Bool) -> String {
        base.decode(tokens, skipSpecialTokens: skipSpecialTokens)
    }
    func forward(_ request: ForwardRequest) throws -> ForwardResult {
        let call = calls.withLock { count in
            defer { count += 1 }
            return count
        }
        guard call < failAt else { throw Interrupted() }
        return try base.forward(request)
    }
    func nextTokenLoss(sequences: [[Int32]], interventions: [Intervention]) throws -> [Double] {
        try base.nextTokenLoss(sequences: sequences, interventions: interventions)
    }
    func generate(prompts: [[Int32]], sampling: SamplingConfig, interventions: [Intervention]) throws -> [[Int32]] {
        try base.generate(prompts: prompts, sampling: sampling, interventions: interventions)
    }
}

@Suite("Activation harvest")
struct ActivationHarvestTests {
    static let windowCount = 11, length = 9

    /// A temporary folder holding `windows.npy` of random ids; `body` gets its path.
    func withWindows<R>(_ body: (String, [[Int32]]) throws -> R) throws -> R {
        let dir = try makeTemporaryDirectory("harvest")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SeededGenerator(seed: 3)
        let windows = (0..<Self.windowCount).map { _ in
            [Int32(2)] + (1..<Self.length).map { _ in Int32.random(in: 3..<200, using: &rng) }
        }
        try NPY.write(
            NDArray(int32s: windows.flatMap { $0 }, shape: [Self.windowCount, Self.length]), to: dir + "/w.npy")
        return try body(dir, windows)
    }

    @Test("rows are the site's residuals of every window without its first positions, in a numpy-readable file")
    func rowsMatchTheBackend() throws {
        try withWindows { dir, windows in
            let model = try PipelineFixtures.model()
            let harvest = try ActivationHarvest(
                backend: model, site: ActivationSite(layer: 1), skipFirst: 1, batchWindows: 4)
            let summary = try harvest.run(windowsPath: dir + "/w.npy", output: dir + "/a.npy")
            let width = model.descriptor.hiddenSize
            #expect(summary.windows == 11 && summary.computed == 11 && summary.rows == 11 * 8 && summary.width == width)
            let array = try NPY.read(path: dir + "/a.npy")
            #expect(array.dtype == .f32 && array.shape == [11 * 8, width])
            let expected = try model.activations(at: ActivationSite(layer: 1), sequences: windows)
                .flatMap { $0.values[width...] }
            #expect(try array.floats() == expected)
            #expect(!FileManager.default.fileExists(atPath: dir + "/a.npy.partial"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/a.npy.partial.json"))
        }
    }

    @Test("an interrupted run resumes after its last whole window and ends with the same bytes")
    func resumes() throws {
        try withWindows { dir, _ in
            let model = try PipelineFixtures.model()
            let site = ActivationSite(layer: 1)
            let whole = try ActivationHarvest(backend: model, site: site, batchWindows: 3)
            _ = try whole.run(windowsPath: dir + "/w.npy", output: dir + "/whole.npy")

            let broken = try ActivationHarvest(
                backend: InterruptedBackend(model, failAt: 2), site: site, batchWindows: 3)
            #expect(throws: InterruptedBackend.Interrupted.self) {
                try broken.run(windowsPath: dir + "/w.npy", output: dir + "/a.npy")
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/a.npy"))
            // A torn write after the two finished batches: half a window of junk.
            let partial = try #require(FileHandle(forWritingAtPath: dir + "/a.npy.partial"))
            try partial.seekToEnd()
            try partial.write(contentsOf: Data(repeating: 0x7F, count: 8 * 64 * 2))
            try partial.close()

            let resumed = try ActivationHarvest(backend: model, site: site, batchWindows: 3)
                .run(windowsPath: dir + "/w.npy", output: dir + "/a.npy")
            #expect(resumed.computed == 11 - 6)
            let a = try #require(FileManager.default.contents(atPath: dir + "/a.npy"))
            let b = try #require(FileManager.default.contents(atPath: dir + "/whole.npy"))
            #expect(a == b)
        }
    }

    @Test("a partial file of other inputs, an existing output and bad windows are refused by name")
    func refusals() throws {
        try withWindows { dir, _ in
            let model = try PipelineFixtures.model()
            let broken = try ActivationHarvest(
                backend: InterruptedBackend(model, failAt: 1), site: ActivationSite(layer: 1), batchWindows: 4)
            #expect(throws: InterruptedBackend.Interrupted.self) {
                try broken.run(windowsPath: dir + "/w.npy", output: dir + "/a.npy")
            }
            let other = try ActivationHarvest(backend: model, site: ActivationSite(layer: 0), batchWindows: 4)
            let mismatch = #expect(throws: PipelineError.self) {
                try other.run(windowsPath: dir + "/w.npy", output: dir + "/a.npy")
            }
            let message = mismatch.map { "\($0)" } ?? ""
            #expect(message.contains("layer 1") && message.contains("this run has 0"), "\(message)")
            #expect(message.contains("delete \(dir)/a.npy.partial and \(dir)/a.npy.partial.json"), "\(message)")

            FileManager.default.createFile(atPath: dir + "/exists.npy", contents: Data([1]))
            let exists = #expect(throws: SteeringError.self) {
                try other.run(windowsPath: dir + "/w.npy", output: dir + "/exists.npy")
            }
            #expect("\(exists.map { "\($0)" } ?? "")".contains("already exists"))

            try NPY.write(NDArray(floats: [1, 2, 3], shape: [3]), to: dir + "/flat.npy")
            let flat = #expect(throws: PipelineError.self) {
                try other.run(windowsPath: dir + "/flat.npy", output: dir + "/b.npy")
            }
            #expect("\(flat.map { "\($0)" } ?? "")".contains("[windows, length]"))

            try NPY.write(NDArray(int32s: [2, 5, 999_999], shape: [1, 3]), to: dir + "/big.npy")
            #expect(throws: (any Error).self) { try other.run(windowsPath: dir + "/big.npy", output: dir + "/c.npy") }
            #expect(!FileManager.default.fileExists(atPath: dir + "/c.npy"))
        }
    }
}
