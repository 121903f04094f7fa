import Foundation
import SteeringCore
import SteeringPlugins
import SteeringTestSupport
import TensorFormats
import Testing
import TransformerRuntime

@testable import Gemma3

/// A GGUF written from a tiny HF fixture the way llama.cpp's converter writes Gemma 3 (norm weights
/// stored as `1 + w`, `gemma3.*` metadata, a `tokenizer.ggml.*` vocabulary), optionally damaged.
enum TinyGGUF {
    struct Damage: OptionSet {
        let rawValue: Int
        static let wrongShape = Damage(rawValue: 1)
        static let missingTensor = Damage(rawValue: 2)
        static let unsupportedType = Damage(rawValue: 4)
        static let missingKey = Damage(rawValue: 8)
        static let otherArchitecture = Damage(rawValue: 16)
    }

    static func write(from fixture: String, to path: String, damage: Damage = []) throws {
        let directory = Gemma3Fixtures.directory(fixture)
        let config = try Gemma3Configuration.load(path: directory + "/config.json")
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        var writer = GGUFWriter()
        let architecture = damage.contains(.otherArchitecture) ? "llama" : "gemma3"
        let a = architecture + "."
        try writer.set("general.architecture", .string(architecture))
        if !damage.contains(.missingKey) { try writer.set(a + "block_count", .uint32(UInt32(config.layerCount))) }
        try writer.set(a + "embedding_length", .uint32(UInt32(config.hiddenSize)))
        try writer.set(a + "feed_forward_length", .uint32(UInt32(config.intermediateSize)))
        try writer.set(a + "attention.head_count", .uint32(UInt32(config.headCount)))
        try writer.set(a + "attention.head_count_kv", .uint32(UInt32(config.keyValueHeadCount)))
        try writer.set(a + "attention.key_length", .uint32(UInt32(config.headDimension)))
        try writer.set(a + "attention.value_length", .uint32(UInt32(config.headDimension)))
        try writer.set(a + "attention.sliding_window", .uint32(UInt32(config.slidingWindow)))
        try writer.set(a + "attention.layer_norm_rms_epsilon", .float32(config.rmsNormEpsilon))
        try writer.set(a + "rope.freq_base", .float32(Float(config.globalRopeBase)))
        try writer.set(a + "context_length", .uint32(UInt32(config.maxPositions)))
        let tokens = (0..<config.vocabularySize).map { i in
            ["<pad>", "<eos>", "<bos>", "<unk>"].indices.contains(i)
                ? ["<pad>", "<eos>", "<bos>", "<unk>"][i] : "t\(i)"
        }
        try writer.set("tokenizer.ggml.model", .string("llama"))
        try writer.set("tokenizer.ggml.pre", .string("default"))
        try writer.set("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) }))
        try writer.set("tokenizer.ggml.scores", .array(.float32, tokens.map { _ in .float32(0) }))
        try writer.set("tokenizer.ggml.token_type", .array(.int32, tokens.indices.map { .int32($0 < 4 ? 3 : 1) }))
        try writer.set("tokenizer.ggml.bos_token_id", .uint32(2))
        try writer.set("tokenizer.ggml.eos_token_id", .uint32(1))
        try writer.set("tokenizer.ggml.unknown_token_id", .uint32(3))
        try writer.set("tokenizer.ggml.padding_token_id", .uint32(0))
        try writer.set("tokenizer.ggml.add_bos_token", .bool(true))
        try writer.set("tokenizer.ggml.add_space_prefix", .bool(false))
        let source = try SafetensorsTensorSource(checkpoint: checkpoint, resident: nil)
        for (name, shape) in Gemma3Weights.expectedTensors(config) {
            var values = try checkpoint.floats(source.fileName(of: name))
            var shape = shape
            if name.hasSuffix("norm.weight") { values = values.map { $0 + 1 } }
            let target = GGUFTensorSource.ggufName(of: name)
            if damage.contains(.missingTensor) && target == "blk.1.ffn_up.weight" { continue }
            if damage.contains(.wrongShape) && target == "blk.2.attn_k.weight" {
                shape = [shape[0] * 2, shape[1] / 2]
            }
            if damage.contains(.unsupportedType) && target == "blk.0.ffn_down.weight" {
                // Q2_K blocks: 256 elements in 84 bytes (rows of 256 elements: the tiny width is not whole blocks).
                let blocks = values.count / 256
                try writer.addTensor(
                    target, type: .q2_k, shape: [values.count / 256, 256],
                    bytes: [UInt8](repeating: 0, count: blocks * 84))
                continue
            }
            try writer.addTensor(target, floats: values, shape: shape)
        }
        try writer.write(to: path)
    }
}

@Suite("Gemma-3 GGUF checkpoints")
struct Gemma3GGUFTests {
    @Test("a GGUF written from a tiny checkpoint gives the checkpoint's logits and generations (max |Δ| ≤ 1e-6)")
    func ggufEqualsCheckpoint() throws {
        let directory = try makeTemporaryDirectory("gemma3-gguf")
        let path = directory + "/tiny.gguf"
        try TinyGGUF.write(from: "tiny-5to1", to: path)
        let gguf = try Gemma3Backend(path: path)
        let reference = try Gemma3Fixtures.model("tiny-5to1")
        #expect(gguf.configuration.slidingLayers == reference.configuration.slidingLayers)
        let tokens: [Int32] = [2, 10, 200, 300, 41, 77, 120, 9, 33, 5, 6, 400]
        let a = try gguf.logits(for: tokens), b = try reference.logits(for: tokens)
        #expect(maxAbsDifference(a.values, b.values) <= 1e-6)
        let sampling = SamplingConfig.greedy(maxNewTokens: 8, stopAtEOS: false)
        #expect(
            try gguf.generate(prompts: [tokens], sampling: sampling, interventions: [])
                == reference.generate(prompts: [tokens], sampling: sampling, interventions: []))
        // The backend is found from general.architecture.
        let found = try PluginRegistry.standard.backend(forModelAt: PluginOptions(path: path), name: nil)
        #expect(found.descriptor.backend == "gemma3")
        #expect(gguf.decode([2, 10, 200], skipSpecialTokens: true) == "t10t200")
    }

