import Foundation
import SteeringCore
import SteeringTestSupport

@testable import Judges

/// Shared pieces of the `openai` judge tests: a judge pointed at a loopback server with near-zero
/// backoff, and requests whose expected score is written in their text.
enum ChatTestSupport {
    /// A key that must never leak; a distinctive string so that searches for it are meaningful.
    static let secret = "sk-loopback-9f8e7d6c5b4a-SECRET"

    /// The score a routing handler gives a completion: the number in its text (1 when none).
    static func routedScore(_ completion: String) -> Int {
        let digits = completion.filter(\.isNumber)
        return min(10, max(1, Int(digits) ?? 1))
    }

    /// A handler answering every request with the score written in its completion.
    static let routing: LoopbackHTTPServer.Handler = { request in
        .score(routedScore(request.judgedCompletion ?? ""))
    }

    /// A judge for `server` with near-zero backoff; the key is `secret`. The default timeout is generous
    /// because a loaded two-core test pool can hold back a loopback answer for seconds (a spurious
    /// retry would change request counts); tests of timeouts pass their own.
    static func judge(
        _ server: LoopbackHTTPServer, timeout: Double = 60, retries: Int = 2, concurrency: Int = 8,
        jsonMode: Bool = true, withKey: Bool = true
    ) throws -> OpenAIJudge {
        let configuration = OpenAIJudgeConfiguration(
            baseURL: server.baseURL + "/v1", model: "loopback-judge", apiKeyEnvironmentVariable: "JUDGE_TEST_KEY",
            timeout: timeout, retries: retries, concurrency: concurrency, jsonMode: jsonMode, backoffBase: 0.01,
            backoffLimit: 0.05, retryAfterLimit: 3)
        return try OpenAIJudge(
            configuration: configuration, environment: withKey ? ["JUDGE_TEST_KEY": secret] : [:])
    }

    /// A behaviour request whose completion carries `score`.
    static func request(_ score: Int, prompt: String = "I think") -> JudgeRequest {
        JudgeRequest(prompt: prompt, completion: " London is great, \(score)", criterion: "mentions London")
    }

    /// Seconds `body` takes.
    static func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
        let start = Date()
        let value = try await body()
        return (value, Date().timeIntervalSince(start))
    }
}

extension Result {
    /// The failure as a ``JudgeError``, if it is one.
    var judgeError: JudgeError? {
        if case .failure(let error) = self { return error as? JudgeError }
        return nil
    }

    /// The success value, if any.
    var value: Success? { try? get() }
}
