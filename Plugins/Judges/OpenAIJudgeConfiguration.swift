import Foundation
import SteeringCore

/// Settings of the ``OpenAIJudge``: where the OpenAI-compatible server is, which model to ask, and
/// how patiently. The API key itself is never part of the configuration, only the *name* of the
/// environment variable that holds it.
public struct OpenAIJudgeConfiguration: Sendable, Hashable {
    /// Sampling temperature sent with every call (method §6.3); fixed, and recorded in the identity.
    public static let temperature = 0.0
    /// `max_tokens` sent with every call (method §6.3); fixed, and recorded in the identity.
    public static let maxTokens = 150

    /// The API root, e.g. `https://api.openai.com/v1`; requests go to `{baseURL}/chat/completions`
    /// (a URL that already ends in `/chat/completions` is used as it is).
    public var baseURL: String
    /// The model name the server knows (`gpt-4o-mini`, a vLLM `--served-model-name`, an Ollama tag).
    public var model: String
    /// Name of the environment variable holding the API key. An unset or empty variable sends no
    /// `Authorization` header (fine for local servers); `api.openai.com` requires it.
    public var apiKeyEnvironmentVariable: String
    /// Seconds one HTTP call may take before it counts as timed out.
    public var timeout: Double
    /// Extra attempts after a timeout, a broken connection, HTTP 429 or a 5xx answer.
    public var retries: Int
    /// Most HTTP requests in flight at once, across all concurrent `score` calls of one judge.
    public var concurrency: Int
    /// Send `response_format: {"type": "json_object"}`; turn off for servers that reject it.
    public var jsonMode: Bool
    /// First backoff delay in seconds; attempt `k` waits `min(backoffLimit, backoffBase·2^(k−1))`
    /// scaled by a random factor in [0.5, 1).
    public var backoffBase: Double
    /// Largest backoff delay in seconds.
    public var backoffLimit: Double
    /// Largest `Retry-After` wait honoured, in seconds; longer requests are shortened to this.
    public var retryAfterLimit: Double

    /// The defaults: gpt-4o-mini on api.openai.com, key in `OPENAI_API_KEY`, 20 s timeout, 3 retries,
    /// 8 requests in flight, JSON mode on.
    public init(
        baseURL: String = "https://api.openai.com/v1", model: String = "gpt-4o-mini",
        apiKeyEnvironmentVariable: String = "OPENAI_API_KEY", timeout: Double = 20, retries: Int = 3,
        concurrency: Int = 8, jsonMode: Bool = true, backoffBase: Double = 0.5, backoffLimit: Double = 8,
        retryAfterLimit: Double = 60
    ) {
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable
        self.timeout = timeout
        self.retries = retries
        self.concurrency = concurrency
        self.jsonMode = jsonMode
        self.backoffBase = backoffBase
        self.backoffLimit = backoffLimit
        self.retryAfterLimit = retryAfterLimit
    }

    /// Reads `base-url`, `model`, `api-key-env`, `timeout`, `retries`, `concurrency` and `json-mode`
    /// from plugin options; absent keys keep their defaults.
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` naming the bad option.
    public init(options: PluginOptions) throws(SteeringError) {
        self.init()
        let reader = OptionReader(options: options, plugin: "openai")
        try reader.rejectUnknown(allowed: Self.optionKeys)
        if let value = reader.string("base-url") { baseURL = value }
        if let value = reader.string("model") { model = value }
        if let value = reader.string("api-key-env") { apiKeyEnvironmentVariable = value }
        if let value = try reader.double("timeout") { timeout = value }
        if let value = try reader.int("retries") { retries = value }
        if let value = try reader.int("concurrency") { concurrency = value }
        if let value = try reader.bool("json-mode") { jsonMode = value }
        try validate()
    }

    /// The options ``init(options:)`` reads, with their defaults.
    public static let optionSpecs = [
        PluginOptionSpec("base-url", default: "https://api.openai.com/v1", "an OpenAI-compatible endpoint"),
        PluginOptionSpec("model", default: "gpt-4o-mini", "the judge model"),
        PluginOptionSpec("api-key-env", default: "OPENAI_API_KEY", "environment variable holding the key"),
        PluginOptionSpec("timeout", default: "20", "seconds per call"),
        PluginOptionSpec("retries", default: "3", "extra attempts after a timeout, 429, 5xx or broken connection"),
        PluginOptionSpec("concurrency", default: "8", "requests in flight"),
        PluginOptionSpec("json-mode", default: "true", "ask the endpoint for a JSON object"),
    ]

    /// Option keys understood by ``init(options:)``.
    public static let optionKeys = optionSpecs.map(\.key)

    /// Checks every field; messages name the option to fix.
    public func validate() throws(SteeringError) {
        _ = try endpoint
        guard !model.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalidArgument(what: "openai option `model`", problem: "must not be empty")
        }
        guard !apiKeyEnvironmentVariable.isEmpty, !apiKeyEnvironmentVariable.contains("=") else {
            throw .invalidArgument(
                what: "openai option `api-key-env`",
                problem: "must be the NAME of an environment variable (e.g. OPENAI_API_KEY), not the key itself")
        }
        guard timeout.isFinite, timeout > 0 else {
            throw .invalidArgument(what: "openai option `timeout`", problem: "must be > 0 seconds, got \(timeout)")
        }
        guard (0...20).contains(retries) else {
            throw .invalidArgument(what: "openai option `retries`", problem: "must be in 0...20, got \(retries)")
        }
        guard (1...256).contains(concurrency) else {
            throw .invalidArgument(
                what: "openai option `concurrency`", problem: "must be in 1...256, got \(concurrency)")
        }
        for (name, value) in [
            ("backoffBase", backoffBase), ("backoffLimit", backoffLimit), ("retryAfterLimit", retryAfterLimit),
        ] {
            guard value.isFinite, value >= 0 else {
                throw .invalidArgument(what: "openai \(name)", problem: "must be ≥ 0 seconds, got \(value)")
            }
        }
    }

    /// Where requests go: the base URL with `/chat/completions` appended.
    public var endpoint: URL {
        get throws(SteeringError) {
            let problem = "must be an http(s) URL such as https://api.openai.com/v1, got '\(displayURL)'"
            guard var components = URLComponents(string: baseURL),
                let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let host = components.host, !host.isEmpty
            else { throw .invalidArgument(what: "openai option `base-url`", problem: problem) }
            var path = components.path
            while path.hasSuffix("/") { path.removeLast() }
            if !path.hasSuffix("/chat/completions") { path += "/chat/completions" }
            components.path = path
            guard let url = components.url else {
                throw .invalidArgument(what: "openai option `base-url`", problem: problem)
            }
            return url
        }
    }

    /// The base URL as shown in messages: scheme, host, port and path; no user, password or query.
    public var displayURL: String {
        guard let components = URLComponents(string: baseURL), let host = components.host else {
            return "(unparseable URL)"
        }
        let port = components.port.map { ":\($0)" } ?? ""
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        return "\(components.scheme ?? "http")://\(host)\(port)\(path)"
    }

    /// Host and path of the base URL (no scheme, port, user, password or query), for the identity.
    public var identityEndpoint: String {
        guard let components = URLComponents(string: baseURL), let host = components.host else { return baseURL }
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        if path.hasSuffix("/chat/completions") { path.removeLast("/chat/completions".count) }
        return host.lowercased() + path
    }
}
