import SteeringCore
import Synchronization

/// A deterministic offline judge for tests: the score is a function of the text (and the criterion),
/// or a failure for every call when `failing` is set. Counts the requests it receives.
public final class StubJudge: Judge {
    public let name: String
    public let failing: Bool
    private let calls = Mutex(0)

    public init(name: String = "stub", failing: Bool = false) {
        self.name = name
        self.failing = failing
    }

    public var identity: [String: RecipeValue] { ["kind": .string(name), "version": 1] }

    /// Requests scored so far.
    public var callCount: Int { calls.withLock { $0 } }

    public struct Down: Error, CustomStringConvertible {
        public var description: String { "cannot connect to the judge endpoint" }
    }

    public func score(_ requests: [JudgeRequest]) async -> [Result<Double, any Error>] {
        calls.withLock { $0 += requests.count }
        return requests.map { request in
            if failing { return .failure(Down()) }
            var hash: UInt64 = 1469598103934665603
            for byte in (request.criterion + request.completion).utf8 { hash = (hash ^ UInt64(byte)) &* 1099511628211 }
            return .success(Double(1 + hash % 10))
        }
    }
}
