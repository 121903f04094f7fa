import SteeringCore

/// Scores behaviour offline by counting a task's lexicon words in the completion.
///
/// With `h` matches (see ``Lexicon`` for the matching rules) and saturation `N`, the score is
/// `1 + 9·min(h, N)/N`: no match scores 1 and `N` or more matches score 10 (with the default `N = 3`:
/// 1, 4, 7, 10). Only `completion` is read; the prompt and the criterion text are not (the lexicon
/// stands for the criterion). Deterministic and free.
public struct LexiconJudge: Judge {
    /// `lexicon`.
    public let name = "lexicon"
    /// The words counted.
    public let lexicon: Lexicon
    /// Matches needed for a score of 10.
    public let saturation: Int
    /// Kind, version, lexicon digest and size, and saturation.
    public let identity: [String: RecipeValue]

    /// Version of the matching and scoring rules, part of the identity.
    public static let version = 1

    /// Makes a judge counting `words` (task files carry them as `lexicon`).
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` for an empty lexicon or `saturation < 1`.
    public init(words: [String], saturation: Int = 3) throws(SteeringError) {
        try self.init(lexicon: Lexicon(words), saturation: saturation)
    }

    /// Makes a judge counting the entries of `lexicon`.
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` when `saturation < 1`.
    public init(lexicon: Lexicon, saturation: Int = 3) throws(SteeringError) {
        guard saturation >= 1 else {
            throw .invalidArgument(what: "lexicon option `saturation`", problem: "must be ≥ 1, got \(saturation)")
        }
        self.lexicon = lexicon
        self.saturation = saturation
        self.identity = [
            "kind": "lexicon",
            "version": .int(Self.version),
            "lexicon": .string(lexicon.digest.hex),
            "entries": .int(lexicon.entries.count),
            "saturation": .int(saturation),
        ]
    }

    /// The score for `hits` matches.
    public func score(hits: Int) -> Double { scaleScore(Double(min(hits, saturation)) / Double(saturation)) }

    /// One score per request; never fails.
    public func score(_ requests: [JudgeRequest]) async -> [Result<Double, any Error>] {
        requests.map { .success(score(hits: lexicon.count(in: $0.completion))) }
    }
}
