import Foundation
import TensorFormats
import TransformerRuntime

extension Gemma3Configuration {
    /// GGUF architectures this backend reads.
    public static let supportedGGUFArchitectures = ["gemma3"]

    /// The configuration in a GGUF file's `gemma3.*` metadata, completed as transformers' GGUF loader
    /// does (the local RoPE base is not stored: 10,000; layer types follow the default 5 : 1 pattern)
    /// and with `query_pre_attn_scalar` as llama.cpp derives it (the head dimension; hidden ÷ heads for
    /// the 62-layer 27B). The vocabulary is the embedding's row count.
    public init(gguf file: GGUFFile) throws {
        let path = file.path
        let h = try GGUFHyperparameters(file: file, supported: Self.supportedGGUFArchitectures) { problem in
            switch problem {
            case .metadata(let text): Gemma3Error.invalidConfig(path: path, problem: text)
            case .unsupportedArchitecture(let found):
                Gemma3Error.unsupportedModelType(path: path, found: found, supported: Self.supportedGGUFArchitectures)
            case .tensor(let text): Gemma3Error.weightProblems(path: path, problems: [text])
            }
        }
        let layers = try h.int("block_count"), hidden = try h.int("embedding_length")
        let heads = try h.int("attention.head_count")
        let headDimension = try h.optionalInt("attention.key_length") ?? hidden / max(heads, 1)
        let vocabulary = try h.vocabularySize(hidden: hidden)
        var scaling = 1.0
        switch try h.optionalString("rope.scaling.type") {
        case nil, "none": break
        case "linear": scaling = try h.optionalFloat("rope.scaling.factor") ?? 1
        case let type?:
            throw Gemma3Error.invalidConfig(
                path: path, problem: "gemma3.rope.scaling.type '\(type)' is not supported (supported: none, linear)")
        }
        func token(_ key: String, _ fallback: Int) throws -> Int32 { Int32(try h.token(key) ?? fallback) }
        self.init(
            vocabularySize: vocabulary, hiddenSize: hidden, intermediateSize: try h.int("feed_forward_length"),
            layerCount: layers, headCount: heads,
            keyValueHeadCount: try h.optionalInt("attention.head_count_kv") ?? heads, headDimension: headDimension,
            rmsNormEpsilon: Float(try h.optionalFloat("attention.layer_norm_rms_epsilon") ?? 1e-6),
            slidingWindow: try h.optionalInt("attention.sliding_window") ?? 4096,
            globalRopeBase: try h.optionalFloat("rope.freq_base") ?? 1_000_000, globalRopeScaling: scaling,
            queryPreAttentionScalar: layers == 62 ? Double(hidden / heads) : Double(headDimension),
            attentionSoftcap: try h.optionalFloat("attn_logit_softcapping").map { Float($0) },
            finalSoftcap: try h.optionalFloat("final_logit_softcapping").map { Float($0) },
            maxPositions: try h.optionalInt("context_length") ?? 131_072,
            bosTokenId: try token("tokenizer.ggml.bos_token_id", 2),
            eosTokenIds: [try token("tokenizer.ggml.eos_token_id", 1)],
            padTokenId: try token("tokenizer.ggml.padding_token_id", 0))
        tieWordEmbeddings = !file.tensorNames.contains("output.weight")
        try validate(path: path)
    }
}
