import Foundation
import SteeringCore
import TransformerRuntime

/// The subset of a Hugging Face Gemma-2 `config.json` that determines the forward pass.
///
/// Accepts the transformers 4.x spellings (`torch_dtype`, `rope_theta`) and the 5.x ones (`dtype`,
/// `rope_parameters.rope_theta`, `layer_types`). Missing optional keys take the Gemma-2 defaults.
public struct Gemma2Configuration: Sendable, Equatable, Codable {
    public var modelType: String
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var keyValueHeadCount: Int
    public var headDimension: Int
    public var rmsNormEpsilon: Float
    public var ropeTheta: Double
    public var queryPreAttentionScalar: Double
    public var attentionSoftcap: Float?
    public var finalSoftcap: Float?
    public var slidingWindow: Int?
    public var maxPositions: Int
    public var hiddenActivation: String
    public var tieWordEmbeddings: Bool
    public var bosTokenId: Int32
    public var eosTokenIds: [Int32]
    public var padTokenId: Int32
    /// `true` for sliding-window layers; from `layer_types` when present, else even layers slide.
    public var slidingLayers: [Bool]
    /// The declared weight dtype (`float32`, `bfloat16`, `float16`), informational.
    public var declaredDType: String?

    /// Model types this backend implements.
    public static let supportedModelTypes = ["gemma2"]

