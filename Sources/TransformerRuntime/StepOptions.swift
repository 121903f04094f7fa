public import SteeringCore

/// What one step should do besides updating the cache.
public struct StepOptions: Sendable {
    /// Interventions grouped by layer, applied to every row their position policy selects.
    public var interventions: [Int: [Intervention]] = [:]
    /// Interventions for single sequences, by layer then cache sequence index (a server's rows each
    /// carry their own steering); applied after the shared ones.
    public var sequenceInterventions: [Int: [Int: [Intervention]]] = [:]
    /// Prompt length of each cache sequence, for position policies.
    public var promptLengths: [Int]
    /// Layers whose residual output is captured (after the interventions, as a TransformerLens hook sees it).
    public var captureLayers: Set<Int> = []
    /// Which logits the step returns.
    public var logits: LogitsSelection = .none
    /// Deepest layer to run (inclusive).
    public var lastLayer: Int
    /// First block to run. Above 0, the step's rows enter as the residual after block `firstLayer − 1`
    /// (given to ``TransformerRuntime/step(_:cache:options:workspace:residual:)``, before that layer's
    /// interventions, which the step applies); blocks below are skipped and their cache layers untouched.
    public var firstLayer = 0
    /// A layer whose residual is returned *before* its interventions (``StepOutput/siteRows``): what an
    /// unsteered pass computes there when nothing is steered below it.
    public var readLayer: Int?

    public init(
        interventions: [Int: [Intervention]] = [:], promptLengths: [Int], captureLayers: Set<Int> = [],
        logits: LogitsSelection = .none, lastLayer: Int
    ) {
        self.interventions = interventions
        self.promptLengths = promptLengths
        self.captureLayers = captureLayers
        self.logits = logits
        self.lastLayer = lastLayer
    }
}

/// What one step produced, per entry.
public struct StepOutput: Sendable {
    /// `captures[layer][e]`: the residual rows of entry `e` after block `layer`.
    public var captures: [Int: [Matrix]] = [:]
    /// Per entry: the last row's logits, or every row's (see ``StepOptions/logits``).
    public var logits: [Matrix] = []
    /// The residual after block ``StepOptions/readLayer`` before its interventions, every row of the
    /// step in layout order (`rowCount × hiddenSize`); empty without a read layer.
    public var siteRows: [Float] = []

    public init() {}
}

/// Bad input to the runtime. Each message names the value and what to do.
public enum TransformerInputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A token id outside the vocabulary.
    case tokenOutOfRange(token: Int32, vocabularySize: Int)
    /// A sequence longer than the model's context.
    case sequenceTooLong(length: Int, maxPositions: Int)
    /// An empty sequence was given where at least one token is needed.
    case emptySequence(index: Int)

    public var description: String {
        switch self {
        case .tokenOutOfRange(let token, let vocabularySize):
            return "token id \(token) is outside the vocabulary 0..<\(vocabularySize)."
        case .sequenceTooLong(let length, let maxPositions):
            return "sequence of \(length) tokens is longer than the model's context of \(maxPositions) positions; "
                + "shorten the prompt or lower --max-new-tokens."
        case .emptySequence(let index):
            return "sequence \(index) is empty; every sequence needs at least one token (BOS)."
        }
    }
}
