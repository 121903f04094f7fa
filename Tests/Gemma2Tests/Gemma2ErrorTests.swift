import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

@testable import Gemma2

@Suite("Gemma-2 bad input")
struct Gemma2ErrorTests {
    func editConfig(_ directory: String, _ edit: (inout [String: Any]) -> Void) throws {
        let path = directory + "/config.json"
        var json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    }

    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch { return "\(error)" }
    }

    @Test("a missing config key is named")
    func missingKey() throws {
        let dir = try Gemma2Fixtures.scratchCopy("tiny-f32")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try editConfig(dir) { $0.removeValue(forKey: "hidden_size") }
        let text = message { _ = try Gemma2Backend(directory: dir) }
        #expect(text.contains("missing required key 'hidden_size'"), "\(text)")
    }

    @Test("an unsupported model type lists the supported ones")
    func unsupportedType() throws {
        let dir = try Gemma2Fixtures.scratchCopy("tiny-f32")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try editConfig(dir) { $0["model_type"] = "llama" }
        let text = message { _ = try Gemma2Backend(directory: dir) }
        #expect(text.contains("model_type 'llama'") && text.contains("supported: gemma2"), "\(text)")
    }

    @Test("mis-shaped tensors are all listed at once")
    func shapeMismatch() throws {
        let dir = try Gemma2Fixtures.scratchCopy("tiny-f32")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try editConfig(dir) { $0["intermediate_size"] = 96 }
        let text = message { _ = try Gemma2Backend(directory: dir) }
        #expect(text.contains("mlp.gate_proj.weight") && text.contains("mlp.down_proj.weight"), "\(text)")
        #expect(text.contains("9 problems"), "\(text)")
    }

    @Test("a truncated shard is reported with its file name")
    func truncatedShard() throws {
        let dir = try Gemma2Fixtures.scratchCopy("mha-sharded")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let shard = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("model-0000") }
            .sorted()[1]
        let handle = FileHandle(forWritingAtPath: dir + "/" + shard)!
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size / 2)
        try handle.close()
        let text = message { _ = try Gemma2Backend(directory: dir) }
        #expect(text.contains(shard), "\(text)")
    }

    @Test("a missing directory or a file instead of a directory")
    func missingDirectory() throws {
        #expect(message { _ = try Gemma2Backend(directory: "/nonexistent/model") }.contains("not found"))
        let file = Gemma2Fixtures.directory("tiny-f32") + "/config.json"
        #expect(message { _ = try Gemma2Backend(directory: file) }.contains("This is a file"))
    }

    @Test("runtime input errors: long prompt, wrong vector width, bad layer, bad token")
    func runtimeErrors() throws {
        let model = try Gemma2Fixtures.model("tiny-f32")
        let d = model.configuration.hiddenSize, maxPositions = model.configuration.maxPositions
        let long = [Int32](repeating: 5, count: maxPositions + 1)
        #expect(
            message { _ = try model.forward(ForwardRequest(sequences: [long])) }.contains(
                "longer than the model's context"))
        let nearlyFull = [Int32](repeating: 5, count: maxPositions - 2)
        #expect(
            message {
                _ = try model.generate(prompts: [nearlyFull], sampling: .greedy(maxNewTokens: 5), interventions: [])
            }.contains("longer than the model's context"))
        let wide = Intervention(site: ActivationSite(layer: 1), vector: [Float](repeating: 1, count: d + 1), scale: 1)
        #expect(
            message { _ = try model.forward(ForwardRequest(sequences: [[2, 3]], interventions: [wide])) }.contains(
                "\(d) values"))
        let deep = Intervention(site: ActivationSite(layer: 99), vector: [Float](repeating: 1, count: d), scale: 1)
        #expect(
            message { _ = try model.forward(ForwardRequest(sequences: [[2, 3]], interventions: [deep])) }.contains(
                "out of range"))
        #expect(
            message { _ = try model.forward(ForwardRequest(sequences: [[2, 99999]])) }.contains(
                "outside the vocabulary"))
        #expect(message { _ = try model.forward(ForwardRequest(sequences: [[]])) }.contains("empty"))
        let nan = Intervention(site: ActivationSite(layer: 1), vector: [Float](repeating: .nan, count: d), scale: 1)
        #expect(
            message { _ = try model.forward(ForwardRequest(sequences: [[2, 3]], interventions: [nan])) }.contains(
                "non-finite"))
    }

    @Test("configuration parsing accepts transformers 5 spellings and layer_types")
    func configurationSpellings() throws {
        var json: [String: Any] = [
            "model_type": "gemma2", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
            "num_hidden_layers": 3, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 4,
            "dtype": "bfloat16", "rope_parameters": ["rope_type": "default", "rope_theta": 500.0],
            "layer_types": ["full_attention", "sliding_attention", "full_attention"], "sliding_window": 4,
            "eos_token_id": [1, 107],
        ]
        let config = try Gemma2Configuration(json: json)
        #expect(config.ropeTheta == 500 && config.declaredDType == "bfloat16")
        #expect(config.slidingLayers == [false, true, false])
        #expect(config.eosTokenIds == [1, 107])
        #expect(config.queryPreAttentionScalar == 4)
        json["num_key_value_heads"] = 3
        #expect(throws: Gemma2Error.self) { try Gemma2Configuration(json: json) }
        #expect(Gemma2Configuration.gemma2_2b.expectedTensors.count == 288)
        #expect(Gemma2Configuration.gemma2_2b.attentionScale == 0.0625)
        #expect(Gemma2Configuration.gemma2_2b.embeddingScale == 48)
        #expect(Gemma2Configuration.gemma2_2b.slidingLayers.prefix(3) == [true, false, true])
    }
}