    /// Parses `config.json` at `path`, naming any missing or invalid key in the error.
    public static func load(path: String) throws -> Gemma2Configuration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Gemma2Error.missingFile(
                path: path, hint: "A Hugging Face checkpoint directory needs config.json next to the weights.")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw Gemma2Error.invalidConfig(path: path, problem: "not valid JSON (\(error.localizedDescription))")
        }
        guard let json = object as? [String: Any] else {
            throw Gemma2Error.invalidConfig(path: path, problem: "the top level must be a JSON object")
        }
        return try Gemma2Configuration(json: json, path: path)
    }

    /// Builds a configuration from a decoded JSON object (`path` is used in messages only).
    public init(json: [String: Any], path: String = "config.json") throws {
        func fail(_ problem: String) -> Gemma2Error { .invalidConfig(path: path, problem: problem) }
        func int(_ key: String) throws -> Int {
            guard let raw = json[key] else { throw fail("missing required key '\(key)'") }
            guard let number = raw as? NSNumber, Double(number.intValue) == number.doubleValue else {
                throw fail("key '\(key)' must be an integer, got \(raw)")
            }
            return number.intValue
        }
        func optionalNumber(_ key: String) throws -> Double? {
            guard let raw = json[key], !(raw is NSNull) else { return nil }
            guard let number = raw as? NSNumber else { throw fail("key '\(key)' must be a number, got \(raw)") }
            return number.doubleValue
        }
        func optionalInt(_ key: String) throws -> Int? {
            guard let value = try optionalNumber(key) else { return nil }
            guard value == value.rounded() else { throw fail("key '\(key)' must be an integer, got \(value)") }
            return Int(value)
        }

        guard let modelType = json["model_type"] as? String else { throw fail("missing required key 'model_type'") }
        guard Self.supportedModelTypes.contains(modelType) else {
            throw Gemma2Error.unsupportedModelType(path: path, found: modelType, supported: Self.supportedModelTypes)
        }
        self.modelType = modelType
        vocabularySize = try int("vocab_size")
        hiddenSize = try int("hidden_size")
        intermediateSize = try int("intermediate_size")
        layerCount = try int("num_hidden_layers")
        headCount = try int("num_attention_heads")
        keyValueHeadCount = try optionalInt("num_key_value_heads") ?? headCount
        headDimension = try optionalInt("head_dim") ?? (hiddenSize / max(headCount, 1))
        rmsNormEpsilon = Float(try optionalNumber("rms_norm_eps") ?? 1e-6)
        if let theta = try optionalNumber("rope_theta") {
            ropeTheta = theta
        } else if let parameters = json["rope_parameters"] as? [String: Any],
            let theta = parameters["rope_theta"] as? NSNumber
        {
            ropeTheta = theta.doubleValue
        } else {
            ropeTheta = 10000
        }
        queryPreAttentionScalar = try optionalNumber("query_pre_attn_scalar") ?? Double(headDimension)
        attentionSoftcap = try optionalNumber("attn_logit_softcapping").map { Float($0) }
        finalSoftcap = try optionalNumber("final_logit_softcapping").map { Float($0) }
        slidingWindow = try optionalInt("sliding_window") ?? optionalInt("sliding_window_size")
        maxPositions = try optionalInt("max_position_embeddings") ?? 8192
        hiddenActivation =
            (json["hidden_activation"] as? String) ?? (json["hidden_act"] as? String) ?? "gelu_pytorch_tanh"
        tieWordEmbeddings = (json["tie_word_embeddings"] as? Bool) ?? true
        bosTokenId = Int32(try optionalInt("bos_token_id") ?? 2)
        padTokenId = Int32(try optionalInt("pad_token_id") ?? 0)
        if let list = json["eos_token_id"] as? [NSNumber] {
            eosTokenIds = list.map { Int32($0.intValue) }
        } else {
            eosTokenIds = [Int32(try optionalInt("eos_token_id") ?? 1)]
        }
        declaredDType = (json["torch_dtype"] as? String) ?? (json["dtype"] as? String)
        if let types = json["layer_types"] as? [String] {
            guard types.count == layerCount else {
                throw fail("'layer_types' has \(types.count) entries but num_hidden_layers is \(layerCount)")
            }
            slidingLayers = try types.map { type in
                switch type {
                case "sliding_attention": return true
                case "full_attention": return false
                default: throw fail("unknown layer type '\(type)' in 'layer_types'")
                }
            }
        } else {
            slidingLayers = (0..<layerCount).map { $0 % 2 == 0 }
        }
        try validate(path: path)
    }

    /// Checks that the numbers describe a runnable model.
    public func validate(path: String = "config.json") throws {
        func fail(_ problem: String) -> Gemma2Error { .invalidConfig(path: path, problem: problem) }
        for (key, value) in [
            ("vocab_size", vocabularySize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
            ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
            ("num_key_value_heads", keyValueHeadCount), ("head_dim", headDimension),
            ("max_position_embeddings", maxPositions),
        ] where value <= 0 {
            throw fail("'\(key)' must be positive, got \(value)")
        }
        guard headCount % keyValueHeadCount == 0 else {
            throw fail(
                "num_attention_heads (\(headCount)) must be a multiple of num_key_value_heads (\(keyValueHeadCount))")
        }
        guard headDimension % 2 == 0 else {
            throw fail("head_dim must be even for rotary embeddings, got \(headDimension)")
        }
        guard ["gelu_pytorch_tanh", "gelu_tanh"].contains(hiddenActivation) else {
            throw fail("hidden activation '\(hiddenActivation)' is not supported; Gemma-2 uses gelu_pytorch_tanh")
        }
        if let window = slidingWindow, window <= 0 { throw fail("sliding_window must be positive, got \(window)") }
        guard queryPreAttentionScalar > 0 else { throw fail("query_pre_attn_scalar must be positive") }
        guard tieWordEmbeddings else {
            throw fail("tie_word_embeddings = false is not supported: Gemma-2 ties its head to the embedding")
        }
    }

    /// `query_pre_attn_scalar ^ -0.5`.
    public var attentionScale: Float { Float(1 / queryPreAttentionScalar.squareRoot()) }
    /// √hidden_size rounded to float32 (the activation dtype).
    public var embeddingScale: Float { Float(Double(hiddenSize).squareRoot()) }
    /// Query heads per key/value head.
    public var groupSize: Int { headCount / keyValueHeadCount }

    /// The configuration of google/gemma-2-2b.
    public static let gemma2_2b = try! Gemma2Configuration(json: [
        "model_type": "gemma2", "vocab_size": 256000, "hidden_size": 2304, "intermediate_size": 9216,
        "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
        "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "query_pre_attn_scalar": 256,
        "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0, "sliding_window": 4096,
        "max_position_embeddings": 8192, "hidden_activation": "gelu_pytorch_tanh",
        "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0, "torch_dtype": "float32",
    ])

    /// Expected tensors, named relative to the text model (`layers.N.self_attn.q_proj.weight`,
    /// `embed_tokens.weight`, `norm.weight`), with their shapes. An `lm_head.weight` of the embedding's
    /// shape (a tied copy some exporters write) is accepted beside them and ignored.
    public var expectedTensors: [(name: String, shape: [Int])] {
        var out: [(String, [Int])] = [("embed_tokens.weight", [vocabularySize, hiddenSize])]
        let qWidth = headCount * headDimension, kvWidth = keyValueHeadCount * headDimension
        for i in 0..<layerCount {
            let p = "layers.\(i)."
            out += [
                (p + "input_layernorm.weight", [hiddenSize]),
                (p + "self_attn.q_proj.weight", [qWidth, hiddenSize]),
                (p + "self_attn.k_proj.weight", [kvWidth, hiddenSize]),
                (p + "self_attn.v_proj.weight", [kvWidth, hiddenSize]),
                (p + "self_attn.o_proj.weight", [hiddenSize, qWidth]),
                (p + "post_attention_layernorm.weight", [hiddenSize]),
                (p + "pre_feedforward_layernorm.weight", [hiddenSize]),
                (p + "mlp.gate_proj.weight", [intermediateSize, hiddenSize]),
                (p + "mlp.up_proj.weight", [intermediateSize, hiddenSize]),
                (p + "mlp.down_proj.weight", [hiddenSize, intermediateSize]),
                (p + "post_feedforward_layernorm.weight", [hiddenSize]),
            ]
        }
        out.append(("norm.weight", [hiddenSize]))
        return out
    }

    /// The sizes cost models need.
    public var architecture: DecoderArchitecture {
        DecoderArchitecture(
            layerCount: layerCount, hiddenSize: hiddenSize, headCount: headCount, keyValueHeadCount: keyValueHeadCount,
            headDimension: headDimension, intermediateSize: intermediateSize, vocabularySize: vocabularySize,
            slidingLayers: slidingLayers, slidingWindow: slidingWindow)
    }
}
