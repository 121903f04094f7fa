import Foundation
import SteeringCore
import SteeringPlugins
import SteeringTestSupport
import TensorFormats
import Testing

@testable import Gemma2

/// Gemma-2 GGUF files written by llama.cpp's converter from the tiny checkpoint, against transformers
/// loading the same files (Tests/Reference/make_gemma2_gguf_fixtures.py).
@Suite("Gemma-2 GGUF checkpoints")
struct Gemma2GGUFTests {
    static let directory = fixturePath("gemma2-gguf")

    static func reference() throws -> (tensors: SafetensorsFile, settings: [String: Any]) {
        let tensors = try SafetensorsFile(path: directory + "/reference.safetensors")
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/reference.json"))
        return (tensors, try JSONSerialization.jsonObject(with: data) as! [String: Any])
    }

    @Test(
        "f32 and q8_0 GGUFs: logits within 1e-4 of transformers on the same file, greedy continuations identical",
        arguments: ["f32", "q8_0"])
    func parity(type: String) throws {
        let (reference, settings) = try Self.reference()
        let model = try Gemma2Backend(path: Self.directory + "/tiny-\(type).gguf")
        let rows = (settings["rows"] as! [[Int]]).map { $0.map(Int32.init) }
        let expected = try reference.floats("logits.\(type)")
        let greedy = try reference.int32s("greedy.\(type)")
        let vocabulary = model.descriptor.vocabularySize, width = rows.map(\.count).max()!
        #expect(vocabulary == 512 && model.configuration.queryPreAttentionScalar == 16)
        for (i, row) in rows.enumerated() {
            let ours = try model.logits(for: row).values
            let start = i * width * vocabulary
            let theirs = Array(expected[start..<(start + row.count * vocabulary)])
            let difference = maxAbsDifference(ours, theirs)
            #expect(difference <= 1e-4, "\(type) row \(i): max |Δ| \(difference)")
            let output = try model.generate(
                prompts: [row], sampling: .greedy(maxNewTokens: 8, stopAtEOS: false), interventions: [])
            #expect(Array(output[0].suffix(8)) == Array(greedy[(i * 8)..<(i * 8 + 8)]), "\(type) row \(i)")
        }
        // The tokenizer from tokenizer.ggml.* gives the ids of transformers' tokenizer built from the file.
        let strings = settings["strings"] as! [String]
        let ids = (settings["token_ids"] as! [String: [[Int]]])[type]!
        for (text, expectedIDs) in zip(strings, ids) {
            #expect(model.encode(text, addBOS: true) == expectedIDs.map(Int32.init), "\(text)")
        }
    }

    @Test("the f32 GGUF equals the Hugging Face checkpoint it was converted from (logits max |Δ| ≤ 1e-5)")
    func equalsCheckpoint() throws {
        let gguf = try Gemma2Backend(path: Self.directory + "/tiny-f32.gguf")
        let checkpoint = try Gemma2Fixtures.model("tiny-f32")
        #expect(gguf.configuration.slidingLayers == checkpoint.configuration.slidingLayers)
        #expect(gguf.configuration.slidingWindow == checkpoint.configuration.slidingWindow)
        let tokens: [Int32] = [2, 10, 200, 300, 41, 77, 120, 9, 33, 5, 6, 400, 17, 18]
        let steering = [
            Intervention(site: ActivationSite(layer: 1), vector: (0..<64).map { Float($0 % 7) - 3 }, scale: 2)
        ]
        let a = try gguf.forward(ForwardRequest(sequences: [tokens], interventions: steering, logits: .all))
        let b = try checkpoint.forward(ForwardRequest(sequences: [tokens], interventions: steering, logits: .all))
        #expect(maxAbsDifference(a.logits[0].values, b.logits[0].values) <= 1e-5)
        // Found by general.architecture, through the registry.
        let found = try PluginRegistry.standard.backend(
            forModelAt: PluginOptions(path: Self.directory + "/tiny-q8_0.gguf"), name: nil)
        #expect(found.descriptor.backend == "gemma2")
        #expect(found.descriptor.fingerprint != gguf.descriptor.fingerprint)
    }

    /// A copy of the f32 fixture with `edit` applied to its metadata and tensors.
    static func rewrite(
        to path: String, dropKey: String? = nil, extraTensor: (String, [Int])? = nil,
        reshape: String? = nil
    ) throws {
        let source = try GGUFFile(path: directory + "/tiny-f32.gguf")
        var writer = GGUFWriter()
        for (key, value) in source.metadata where key != dropKey && !key.hasPrefix("GGUF.") {
            try writer.set(key, value)
        }
        for name in source.tensorNames {
            let info = try source.info(name)
            var shape = info.shape
            if name == reshape { shape = [shape[0] * 2, shape[1] / 2] }
            try writer.addTensor(name, floats: try source.floats(name), shape: shape)
        }
        if let (name, shape) = extraTensor {
            try writer.addTensor(name, floats: [Float](repeating: 0, count: shape.reduce(1, *)), shape: shape)
        }
        try writer.write(to: path)
    }

    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("bad Gemma-2 GGUFs fail naming the file and the key or tensor")
    func badFiles() throws {
        let scratch = try makeTemporaryDirectory("gemma2-gguf-bad")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/tiny-f32.gguf"))
        let truncated = scratch + "/truncated.gguf"
        try bytes.prefix(bytes.count - 4096).write(to: URL(fileURLWithPath: truncated))
        #expect(message { _ = try Gemma2Backend(path: truncated) }.contains(truncated))

        let cases: [(String, dropKey: String?, extra: (String, [Int])?, reshape: String?, needles: [String])] = [
            ("missing-key", "gemma2.block_count", nil, nil, ["gemma2.block_count"]),
            ("untied", nil, ("output.weight", [512, 64]), nil, ["output.weight", "ties"]),
            ("stray", nil, ("blk.0.attn_q_norm.weight", [16]), nil, ["unexpected tensor 'blk.0.attn_q_norm.weight'"]),
            ("reshaped", nil, nil, "blk.2.attn_k.weight", ["blk.2.attn_k.weight", "shape"]),
        ]
        for (name, dropKey, extra, reshape, needles) in cases {
            let path = scratch + "/\(name).gguf"
            try Self.rewrite(to: path, dropKey: dropKey, extraTensor: extra, reshape: reshape)
            let text = message { _ = try Gemma2Backend(path: path) }
            for needle in needles + [path] { #expect(text.contains(needle), "\(name): \(text)") }
        }
        #expect(message { _ = try Gemma2Backend(path: scratch + "/absent.gguf") }.contains("absent.gguf"))
    }
}