    @Test("plugin option quantized: on and off load, anything else is refused by name")
    func quantizedOption() throws {
        let directory = try makeTemporaryDirectory("gemma3-gguf-quantized")
        let path = directory + "/tiny.gguf"
        try TinyGGUF.write(from: "tiny-5to1", to: path)
        for value in ["on", "off"] {
            let backend = try PluginRegistry.standard.backend(
                forModelAt: PluginOptions(path: path, values: ["quantized": value]), name: nil)
            #expect(backend.descriptor.backend == "gemma3")
        }
        let text = message {
            _ = try PluginRegistry.standard.backend(
                forModelAt: PluginOptions(path: path, values: ["quantized": "maybe"]), name: nil)
        }
        #expect(text.contains("quantized") && text.contains("'maybe'") && text.contains("on, off"), "\(text)")
    }

    /// The message of the error `body` throws.
    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("bad GGUF files fail with a message naming the file and the problem")
    func badFiles() throws {
        let directory = try makeTemporaryDirectory("gemma3-gguf-bad")
        let good = directory + "/good.gguf"
        try TinyGGUF.write(from: "tiny-5to1", to: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = directory + "/truncated.gguf"
        try bytes.prefix(bytes.count - 1000).write(to: URL(fileURLWithPath: truncated))
        #expect(message { _ = try Gemma3Backend(path: truncated) }.contains(truncated))
        let header = directory + "/header.gguf"
        try bytes.prefix(100).write(to: URL(fileURLWithPath: header))
        #expect(message { _ = try Gemma3Backend(path: header) }.contains(header))

        let cases: [(TinyGGUF.Damage, [String])] = [
            (.wrongShape, ["blk.2.attn_k.weight", "shape"]),
            (.missingTensor, ["blk.1.ffn_up.weight", "missing"]),
            (.unsupportedType, ["blk.0.ffn_down.weight", "Q2_K", "Q4_K"]),
            (.missingKey, ["gemma3.block_count"]),
        ]
        for (damage, needles) in cases {
            let path = directory + "/damaged-\(damage.rawValue).gguf"
            try TinyGGUF.write(from: "tiny-5to1", to: path, damage: damage)
            let text = message { _ = try Gemma3Backend(path: path) }
            for needle in needles + [path] { #expect(text.contains(needle), "\(damage): \(text)") }
        }
        let llama = directory + "/llama.gguf"
        try TinyGGUF.write(from: "tiny-5to1", to: llama, damage: .otherArchitecture)
        let text = message {
            _ = try PluginRegistry.standard.backend(forModelAt: PluginOptions(path: llama), name: nil)
        }
        for needle in ["llama", "gemma2", "gemma3"] { #expect(text.contains(needle), "\(text)") }
        #expect(message { _ = try Gemma3Backend(path: llama) }.contains("general.architecture = llama"))
    }
}

@Suite("steer with Gemma-3 checkpoints")
struct Gemma3CLITests {
    @Test("generate picks the gemma3 backend for a directory and a .gguf, steers with --vector, and refuses bad files")
    func generate() throws {
        let directory = try makeTemporaryDirectory("gemma3-cli")
        let gguf = directory + "/tiny.gguf"
        try TinyGGUF.write(from: "tiny-5to1", to: gguf)
        let vector = directory + "/v.npy"
        try NPY.write(NDArray(floats: (0..<64).map { Float($0 % 7) - 3 }, shape: [64]), to: vector)
        var outputs = [String]()
        for model in [Gemma3Fixtures.directory("tiny-5to1"), gguf] {
            guard
                let result = try BuiltProduct.runSteer([
                    "generate", "--model", model, "--prompt", "x", "--max-new-tokens", "6", "--temperature", "0",
                    "--vector", vector, "--scale", "4", "--json",
                ])
            else { return }
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("steering after block 3"), "\(result.stderr)")
            outputs.append(result.stdout)
        }
        #expect(!outputs[1].isEmpty)
        let truncated = directory + "/truncated.gguf"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: gguf))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        guard
            let bad = try BuiltProduct.runSteer([
                "generate", "--model", truncated, "--prompt", "x", "--max-new-tokens", "2",
            ])
        else { return }
        #expect(bad.status != 0)
        #expect(bad.stderr.contains(truncated), "\(bad.stderr)")
    }
}
