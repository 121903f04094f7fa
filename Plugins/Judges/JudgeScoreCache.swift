import SteeringCore

/// An in-memory cache of successful judge scores keyed by (judge identity, prompt, criterion,
/// completion). Failures are never cached, so a later call tries again.
///
/// One cache may be shared by several judges: the identity in the key keeps their scores apart.
public actor JudgeScoreCache {
    /// What a cached score depends on.
    struct Key: Hashable, Sendable {
        var identity: String
        var prompt: String
        var criterion: String
        var completion: String

        init(identity: String, request: JudgeRequest) {
            self.identity = identity
            self.prompt = request.prompt
            self.criterion = request.criterion
            self.completion = request.completion
        }
    }

    private var scores: [Key: Double] = [:]

    /// An empty cache.
    public init() {}

    /// Number of cached scores.
    public var count: Int { scores.count }

    /// Forgets every score.
    public func removeAll() { scores.removeAll() }

    func score(for key: Key) -> Double? { scores[key] }

    func store(_ score: Double, for key: Key) { scores[key] = score }
}
