import Foundation
import SteeringCore

/// An LLM judge behind any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp's
/// server, Ollama), scoring each completion against its criterion on the 1–10 scale (method §6.3).
///
/// Each request is one `POST {baseURL}/chat/completions` with this project's ``JudgeRubric``,
/// temperature 0, `max_tokens` 150 and, unless disabled, JSON mode. Calls that time out, lose their
/// connection or get HTTP 429/5xx are retried with exponential backoff and jitter (honouring
/// `Retry-After`); at most ``OpenAIJudgeConfiguration/concurrency`` requests are in flight. A call
/// that still fails becomes a `Result.failure` carrying a ``JudgeError``, so it is dropped and counted
/// rather than scored. Successful scores are cached in memory, so duplicate requests reach the
/// server once.
///
/// The API key is read from the environment once, at initialisation; it is sent only in the
/// `Authorization` header and appears in no identity, error or description.
public final class OpenAIJudge: Judge {
    /// `openai`.
    public let name = "openai"
    /// The settings this judge was made with.
    public let configuration: OpenAIJudgeConfiguration
    /// `kind`, endpoint host and path, model, rubric version, temperature, max_tokens and response format.
    public let identity: [String: RecipeValue]
    /// Successful scores, shared by every call of this judge (and of other judges given the same cache).
    public let cache: JudgeScoreCache

    private let client: ChatCompletionClient
    private let limiter: ConcurrencyLimiter
    private let retryPolicy: RetryPolicy
    private let identityKey: String

    /// Version of the request and answer handling, part of the identity.
    public static let protocolVersion = 1

