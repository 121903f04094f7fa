import Foundation
import TensorFormats

extension Gemma2Configuration {
    /// GGUF architectures this backend reads.
    public static let supportedGGUFArchitectures = ["gemma2"]

    /// The configuration in a GGUF file's `gemma2.*` metadata (as llama.cpp's converter writes it),
    /// completed as transformers' GGUF loader does: RoPE base 10,000 unless stored, even layers sliding,
    /// soft-caps 50 / 30 unless stored; `query_pre_attn_scalar` as llama.cpp derives it (the head
    /// dimension; hidden ÷ heads for the 46-layer 27B). The vocabulary is the embedding's row count.
    /// - Throws: ``Gemma2Error`` naming the file and the metadata key or tensor at fault.
    public init(gguf file: GGUFFile) throws {
        let path = file.path
        let metadata = file.metadata
        func fail(_ problem: String) -> Gemma2Error { .invalidConfig(path: path, problem: problem) }
        func wrap<T>(_ read: () throws -> T) throws -> T {
            do { return try read() } catch { throw fail("\(error)") }
        }
        let architecture = try wrap { try metadata.string("general.architecture") }
        guard Self.supportedGGUFArchitectures.contains(architecture) else {
            throw Gemma2Error.unsupportedModelType(
                path: path, found: "general.architecture = \(architecture)", supported: Self.supportedGGUFArchitectures)
        }
        let a = architecture + "."
        func int(_ key: String) throws -> Int { try wrap { try metadata.int(a + key) } }
        func optionalInt(_ key: String) throws -> Int? { metadata.contains(key: a + key) ? try int(key) : nil }
        func optionalFloat(_ key: String) throws -> Double? {
            metadata.contains(key: a + key) ? Double(try wrap { try metadata.float(a + key) }) : nil
        }
        func token(_ key: String, _ fallback: Int) throws -> Int {
            metadata.contains(key: key) ? try wrap { try metadata.int(key) } : fallback
        }
        let layers = try int("block_count"), hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        let headDimension = try optionalInt("attention.key_length") ?? hidden / max(heads, 1)
        guard let embedding = try? file.info("token_embd.weight") else {
            throw Gemma2Error.weightProblems(directory: path, problems: ["missing tensor 'token_embd.weight'"])
        }
        guard embedding.shape.count == 2, embedding.shape[1] == hidden else {
            throw Gemma2Error.weightProblems(
                directory: path,
                problems: ["tensor 'token_embd.weight' has shape \(embedding.shape), expected [vocab, \(hidden)]"])
        }
        if file.tensorNames.contains("output.weight") {
            throw fail("has a separate 'output.weight'; Gemma-2 ties its head to the embedding")
        }
        var json: [String: Any] = [
            "model_type": "gemma2", "vocab_size": embedding.shape[0], "hidden_size": hidden,
            "intermediate_size": try int("feed_forward_length"), "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": try optionalInt("attention.head_count_kv") ?? heads,
            "head_dim": headDimension,
            "rms_norm_eps": try optionalFloat("attention.layer_norm_rms_epsilon") ?? 1e-6,
            "rope_theta": try optionalFloat("rope.freq_base") ?? 10_000,
            "query_pre_attn_scalar": layers == 46 ? hidden / heads : headDimension,
            "attn_logit_softcapping": try optionalFloat("attn_logit_softcapping") ?? 50,
            "final_logit_softcapping": try optionalFloat("final_logit_softcapping") ?? 30,
            "sliding_window": try optionalInt("attention.sliding_window") ?? 4096,
            "max_position_embeddings": try optionalInt("context_length") ?? 8192,
            "bos_token_id": try token("tokenizer.ggml.bos_token_id", 2),
            "eos_token_id": try token("tokenizer.ggml.eos_token_id", 1),
            "pad_token_id": try token("tokenizer.ggml.padding_token_id", 0),
        ]
        json["torch_dtype"] = "float32"
        try self.init(json: json, path: path)
    }
}
