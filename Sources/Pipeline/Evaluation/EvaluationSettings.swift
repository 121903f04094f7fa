import SteeringCore

/// How a steering vector is evaluated (method.md §6.2–§6.4): for each scale, generate `samples`
/// completions of `prompt` with the vector added at every position, score each for behaviour and
/// coherence (1–10), normalise to [0, 1], and take mean(behaviour) × mean(coherence).
public struct EvaluationSettings: Sendable, Hashable, Codable {
    /// Scales swept (default 0, 20, …, 300).
    public var scales: [Float]
    /// Completions per (vector, scale) (default 256).
    public var samples: Int
    /// The prompt (default "I think"; BOS is prepended).
    public var prompt: String
    /// New tokens per completion (default 30).
    public var maxNewTokens: Int
    public var temperature: Float
    public var topK: Int
    public var topP: Float
    public var samplerMode: SamplingConfig.Mode
    /// Stop completions at EOS (the method: yes).
    public var stopAtEOS: Bool
    public var seed: UInt64
    /// Where vectors are added.
    public var site: ActivationSite

    public init(
        site: ActivationSite, scales: [Float] = stride(from: 0, through: 300, by: 20).map { Float($0) },
        samples: Int = 256, prompt: String = "I think", maxNewTokens: Int = 30, temperature: Float = 1,
        topK: Int = 50, topP: Float = 0.3, samplerMode: SamplingConfig.Mode = .transformerLens, stopAtEOS: Bool = true,
        seed: UInt64 = 0
    ) {
        self.site = site
        self.scales = scales
        self.samples = samples
        self.prompt = prompt
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.samplerMode = samplerMode
        self.stopAtEOS = stopAtEOS
        self.seed = seed
    }

    /// The sampler of every cell.
    public var sampling: SamplingConfig {
        SamplingConfig(
            temperature: temperature, topK: topK, topP: topP, mode: samplerMode, maxNewTokens: maxNewTokens,
            stopAtEOS: stopAtEOS, seed: seed)
    }

    /// Parameters of a generation recipe (everything but the scale and the vector).
    var generationParameters: RecipeValue {
        [
            "samples": .int(samples), "prompt": .string(prompt), "maxNewTokens": .int(maxNewTokens),
            "temperature": .double(Double(temperature)), "topK": .int(topK), "topP": .double(Double(topP)),
            "samplerMode": .string(samplerMode.rawValue), "stopAtEOS": .bool(stopAtEOS), "seed": .string(String(seed)),
            "layer": .int(site.layer),
        ]
    }

    public func validate() throws {
        guard !scales.isEmpty, scales.allSatisfy(\.isFinite) else {
            throw PipelineError.invalidInput(what: "evaluation scales", problem: "need at least one finite scale")
        }
        guard samples > 0 else {
            throw PipelineError.invalidInput(what: "samples", problem: "must be ≥ 1, got \(samples)")
        }
        try sampling.validate()
    }
}

/// One vector to evaluate: a task's vector from one strategy.
public struct EvaluationSubject: Sendable {
    public var task: String
    public var strategy: String
    /// The unit steering vector.
    public var vector: [Float]
    /// Key of the vector artifact (enters generation recipes).
    public var vectorKey: ContentDigest
    /// What the behaviour judge scores.
    public var behaviourCriterion: String
    /// What the coherence judge scores.
    public var coherenceCriterion: String

    public init(
        task: String, strategy: String, vector: [Float], vectorKey: ContentDigest, behaviourCriterion: String,
        coherenceCriterion: String
    ) {
        self.task = task
        self.strategy = strategy
        self.vector = vector
        self.vectorKey = vectorKey
        self.behaviourCriterion = behaviourCriterion
        self.coherenceCriterion = coherenceCriterion
    }
}
