/// How next tokens are chosen during generation.
///
/// Filters apply to the final (soft-capped) logits in this order: temperature, then top-k, then
/// top-p — Hugging Face `generate` order. With ``Mode/transformerLens`` a set top-k disables top-p
/// entirely (TransformerLens `sample_logits` uses `if top_k … elif top_p`), which the SAE-TS code
/// relied on; see Docs/Sampling.md.
public struct SamplingConfig: Sendable, Hashable, Codable {
    /// Filter semantics.
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
        /// Temperature, then top-k, then top-p (Hugging Face order).
        case huggingFace = "hf"
        /// Temperature, then top-k if set, otherwise top-p (TransformerLens).
        case transformerLens = "tl"
    }

    /// `0` means greedy (argmax, first index on ties).
    public var temperature: Float
    /// `0` disables top-k. Ties with the k-th largest logit are kept, as in Hugging Face.
    public var topK: Int
    /// `1` disables nucleus filtering.
    public var topP: Float
    public var mode: Mode
    /// Number of tokens to generate after the prompt.
    public var maxNewTokens: Int
    /// Stop a row at the end-of-sequence token (rows that stop are padded with EOS).
    public var stopAtEOS: Bool
    /// Seed for the sampler; the same (model, prompts, config, seed) always gives the same tokens.
    public var seed: UInt64

    public init(
        temperature: Float = 1, topK: Int = 50, topP: Float = 1, mode: Mode = .huggingFace,
        maxNewTokens: Int = 32, stopAtEOS: Bool = true, seed: UInt64 = 0
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.mode = mode
        self.maxNewTokens = maxNewTokens
        self.stopAtEOS = stopAtEOS
        self.seed = seed
    }

    /// Greedy decoding.
    public static func greedy(maxNewTokens: Int, stopAtEOS: Bool = true) -> SamplingConfig {
        SamplingConfig(temperature: 0, topK: 0, topP: 1, maxNewTokens: maxNewTokens, stopAtEOS: stopAtEOS)
    }

    /// Whether this configuration is greedy.
    public var isGreedy: Bool { temperature == 0 }

    /// Checks ranges; messages name the offending field.
    public func validate() throws(SteeringError) {
        guard temperature >= 0, temperature.isFinite else {
            throw .invalidArgument(what: "temperature", problem: "must be ≥ 0 and finite, got \(temperature)")
        }
        guard topK >= 0 else { throw .invalidArgument(what: "top-k", problem: "must be ≥ 0, got \(topK)") }
        guard topP > 0, topP <= 1 else {
            throw .invalidArgument(what: "top-p", problem: "must be in (0, 1], got \(topP)")
        }
        guard maxNewTokens >= 0 else {
            throw .invalidArgument(what: "max new tokens", problem: "must be ≥ 0, got \(maxNewTokens)")
        }
    }
}
