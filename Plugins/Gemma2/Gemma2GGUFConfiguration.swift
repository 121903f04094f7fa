import Foundation
import TensorFormats
import TransformerRuntime

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
        let h = try GGUFHyperparameters(file: file, supported: Self.supportedGGUFArchitectures) { problem in
            switch problem {
            case .metadata(let text): Gemma2Error.invalidConfig(path: path, problem: text)
            case .unsupportedArchitecture(let found):
                Gemma2Error.unsupportedModelType(
                    path: path, found: found, supported: Self.supportedGGUFArchitectures)
            case .tensor(let text): Gemma2Error.weightProblems(directory: path, problems: [text])
            }
        }
        let layers = try h.int("block_count"), hidden = try h.int("embedding_length")
        let heads = try h.int("attention.head_count")
        let headDimension = try h.optionalInt("attention.key_length") ?? hidden / max(heads, 1)
        let vocabulary = try h.vocabularySize(hidden: hidden)
        if file.tensorNames.contains("output.weight") {
            throw Gemma2Error.invalidConfig(
                path: path, problem: "has a separate 'output.weight'; Gemma-2 ties its head to the embedding")
        }
        let json: [String: Any] = [
            "model_type": "gemma2", "vocab_size": vocabulary, "hidden_size": hidden,
            "intermediate_size": try h.int("feed_forward_length"), "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": try h.optionalInt("attention.head_count_kv") ?? heads,
            "head_dim": headDimension,
            "rms_norm_eps": try h.optionalFloat("attention.layer_norm_rms_epsilon") ?? 1e-6,
            "rope_theta": try h.optionalFloat("rope.freq_base") ?? 10_000,
            "query_pre_attn_scalar": layers == 46 ? hidden / heads : headDimension,
            "attn_logit_softcapping": try h.optionalFloat("attn_logit_softcapping") ?? 50,
            "final_logit_softcapping": try h.optionalFloat("final_logit_softcapping") ?? 30,
            "sliding_window": try h.optionalInt("attention.sliding_window") ?? 4096,
            "max_position_embeddings": try h.optionalInt("context_length") ?? 8192,
            "bos_token_id": try h.token("tokenizer.ggml.bos_token_id") ?? 2,
            "eos_token_id": try h.token("tokenizer.ggml.eos_token_id") ?? 1,
            "pad_token_id": try h.token("tokenizer.ggml.padding_token_id") ?? 0, "torch_dtype": "float32",
        ]
        try self.init(json: json, path: path)
    }
}