    /// Makes a judge.
    /// - Parameters:
    ///   - configuration: Where and how to call; validated here.
    ///   - environment: Where the API key is looked up (by ``OpenAIJudgeConfiguration/apiKeyEnvironmentVariable``);
    ///     the process environment by default.
    ///   - cache: The score cache; a fresh one by default.
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` for a bad configuration, or when the
    ///   endpoint is api.openai.com and the key variable is unset.
    public init(
        configuration: OpenAIJudgeConfiguration,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        cache: JudgeScoreCache = JudgeScoreCache()
    ) throws(SteeringError) {
        try configuration.validate()
        let apiKey = APIKey(environment[configuration.apiKeyEnvironmentVariable])
        let endpoint = try configuration.endpoint
        if apiKey == nil, endpoint.host?.lowercased().hasSuffix("openai.com") == true {
            throw .invalidArgument(
                what: "openai API key",
                problem: "the environment variable \(configuration.apiKeyEnvironmentVariable) is not set; export it, "
                    + "or name another variable with the `api-key-env` option")
        }
        self.configuration = configuration
        self.cache = cache
        self.identity = Self.identity(of: configuration)
        self.identityKey = RecipeValue.object(identity).canonicalJSON
        self.client = ChatCompletionClient(
            endpoint: endpoint, displayEndpoint: configuration.displayURL, apiKey: apiKey,
            timeout: configuration.timeout, maxConnections: configuration.concurrency)
        self.limiter = ConcurrencyLimiter(limit: configuration.concurrency)
        self.retryPolicy = RetryPolicy(
            retries: configuration.retries, base: configuration.backoffBase, limit: configuration.backoffLimit,
            retryAfterLimit: configuration.retryAfterLimit)
    }

    /// Everything that determines the scores of a judge with `configuration`.
    public static func identity(of configuration: OpenAIJudgeConfiguration) -> [String: RecipeValue] {
        [
            "kind": "openai",
            "endpoint": .string(configuration.identityEndpoint),
            "model": .string(configuration.model),
            "rubric-version": .int(JudgeRubric.version),
            "protocol-version": .int(protocolVersion),
            "temperature": .double(OpenAIJudgeConfiguration.temperature),
            "max-tokens": .int(OpenAIJudgeConfiguration.maxTokens),
            "response-format": .string(configuration.jsonMode ? "json_object" : "text"),
        ]
    }

    /// Scores every request; duplicates (same prompt, criterion and completion) are sent once.
    public func score(_ requests: [JudgeRequest]) async -> [Result<Double, any Error>] {
        var order: [JudgeScoreCache.Key] = []
        var positions: [JudgeScoreCache.Key: [Int]] = [:]
        var firstRequest: [JudgeScoreCache.Key: JudgeRequest] = [:]
        for (index, request) in requests.enumerated() {
            let key = JudgeScoreCache.Key(identity: identityKey, request: request)
            if positions[key] == nil {
                order.append(key)
                firstRequest[key] = request
            }
            positions[key, default: []].append(index)
        }
        var outcomes: [JudgeScoreCache.Key: Result<Double, JudgeError>] = [:]
        var pending: [JudgeScoreCache.Key] = []
        for key in order {
            if let cached = await cache.score(for: key) {
                outcomes[key] = .success(cached)
            } else {
                pending.append(key)
            }
        }
        let window = configuration.concurrency
        await withTaskGroup(of: (JudgeScoreCache.Key, Result<Double, JudgeError>).self) { group in
            var next = 0
            func launch() {
                let key = pending[next]
                let request = firstRequest[key]!
                next += 1
                group.addTask { (key, await self.scoreOnce(request)) }
            }
            while next < min(window, pending.count) { launch() }
            while let (key, outcome) = await group.next() {
                outcomes[key] = outcome
                if next < pending.count { launch() }
            }
        }
        for key in pending {
            if case .success(let value) = outcomes[key] { await cache.store(value, for: key) }
        }
        var results = [Result<Double, any Error>](repeating: .failure(JudgeError.cancelled), count: requests.count)
        for (key, indices) in positions {
            let outcome = outcomes[key] ?? .failure(.cancelled)
            for index in indices { results[index] = outcome.mapError { $0 as any Error } }
        }
        return results
    }

    /// One request with retries, bypassing the cache.
    public func scoreOnce(_ request: JudgeRequest) async -> Result<Double, JudgeError> {
        let body = requestBody(for: request)
        var attempt = 0
        while true {
            attempt += 1
            if Task.isCancelled { return .failure(.cancelled) }
            await limiter.acquire()
            let exchange = await client.post(body)
            await limiter.release()
            let outcome: Result<Double, JudgeError>
            var retryAfter: Double?
            switch exchange {
            case .failure(let error):
                outcome = .failure(error)
            case .success(let answer):
                retryAfter = answer.retryAfter
                outcome = interpret(answer)
            }
            guard case .failure(let error) = outcome else { return outcome }
            guard error.isRetryable, attempt < retryPolicy.maxAttempts else {
                return .failure(error.afterAttempts(attempt))
            }
            let wait = retryPolicy.delay(
                afterAttempt: attempt, retryAfter: retryAfter, unit: Double.random(in: 0..<1))
            do {
                try await Task.sleep(nanoseconds: UInt64(wait * 1e9))
            } catch {
                return .failure(.cancelled)
            }
        }
    }

    /// The score in a complete HTTP answer, or why there is none.
    private func interpret(_ answer: HTTPExchange) -> Result<Double, JudgeError> {
        guard (200...299).contains(answer.status) else {
            let text = client.redact(String(decoding: answer.body, as: UTF8.self))
            return .failure(
                .httpStatus(
                    endpoint: configuration.displayURL, status: answer.status, attempts: 1,
                    excerpt: ScoreParsing.excerpt(text)))
        }
        return ScoreParsing.score(fromResponseBody: answer.body).mapError { error in
            switch error {
            case .malformedResponse(let reason, let excerpt):
                .malformedResponse(reason: reason, excerpt: client.redact(excerpt))
            case .invalidScore(let reason, let content):
                .invalidScore(reason: reason, content: client.redact(content))
            default: error
            }
        }
    }

    /// The JSON body of the chat-completions request for `request`.
    func requestBody(for request: JudgeRequest) -> [UInt8] {
        let payload = ChatCompletionRequest(
            model: configuration.model,
            messages: [
                .init(role: "system", content: JudgeRubric.systemMessage(criterion: request.criterion)),
                .init(
                    role: "user",
                    content: JudgeRubric.userMessage(prompt: request.prompt, completion: request.completion)),
            ],
            temperature: OpenAIJudgeConfiguration.temperature,
            maxTokens: OpenAIJudgeConfiguration.maxTokens,
            responseFormat: configuration.jsonMode ? .init(type: "json_object") : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and numbers cannot fail.
        return Array((try? encoder.encode(payload)) ?? Data())
    }
}

/// The request body of an OpenAI chat completion, as far as the judge uses it.
private struct ChatCompletionRequest: Encodable {
    struct Message: Encodable {
        var role: String
        var content: String
    }

    struct ResponseFormat: Encodable { var type: String }

    var model: String
    var messages: [Message]
    var temperature: Double
    var maxTokens: Int
    var responseFormat: ResponseFormat?

    enum CodingKeys: String, CodingKey {
        case model, messages, temperature
        case maxTokens = "max_tokens"
        case responseFormat = "response_format"
    }
}
