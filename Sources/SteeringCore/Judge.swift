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
