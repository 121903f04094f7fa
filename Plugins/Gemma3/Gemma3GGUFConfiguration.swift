import Foundation
import TensorFormats

extension Gemma3Configuration {
    /// GGUF architectures this backend reads.
    public static let supportedGGUFArchitectures = ["gemma3"]

    /// The configuration in a GGUF file's `gemma3.*` metadata, completed as transformers' GGUF loader
    /// does (the local RoPE base is not stored: 10,000; layer types follow the default 5 : 1 pattern)
    /// and with `query_pre_attn_scalar` as llama.cpp derives it (the head dimension; hidden ÷ heads for
    /// the 62-layer 27B). The vocabulary is the embedding's row count.
    public init(gguf file: GGUFFile) throws {
        let path = file.path
        let metadata = file.metadata
        func fail(_ problem: String) -> Gemma3Error { .invalidConfig(path: path, problem: problem) }
        func wrap<T>(_ read: () throws -> T) throws -> T {
            do { return try read() } catch { throw fail("\(error)") }
        }
        let architecture = try wrap { try metadata.string("general.architecture") }
        guard Self.supportedGGUFArchitectures.contains(architecture) else {
            throw Gemma3Error.unsupportedModelType(
                path: path, found: "general.architecture = \(architecture)", supported: Self.supportedGGUFArchitectures)
        }
        let a = architecture + "."
        func int(_ key: String) throws -> Int { try wrap { try metadata.int(a + key) } }
        func optionalInt(_ key: String) throws -> Int? { metadata.contains(key: a + key) ? try int(key) : nil }
        func optionalFloat(_ key: String) throws -> Double? {
            metadata.contains(key: a + key) ? Double(try wrap { try metadata.float(a + key) }) : nil
        }
        func token(_ key: String) throws -> Int32? {
            metadata.contains(key: key) ? Int32(try wrap { try metadata.int(key) }) : nil
        }
        let layers = try int("block_count"), hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        let headDimension = try optionalInt("attention.key_length") ?? hidden / max(heads, 1)
        let embedding: GGUFTensorInfo
        do {
            embedding = try file.info("token_embd.weight")
        } catch {
            throw Gemma3Error.weightProblems(path: path, problems: ["missing tensor 'token_embd.weight'"])
        }
        guard embedding.shape.count == 2, embedding.shape[1] == hidden else {
            throw Gemma3Error.weightProblems(
                path: path,
                problems: ["tensor 'token_embd.weight' has shape \(embedding.shape), expected [vocab, \(hidden)]"])
        }
        var scaling = 1.0
        if metadata.contains(key: a + "rope.scaling.type") {
            let type = try wrap { try metadata.string(a + "rope.scaling.type") }
            switch type {
            case "none": break
            case "linear": scaling = try optionalFloat("rope.scaling.factor") ?? 1
            default: throw fail("\(a)rope.scaling.type '\(type)' is not supported (supported: none, linear)")
            }
        }
        self.init(
            vocabularySize: embedding.shape[0], hiddenSize: hidden, intermediateSize: try int("feed_forward_length"),
            layerCount: layers, headCount: heads,
            keyValueHeadCount: try optionalInt("attention.head_count_kv") ?? heads, headDimension: headDimension,
            rmsNormEpsilon: Float(try optionalFloat("attention.layer_norm_rms_epsilon") ?? 1e-6),
            slidingWindow: try optionalInt("attention.sliding_window") ?? 4096,
            globalRopeBase: try optionalFloat("rope.freq_base") ?? 1_000_000, globalRopeScaling: scaling,
            queryPreAttentionScalar: layers == 62 ? Double(hidden / heads) : Double(headDimension),
            attentionSoftcap: try optionalFloat("attn_logit_softcapping").map { Float($0) },
            finalSoftcap: try optionalFloat("final_logit_softcapping").map { Float($0) },
            maxPositions: try optionalInt("context_length") ?? 131_072,
            bosTokenId: try token("tokenizer.ggml.bos_token_id") ?? 2,
            eosTokenIds: [try token("tokenizer.ggml.eos_token_id") ?? 1],
            padTokenId: try token("tokenizer.ggml.padding_token_id") ?? 0)
        tieWordEmbeddings = !file.tensorNames.contains("output.weight")
        try validate(path: path)
    }
}
