/// One completion to be scored against one criterion.
public struct JudgeRequest: Sendable, Hashable, Codable {
    /// The prompt the model was given (e.g. `I think`).
    public var prompt: String
    /// The generated text.
    public var completion: String
    /// The criterion in words (e.g. "mentions London or anything related to it").
    public var criterion: String
    /// Token ids of the whole sequence, for judges that read the model.
    public var tokens: [Int32]

    public init(prompt: String, completion: String, criterion: String, tokens: [Int32] = []) {
        self.prompt = prompt
        self.completion = completion
        self.criterion = criterion
        self.tokens = tokens
    }
}

/// Scores completions on a 1–10 scale.
public protocol Judge: Sendable {
    /// Registry name (`openai`, `coherence-loglik`, `lexicon`, ...).
    var name: String { get }
    /// Everything that determines this judge's scores (model name, rubric version, ...); enters
    /// the score cache key. Never contains secrets.
    var identity: [String: RecipeValue] { get }
    /// A score in 1...10 per request, or the error that made that call fail (failed calls are
    /// dropped from averages and counted).
    func score(_ requests: [JudgeRequest]) async -> [Result<Double, any Error>]
}

/// What a judge is asked to judge, for creators that configure themselves from it: the criterion,
/// a task's words, target features and example texts, and unsteered reference completions.
public struct JudgeSubject: Sendable {
    /// What a high score means ("mentions London", "is coherent").
    public var criterion: String
    /// Words and phrases that show the behaviour, when the task has them.
    public var lexicon: [String]?
    /// Features whose activation shows the behaviour, and the site they are read at.
    public var targets: [FeatureTarget]
    public var site: ActivationSite?
    /// Texts that show the behaviour (a task's positive prompts), to calibrate against.
    public var examples: [String]
    /// Makes unsteered completions of the evaluation prompt (with their tokens), to anchor a scale
    /// on; called only by a judge that uses them (generating them costs model time).
    public var references: (@Sendable () throws -> [JudgeRequest])?

    public init(
        criterion: String, lexicon: [String]? = nil, targets: [FeatureTarget] = [], site: ActivationSite? = nil,
        examples: [String] = [], references: (@Sendable () throws -> [JudgeRequest])? = nil
    ) {
        self.criterion = criterion
        self.lexicon = lexicon
        self.targets = targets
        self.site = site
        self.examples = examples
        self.references = references
    }
}

/// Objects a judge's creator may use besides its options: what the caller already loaded (so a judge
/// shares the model being steered instead of loading another copy), the subject, and the registry
/// (to load what is not given, by plugin name).
public struct JudgeContext: Sendable {
    public var model: (any ModelBackend)?
    public var dictionary: (any FeatureDictionary)?
    public var subject: JudgeSubject?
    /// Set by ``PluginRegistry/judge(_:_:context:)`` to the registry creating the judge when empty.
    public var registry: PluginRegistry?

    public init(
        model: (any ModelBackend)? = nil, dictionary: (any FeatureDictionary)? = nil, subject: JudgeSubject? = nil,
        registry: PluginRegistry? = nil
    ) {
        self.model = model
        self.dictionary = dictionary
        self.subject = subject
        self.registry = registry
    }
}
