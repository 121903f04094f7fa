import SteeringCore
import Synchronization

/// Wraps a backend and counts the calls that run the model, to prove that cached work is not redone.
public final class CountingBackend: ModelBackend {
    public let base: any ModelBackend
    private let counts = Mutex((forward: 0, loss: 0, generate: 0))

    public init(_ base: any ModelBackend) { self.base = base }

    /// Calls of `forward` (and `tokenLogLikelihoods`), `nextTokenLoss` and `generate` so far.
    public var forwardCalls: Int { counts.withLock { $0.forward } }
    public var lossCalls: Int { counts.withLock { $0.loss } }
    public var generateCalls: Int { counts.withLock { $0.generate } }
    /// All model-running calls.
    public var totalCalls: Int { counts.withLock { $0.forward + $0.loss + $0.generate } }

    public var descriptor: ModelDescriptor { base.descriptor }
    public func encode(_ text: String, addBOS: Bool) -> [Int32] { base.encode(text, addBOS: addBOS) }
    public func decode(_ tokens: [Int32], skipSpecialTokens: Bool) -> String {
        base.decode(tokens, skipSpecialTokens: skipSpecialTokens)
    }

    public func forward(_ request: ForwardRequest) throws -> ForwardResult {
        counts.withLock { $0.forward += 1 }
        return try base.forward(request)
    }

    public func nextTokenLoss(sequences: [[Int32]], interventions: [Intervention]) throws -> [Double] {
        counts.withLock { $0.loss += 1 }
        return try base.nextTokenLoss(sequences: sequences, interventions: interventions)
    }

    public func tokenLogLikelihoods(sequences: [[Int32]], positions: [Range<Int>]) throws -> [[Double]] {
        counts.withLock { $0.forward += 1 }
        return try base.tokenLogLikelihoods(sequences: sequences, positions: positions)
    }

    public func generate(prompts: [[Int32]], sampling: SamplingConfig, interventions: [Intervention]) throws
        -> [[Int32]]
    {
        counts.withLock { $0.generate += 1 }
        return try base.generate(prompts: prompts, sampling: sampling, interventions: interventions)
    }
}
