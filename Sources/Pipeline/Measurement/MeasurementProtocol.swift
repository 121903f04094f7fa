import SteeringCore

/// How one steering vector's effect is measured (method.md §2.3–§2.4). Every field enters the
/// recipe of every effect and baseline artifact, so changing any of them measures afresh.
public struct MeasurementProtocol: Sendable, Hashable, Codable {
    /// Prompts; each is encoded with BOS prepended. Default: the method's 14 prompts.
    public var prompts: [String]
    /// Steered rollouts per prompt (default 64).
    public var rolloutsPerPrompt: Int
    /// Total sequence length including BOS and prompt (default 32); generation never stops early.
    public var totalLength: Int
    /// Sampler for rollouts: temperature 1, top-k 50, top-p 0.3 in TransformerLens mode (where a set
    /// top-k disables top-p — the method's effective sampler).
    public var temperature: Float
    public var topK: Int
    public var topP: Float
    public var samplerMode: SamplingConfig.Mode
    /// Where steering is added and features are read (the SAE's layer).
    public var site: ActivationSite
    /// Positions that are steered during rollouts (default: all, BOS included).
    public var positions: PositionPolicy
    /// Baseline rollouts per prompt = `baselineMultiplier × rolloutsPerPrompt` (default 10).
    public var baselineMultiplier: Int
    /// Seed of every sampler stream.
    public var seed: UInt64

    /// The method's prompt list (the intended 14 entries; the historical missing-comma bug is not reproduced).
    public static let methodPrompts = [
        "", "", "", "I think", "Breaking news", "Last night", "For sale", "The weather", "Dear Sir/Madam",
        "Preheat the oven", "It's interesting that", "Assistant:", "I went up to", "New study suggests",
    ]

    public init(
        site: ActivationSite, prompts: [String] = MeasurementProtocol.methodPrompts, rolloutsPerPrompt: Int = 64,
        totalLength: Int = 32, temperature: Float = 1, topK: Int = 50, topP: Float = 0.3,
        samplerMode: SamplingConfig.Mode = .transformerLens, positions: PositionPolicy = .all,
        baselineMultiplier: Int = 10, seed: UInt64 = 0
    ) {
        self.site = site
        self.prompts = prompts
        self.rolloutsPerPrompt = rolloutsPerPrompt
        self.totalLength = totalLength
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.samplerMode = samplerMode
        self.positions = positions
        self.baselineMultiplier = baselineMultiplier
        self.seed = seed
    }

    /// Checks the numbers; messages name the field.
    public func validate() throws {
        guard !prompts.isEmpty else {
            throw PipelineError.invalidInput(what: "protocol prompts", problem: "none given")
        }
        guard rolloutsPerPrompt > 0 else {
            throw PipelineError.invalidInput(
                what: "rollouts per prompt", problem: "must be ≥ 1, got \(rolloutsPerPrompt)")
        }
        guard totalLength >= 2 else {
            throw PipelineError.invalidInput(what: "total length", problem: "must be ≥ 2, got \(totalLength)")
        }
        guard baselineMultiplier > 0 else {
            throw PipelineError.invalidInput(
                what: "baseline multiplier", problem: "must be ≥ 1, got \(baselineMultiplier)")
        }
        try samplingConfig(maxNewTokens: 1, seed: 0).validate()
    }

    /// Token positions averaged into one effect: every position of every rollout of every prompt.
    public var averagedPositions: Int { prompts.count * rolloutsPerPrompt * totalLength }

    /// The sampler for one prompt's rollouts.
    public func samplingConfig(maxNewTokens: Int, seed: UInt64) -> SamplingConfig {
        SamplingConfig(
            temperature: temperature, topK: topK, topP: topP, mode: samplerMode, maxNewTokens: maxNewTokens,
            stopAtEOS: false, seed: seed)
    }

    /// The recipe parameters that describe this protocol.
    public var recipeValue: RecipeValue {
        [
            "prompts": .array(prompts.map { .string($0) }), "rolloutsPerPrompt": .int(rolloutsPerPrompt),
            "totalLength": .int(totalLength), "temperature": .double(Double(temperature)), "topK": .int(topK),
            "topP": .double(Double(topP)), "samplerMode": .string(samplerMode.rawValue),
            "layer": .int(site.layer), "hook": .string(site.hook.rawValue),
            "positions": .string(positions.scope.rawValue), "steerBOS": .bool(positions.includeBOS),
            "baselineMultiplier": .int(baselineMultiplier), "seed": .string(String(seed)),
        ]
    }

    /// Seed of the sampler streams of repetition `repetition` (steered rollouts use repetition 0, so
    /// every vector is measured on the same random numbers; the baseline uses repetitions
    /// 1…multiplier). Rows of one repetition draw from their own streams (seed, row).
    func streamSeed(repetition: Int) -> UInt64 {
        var mixer = SplitMix64(seed: seed ^ 0xA076_1D64_78BD_642F)
        _ = mixer.next()
        return mixer.next() &+ UInt64(repetition) &* 0xD1B5_4A32_D192_ED03
    }
}
