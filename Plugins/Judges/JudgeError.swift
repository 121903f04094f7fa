import SteeringCore

/// Why one judge call produced no score. Failed calls are dropped from averages and counted
/// (method §6.3), so these travel as `Result.failure` values, never as thrown errors that stop a batch.
///
/// No case ever carries the API key: server text quoted in an error is redacted first.
public enum JudgeError: Error, Sendable, Equatable {
    /// Nothing accepted a connection at `endpoint` (refused, unknown host, unreachable).
    case cannotConnect(endpoint: String, detail: String)
    /// Every attempt ran past the per-call timeout.
    case timedOut(endpoint: String, seconds: Double, attempts: Int)
    /// The server answered with a non-success HTTP status (after retries, for 429 and 5xx).
    case httpStatus(endpoint: String, status: Int, attempts: Int, excerpt: String)
    /// The connection failed after it was established (closed mid-response, reset, ...).
    case transport(endpoint: String, detail: String, attempts: Int)
    /// The HTTP body was not an OpenAI chat-completions answer with `choices[0].message.content`.
    case malformedResponse(reason: String, excerpt: String)
    /// The judge's message was not the JSON object `{"score": n}` with an integer `n` in 1...10.
    case invalidScore(reason: String, content: String)
    /// An offline judge could not score this request (no completion tokens, too long, ...).
    case unscorable(reason: String)
    /// The call was cancelled before it finished.
    case cancelled
}

extension JudgeError: CustomStringConvertible, LocalizedErrorLike {
    public var description: String {
        switch self {
        case .cannotConnect(let endpoint, let detail):
            return "Cannot connect to \(endpoint) — is the server running? (\(detail))"
        case .timedOut(let endpoint, let seconds, let attempts):
            return "The judge at \(endpoint) did not answer within \(Self.format(seconds)) s "
                + "(\(Self.attempts(attempts))); raise the `timeout` option or check the server's load."
        case .httpStatus(let endpoint, let status, let attempts, let excerpt):
            return "The judge at \(endpoint) answered HTTP \(status) (\(Self.attempts(attempts)))\(Self.hint(status))"
                + (excerpt.isEmpty ? "." : ": \(excerpt)")
        case .transport(let endpoint, let detail, let attempts):
            return "The connection to \(endpoint) failed (\(Self.attempts(attempts))): \(detail)"
        case .malformedResponse(let reason, let excerpt):
            return "The judge's answer is not a chat completion: \(reason)"
                + (excerpt.isEmpty ? "." : ". Answer began: \(excerpt)")
        case .invalidScore(let reason, let content):
            return "The judge did not return {\"score\": n} with an integer n in 1...10: \(reason). "
                + "Message: \(content)"
        case .unscorable(let reason):
            return "Cannot score this completion: \(reason)"
        case .cancelled:
            return "The judge call was cancelled."
        }
    }

    private static func attempts(_ count: Int) -> String { count == 1 ? "1 attempt" : "\(count) attempts" }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    private static func hint(_ status: Int) -> String {
        switch status {
        case 401, 403: " — check the API key in the environment variable named by `api-key-env`"
        case 404: " — check `base-url` (it should end before /chat/completions, e.g. …/v1) and `model`"
        case 429: " — rate limited; lower `concurrency` or raise `retries`"
        default: ""
        }
    }

    /// Whether another attempt may succeed (timeouts, 429, 5xx and broken connections).
    var isRetryable: Bool {
        switch self {
        case .timedOut, .transport: true
        case .httpStatus(_, let status, _, _): status == 429 || (500...599).contains(status)
        default: false
        }
    }

    /// The same failure, recording how many attempts were made.
    func afterAttempts(_ count: Int) -> JudgeError {
        switch self {
        case .timedOut(let endpoint, let seconds, _): .timedOut(endpoint: endpoint, seconds: seconds, attempts: count)
        case .httpStatus(let endpoint, let status, _, let excerpt):
            .httpStatus(endpoint: endpoint, status: status, attempts: count, excerpt: excerpt)
        case .transport(let endpoint, let detail, _): .transport(endpoint: endpoint, detail: detail, attempts: count)
        default: self
        }
    }
}
