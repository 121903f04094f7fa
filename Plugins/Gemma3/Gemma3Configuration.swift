import Foundation
import TransformerRuntime

/// The text model of a Gemma-3 checkpoint (`Gemma3TextConfig` semantics of transformers 5.x), read
/// from a Hugging Face `config.json` (text-only, or the `text_config` of a multimodal one) or from
/// GGUF metadata (`gemma3.*`).
public struct Gemma3Configuration: Sendable, Hashable, CustomStringConvertible {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var keyValueHeadCount: Int
    public var headDimension: Int
    public var rmsNormEpsilon: Float
    /// Whether each layer uses sliding-window attention (`layer_types`).
    public var slidingLayers: [Bool]
    /// Window of the sliding layers.
    public var slidingWindow: Int
    /// RoPE base of sliding layers (`rope_parameters.sliding_attention.rope_theta`, formerly `rope_local_base_freq`).
    public var localRopeBase: Double
    /// RoPE base of full-attention layers.
    public var globalRopeBase: Double
    /// Linear RoPE scaling factor of full-attention layers (1 = none).
    public var globalRopeScaling: Double
    /// Linear RoPE scaling factor of sliding layers (1 = none).
    public var localRopeScaling: Double
    public var queryPreAttentionScalar: Double
    public var attentionSoftcap: Float?
    public var finalSoftcap: Float?
    public var maxPositions: Int
    public var tieWordEmbeddings: Bool
    public var bosTokenId: Int32
    public var eosTokenIds: [Int32]
    public var padTokenId: Int32

    /// `model_type` values read from config.json.
    public static let supportedModelTypes = ["gemma3_text", "gemma3"]

    public var description: String {
        "gemma3(layers \(layerCount), d \(hiddenSize), ffn \(intermediateSize), heads \(headCount)/\(keyValueHeadCount)×"
            + "\(headDimension), vocab \(vocabularySize), window \(slidingWindow), rope \(localRopeBase)/\(globalRopeBase)"
            + "×\(globalRopeScaling), qpas \(queryPreAttentionScalar), sliding \(slidingLayers.map { $0 ? "s" : "F" }.joined()))"
    }

    /// The layer types transformers derives from `sliding_window_pattern` (default 6): layer `i` is
    /// full attention when `(i + 1) % pattern == 0`.
    public static func defaultSlidingLayers(count: Int, pattern: Int = 6) -> [Bool] {
        (0..<count).map { ($0 + 1) % max(pattern, 1) != 0 }
    }

