import Foundation
import SteeringCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What came back from one HTTP exchange.
struct HTTPExchange: Sendable {
    /// HTTP status code.
    var status: Int
    /// Seconds requested by a `Retry-After` header, when present and parseable.
    var retryAfter: Double?
    /// The response body.
    var body: [UInt8]
}

/// Sends chat-completions requests with a hard per-call deadline, mapping transport failures to
/// ``JudgeError`` values whose messages name the endpoint but never the key.
final class ChatCompletionClient: Sendable {
    private let session: URLSession
    private let endpoint: URL
    private let displayEndpoint: String
    private let apiKey: APIKey?
    private let timeout: Double

    init(endpoint: URL, displayEndpoint: String, apiKey: APIKey?, timeout: Double, maxConnections: Int) {
        // The per-call deadline is enforced by `post`; URLSession's own timeouts are only a backstop
        // (swift-corelibs-foundation rounds them to whole seconds, so they are set well above it).
        let backstop = (timeout + 5).rounded(.up)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = backstop
        configuration.timeoutIntervalForResource = backstop
        configuration.httpMaximumConnectionsPerHost = maxConnections
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        self.session = URLSession(configuration: configuration)
        self.endpoint = endpoint
        self.displayEndpoint = displayEndpoint
        self.apiKey = apiKey
        self.timeout = timeout
    }

    deinit { session.finishTasksAndInvalidate() }

    /// Removes the API key from text received from the server.
    func redact(_ text: String) -> String { apiKey?.redact(text) ?? text }

    /// POSTs `body` (JSON) and waits at most the configured timeout for the complete answer.
    func post(_ body: [UInt8]) async -> Result<HTTPExchange, JudgeError> {
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.timeoutInterval = (timeout + 5).rounded(.up)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let apiKey { request.setValue(apiKey.authorizationHeader, forHTTPHeaderField: "Authorization") }
        request.httpBody = Data(body)
        let timeout = self.timeout
        let displayEndpoint = self.displayEndpoint
        let prepared = request
        return await withTaskGroup(of: Result<HTTPExchange, JudgeError>?.self) { group in
            group.addTask { await self.perform(prepared) }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                if Task.isCancelled { return nil }
                return .failure(.timedOut(endpoint: displayEndpoint, seconds: timeout, attempts: 1))
            }
            var outcome: Result<HTTPExchange, JudgeError>?
            while let next = await group.next() {
                guard let next else { continue }
                outcome = next
                break
            }
            group.cancelAll()
            return outcome ?? .failure(.cancelled)
        }
    }

    /// One URLSession data task, cancelled when the calling task is.
    private func perform(_ request: URLRequest) async -> Result<HTTPExchange, JudgeError> {
        let handle = DataTaskHandle()
        return await withTaskCancellationHandler {
            await withCheckedContinuation {
                (continuation: CheckedContinuation<Result<HTTPExchange, JudgeError>, Never>) in
                let task = session.dataTask(with: request) { data, response, error in
                    continuation.resume(returning: self.classify(data: data, response: response, error: error))
                }
                handle.start(task)
            }
        } onCancel: {
            handle.cancel()
        }
    }

    /// Turns URLSession's completion values into an exchange or a failure.
    private func classify(data: Data?, response: URLResponse?, error: (any Error)?) -> Result<HTTPExchange, JudgeError>
    {
        if let error { return .failure(transportFailure(error)) }
        guard let http = response as? HTTPURLResponse else {
            return .failure(.transport(endpoint: displayEndpoint, detail: "the answer is not HTTP", attempts: 1))
        }
        let retryAfter = http.value(forHTTPHeaderField: "Retry-After").flatMap { RetryPolicy.retryAfterSeconds($0) }
        return .success(HTTPExchange(status: http.statusCode, retryAfter: retryAfter, body: Array(data ?? Data())))
    }

    private func transportFailure(_ error: any Error) -> JudgeError {
        let detail = redact(Self.describe(error))
        guard let urlError = error as? URLError else {
            return .transport(endpoint: displayEndpoint, detail: detail, attempts: 1)
        }
        switch urlError.code {
        case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet,
            .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .unsupportedURL:
            return .cannotConnect(endpoint: displayEndpoint, detail: detail)
        case .timedOut:
            return .timedOut(endpoint: displayEndpoint, seconds: timeout, attempts: 1)
        case .cancelled:
            return .cancelled
        default:
            return .transport(endpoint: displayEndpoint, detail: detail, attempts: 1)
        }
    }

    /// A short description of a transport error, without the request URL's query.
    private static func describe(_ error: any Error) -> String {
        if let urlError = error as? URLError {
            return "\(Self.codeName(urlError.code)) (URLError \(urlError.code.rawValue))"
        }
        return String(describing: error)
    }

    private static func codeName(_ code: URLError.Code) -> String {
        switch code {
        case .cannotConnectToHost: "connection refused"
        case .cannotFindHost, .dnsLookupFailed: "host not found"
        case .notConnectedToInternet: "no network"
        case .networkConnectionLost: "the connection was closed before the answer was complete"
        case .badServerResponse: "the server sent an invalid HTTP answer"
        case .secureConnectionFailed: "TLS handshake failed"
        case .timedOut: "timed out"
        case .unsupportedURL: "unsupported URL"
        case .unknown: "the transfer failed (the connection may have closed before the answer was complete)"
        default: "network error"
        }
    }
}

/// Holds a data task so that cancellation (which may arrive first) reaches it.
private final class DataTaskHandle: @unchecked Sendable {
    // @unchecked Sendable: `task` and `cancelled` are only touched while holding `lock`.
    private let lock = NSLock()
    private var task: URLSessionDataTask?
    private var cancelled = false

    func start(_ task: URLSessionDataTask) {
        lock.lock()
        self.task = task
        let cancelNow = cancelled
        lock.unlock()
        task.resume()
        if cancelNow { task.cancel() }
    }

    func cancel() {
        lock.lock()
        cancelled = true
        let task = self.task
        lock.unlock()
        task?.cancel()
    }
}