    /// Parses `config.json` at `path`.
    public static func load(path: String) throws -> Gemma3Configuration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Gemma3Error.missingFile(
                path: path, hint: "A Hugging Face checkpoint directory needs config.json next to the weights.")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw Gemma3Error.invalidConfig(path: path, problem: "not valid JSON (\(error.localizedDescription))")
        }
        guard let json = object as? [String: Any] else {
            throw Gemma3Error.invalidConfig(path: path, problem: "the top level must be a JSON object")
        }
        return try Gemma3Configuration(json: json, path: path)
    }

    /// Builds the text configuration from a decoded config.json (`text_config` of a multimodal one).
    public init(json top: [String: Any], path: String = "config.json") throws {
        func fail(_ problem: String) -> Gemma3Error { .invalidConfig(path: path, problem: problem) }
        guard let modelType = top["model_type"] as? String else { throw fail("missing required key 'model_type'") }
        guard Self.supportedModelTypes.contains(modelType) else {
            throw Gemma3Error.unsupportedModelType(path: path, found: modelType, supported: Self.supportedModelTypes)
        }
        var json = top
        if modelType == "gemma3" {
            guard let text = top["text_config"] as? [String: Any] else {
                throw fail("a multimodal 'gemma3' config needs a 'text_config' object")
            }
            json = text
            // Token ids may live at the top level of a multimodal config.
            for key in ["bos_token_id", "eos_token_id", "pad_token_id"] where json[key] == nil {
                json[key] = top[key]
            }
        }
        func number(_ key: String, in object: [String: Any]) throws -> Double? {
            guard let raw = object[key], !(raw is NSNull) else { return nil }
            guard let number = raw as? NSNumber else { throw fail("key '\(key)' must be a number, got \(raw)") }
            return number.doubleValue
        }
        func optionalInt(_ key: String) throws -> Int? {
            guard let value = try number(key, in: json) else { return nil }
            guard value == value.rounded() else { throw fail("key '\(key)' must be an integer, got \(value)") }
            return Int(value)
        }
        func int(_ key: String, default value: Int) throws -> Int { try optionalInt(key) ?? value }
        if (json["use_bidirectional_attention"] as? Bool) == true {
            throw fail("use_bidirectional_attention = true (an embedding model) is not a causal language model")
        }
        if (json["attention_bias"] as? Bool) == true {
            throw fail("attention_bias = true is not supported: Gemma 3 has no attention biases")
        }
        let activation =
            (json["hidden_activation"] as? String) ?? (json["hidden_act"] as? String) ?? "gelu_pytorch_tanh"
        guard ["gelu_pytorch_tanh", "gelu_tanh"].contains(activation) else {
            throw fail("hidden activation '\(activation)' is not supported; Gemma 3 uses gelu_pytorch_tanh")
        }
        vocabularySize = try int("vocab_size", default: 262_208)
        hiddenSize = try int("hidden_size", default: 2304)
        intermediateSize = try int("intermediate_size", default: 9216)
        layerCount = try int("num_hidden_layers", default: 26)
        headCount = try int("num_attention_heads", default: 8)
        keyValueHeadCount = try int("num_key_value_heads", default: 4)
        headDimension = try int("head_dim", default: 256)
        rmsNormEpsilon = Float(try number("rms_norm_eps", in: json) ?? 1e-6)
        slidingWindow = try int("sliding_window", default: 4096)
        queryPreAttentionScalar = try number("query_pre_attn_scalar", in: json) ?? 256
        attentionSoftcap = try number("attn_logit_softcapping", in: json).map { Float($0) }
        finalSoftcap = try number("final_logit_softcapping", in: json).map { Float($0) }
        maxPositions = try int("max_position_embeddings", default: 131_072)
        tieWordEmbeddings = (json["tie_word_embeddings"] as? Bool) ?? true
        bosTokenId = Int32(try int("bos_token_id", default: 2))
        padTokenId = Int32(try int("pad_token_id", default: 0))
        if let list = json["eos_token_id"] as? [NSNumber] {
            eosTokenIds = list.map { Int32($0.intValue) }
        } else {
            eosTokenIds = [Int32(try int("eos_token_id", default: 1))]
        }
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
            slidingLayers = Self.defaultSlidingLayers(
                count: layerCount, pattern: try int("sliding_window_pattern", default: 6))
        }
        // RoPE: transformers 5.x `rope_parameters` per layer type, or 4.x `rope_theta` /
        // `rope_local_base_freq` / `rope_scaling` (which applies to full-attention layers only).
        func rope(_ parameters: [String: Any]?, _ layerType: String) throws -> (base: Double?, factor: Double) {
            guard let parameters else { return (nil, 1) }
            let type = (parameters["rope_type"] as? String) ?? (parameters["type"] as? String) ?? "default"
            switch type {
            case "default":
                return (try number("rope_theta", in: parameters), 1)
            case "linear":
                guard let factor = try number("factor", in: parameters), factor > 0 else {
                    throw fail("linear RoPE scaling of \(layerType) layers needs a positive 'factor'")
                }
                return (try number("rope_theta", in: parameters), factor)
            default:
                throw fail("RoPE type '\(type)' of \(layerType) layers is not supported (supported: default, linear)")
            }
        }
        if let parameters = json["rope_parameters"] as? [String: Any],
            parameters["full_attention"] != nil || parameters["sliding_attention"] != nil
        {
            let full = try rope(parameters["full_attention"] as? [String: Any], "full-attention")
            let local = try rope(parameters["sliding_attention"] as? [String: Any], "sliding")
            globalRopeBase = full.base ?? 1_000_000
            globalRopeScaling = full.factor
            localRopeBase = local.base ?? 10_000
            localRopeScaling = local.factor
        } else {
            let scaling = try rope(json["rope_scaling"] as? [String: Any], "full-attention")
            globalRopeBase = try number("rope_theta", in: json) ?? 1_000_000
            globalRopeScaling = scaling.factor
            localRopeBase = try number("rope_local_base_freq", in: json) ?? 10_000
            localRopeScaling = 1
        }
        try validate(path: path)
    }

    /// A configuration from explicit values (GGUF metadata, tests).
    public init(
        vocabularySize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
        keyValueHeadCount: Int, headDimension: Int, rmsNormEpsilon: Float = 1e-6, slidingLayers: [Bool]? = nil,
        slidingWindow: Int, localRopeBase: Double = 10_000, globalRopeBase: Double = 1_000_000,
        globalRopeScaling: Double = 1, queryPreAttentionScalar: Double? = nil, attentionSoftcap: Float? = nil,
        finalSoftcap: Float? = nil, maxPositions: Int, bosTokenId: Int32 = 2, eosTokenIds: [Int32] = [1],
        padTokenId: Int32 = 0
    ) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount
        self.headDimension = headDimension
        self.rmsNormEpsilon = rmsNormEpsilon
        self.slidingLayers = slidingLayers ?? Self.defaultSlidingLayers(count: layerCount)
        self.slidingWindow = slidingWindow
        self.localRopeBase = localRopeBase
        self.globalRopeBase = globalRopeBase
        self.globalRopeScaling = globalRopeScaling
        self.localRopeScaling = 1
        self.queryPreAttentionScalar = queryPreAttentionScalar ?? Double(headDimension)
        self.attentionSoftcap = attentionSoftcap
        self.finalSoftcap = finalSoftcap
        self.maxPositions = maxPositions
        self.tieWordEmbeddings = true
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
        self.padTokenId = padTokenId
    }

    /// Checks that the numbers describe a runnable model.
    public func validate(path: String) throws {
        func fail(_ problem: String) -> Gemma3Error { .invalidConfig(path: path, problem: problem) }
        for (key, value) in [
            ("vocab_size", vocabularySize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
            ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
            ("num_key_value_heads", keyValueHeadCount), ("head_dim", headDimension),
            ("max_position_embeddings", maxPositions), ("sliding_window", slidingWindow),
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
        guard queryPreAttentionScalar > 0 else { throw fail("query_pre_attn_scalar must be positive") }
        guard slidingLayers.count == layerCount else { throw fail("layer types do not cover every layer") }
    }

    /// `query_pre_attn_scalar ^ -0.5`.
    public var attentionScale: Float { Float(1 / queryPreAttentionScalar.squareRoot()) }
    /// √hidden_size rounded to float32.
    public var embeddingScale: Float { Float(Double(hiddenSize).squareRoot()) }

    /// The configuration of google/gemma-3-270m.
    public static let gemma3_270m = Gemma3Configuration(
        vocabularySize: 262_144, hiddenSize: 640, intermediateSize: 2048, layerCount: 18, headCount: 4,
        keyValueHeadCount: 1, headDimension: 256, slidingWindow: 512, maxPositions: 32_768)

    /// The sizes cost models need.
    public var architecture: DecoderArchitecture {
        DecoderArchitecture(
            layerCount: layerCount, hiddenSize: hiddenSize, headCount: headCount, keyValueHeadCount: keyValueHeadCount,
            headDimension: headDimension, intermediateSize: intermediateSize, vocabularySize: vocabularySize,
            slidingLayers: slidingLayers, slidingWindow: slidingWindow)
    }
}
