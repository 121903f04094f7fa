public import ArtifactStore
import Foundation
public import SteeringCore

/// Settings of ``ServerApplication`` and ``HTTPServer``.
public struct ServerConfiguration: Sendable {
    /// Address to bind; loopback unless an API key is set.
    public var host = "127.0.0.1"
    /// Port; 0 picks a free one (the bound port is reported).
    public var port = 8080
    /// Bearer key every `/v1` request must carry, when set.
    public var apiKey: String?
    /// Largest request body accepted (bytes).
    public var maxBodyBytes = 1 << 20
    /// Most rows decoded together.
    public var maxBatchRows = 64
    /// The id `GET /v1/models` reports (default: the model's name).
    public var modelID: String?
    /// Whether to write one log line per request to standard error.
    public var logRequests = true
    /// Seconds in-flight requests get to finish after SIGTERM before they are cancelled.
    public var drainSeconds = 30.0

    public init() {}

    /// Whether `host` is a loopback address.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// What the HTTP layer sends back for one request.
public enum ServerReply: Sendable {
    /// A JSON body with a status.
    case json(status: Int, body: Data)
    /// Server-sent events: each element is one `data: …` payload (JSON text or `[DONE]`). `cancel`
    /// stops the generation behind them (its rows leave the batch) and ends the stream; the HTTP
    /// layer calls it when the client goes away.
    case events(AsyncStream<String>, cancel: @Sendable () -> Void)
}

/// The OpenAI-compatible endpoints over one model: parsing, steering resolution, the chat template,
/// scheduling rows on the ``BatchScheduler`` and shaping responses. Independent of the HTTP transport.
public final class ServerApplication: Sendable {
    public let backend: any IncrementalDecoding
    public let resolver: SteeringResolver
    public let scheduler: BatchScheduler
    public let configuration: ServerConfiguration
    /// The id clients see.
    public let modelID: String
    private let created = Int(Date().timeIntervalSince1970)
    /// `<end_of_turn>`'s id when the tokenizer has it as one token.
    private let endOfTurn: Int32?

    /// An application serving `backend` (the scheduler is started here).
    public init(
        backend: any IncrementalDecoding, store: ArtifactStore?, dictionary: (any FeatureDictionary)?,
        configuration: ServerConfiguration
    ) throws {
        if let dictionary { try dictionary.checkCompatible(with: backend.descriptor) }
        self.backend = backend
        self.resolver = SteeringResolver(model: backend.descriptor, store: store, dictionary: dictionary)
        self.configuration = configuration
        self.modelID = configuration.modelID ?? backend.descriptor.name
        self.scheduler = BatchScheduler(backend: backend, maxRows: configuration.maxBatchRows)
        let turnEnd = backend.encode(GemmaChatTemplate.endOfTurn, addBOS: false)
        self.endOfTurn = turnEnd.count == 1 ? turnEnd[0] : nil
        scheduler.start()
    }

    /// Whether the model has a chat template here (Gemma-family backends).
    public var hasChatTemplate: Bool { backend.descriptor.backend.hasPrefix("gemma") }

    /// One line for the log, without prompt text or keys.
    public struct LogRecord: Sendable {
        public var status = 200
        public var promptTokens = 0
        public var completionTokens = 0
        public var choices = 0
        public var steeringTerms = 0
        public var stream = false
        public var finish = ""
    }

    // MARK: Endpoints (routed by the HTTP layer, ``HTTPServer``)

    /// The paths this server answers; another method on one of them is a 405, another path a 404.
    public static let endpoints: [(method: String, path: String)] = [
        ("GET", "/health"), ("GET", "/v1/models"), ("GET", "/v1/steering/vectors"), ("POST", "/v1/completions"),
        ("POST", "/v1/chat/completions"),
    ]

    /// Checks the API key of a request to `path` (every `/v1` path needs it when one is configured).
    /// - Throws: ``APIError`` 401 when the key is missing or wrong.
    public func authorize(path: String, authorization: String?) throws(APIError) {
        guard let key = configuration.apiKey, path.hasPrefix("/v1") else { return }
        guard let given = authorization, Self.constantTimeEqual(given, "Bearer " + key) else {
            throw APIError(
                status: 401, message: "Missing or wrong API key: send 'Authorization: Bearer <key>'.",
                type: "authentication_error", code: "invalid_api_key")
        }
    }

    /// The error for a request to a path or method this server does not have (404, or 405 for a
    /// known path).
    public static func unrouted(method: String, path: String) -> APIError {
        if endpoints.contains(where: { $0.path == path }) {
            return APIError(
                status: 405, message: "\(method) is not allowed on \(path).", type: "invalid_request_error")
        }
        return APIError.notFound(
            "No endpoint \(method) \(path); this server has POST /v1/completions, "
                + "POST /v1/chat/completions, GET /v1/models and GET /v1/steering/vectors.")
    }

    /// The error for a body over ``ServerConfiguration/maxBodyBytes``.
    public var bodyTooLarge: APIError {
        APIError(
            status: 413,
            message: "The request body is larger than the server's limit of \(configuration.maxBodyBytes) bytes.",
            type: "invalid_request_error", code: "request_too_large")
    }

    /// An error as its JSON reply.
    public static func reply(for error: APIError) -> ServerReply {
        .json(status: error.status, body: encode(error.body))
    }

    /// `GET /health`.
    public func health() -> ServerReply {
        .json(status: 200, body: Self.encode(["status": "ok"]))
    }

    /// `GET /v1/models`: the one model.
    public func models() -> ServerReply {
        .json(
            status: 200,
            body: Self.encode([
                "object": "list",
                "data": [
                    [
                        "id": modelID, "object": "model", "created": created, "owned_by": "steer",
                        "context_length": backend.descriptor.maxPositions, "backend": backend.descriptor.backend,
                    ] as [String: Any]
                ],
            ]))
    }

    /// `GET /v1/steering/vectors`: the store's vectors and the dictionary.
    /// - Throws: ``APIError`` 500 when the store cannot be read.
    public func vectors() throws(APIError) -> ServerReply {
        do {
            return .json(status: 200, body: Self.encode(try resolver.listing()))
        } catch {
            throw APIError(status: 500, message: "Reading the store failed: \(error)", type: "server_error")
        }
    }

    /// JSON text of `object` (slashes unescaped).
    static func encode(_ object: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }

    // MARK: Completions

    /// A request turned into rows, ready to schedule.
    public struct Plan: Sendable {
        /// One entry per choice: prompt index and row request.
        public var rows: [(prompt: Int, request: RowRequest)]
        public var promptTokens: Int
        public var stops: [String]
        public var stream: Bool
        public var streamUsage: Bool
        public var steeringTerms: Int
    }

    /// Checks and plans a completion request (no generation).
    /// - Throws: ``APIError`` for every bad field, unknown vector, or a prompt that does not fit the context.
    public func plan(_ body: [UInt8], chat: Bool) throws(APIError) -> Plan {
        let request = try CompletionRequest.parse(body, chat: chat)
        let interventions = try resolver.interventions(for: request.steering)
        let descriptor = backend.descriptor
        var prompts: [[Int32]]
        var stopTokens: Set<Int32> = [descriptor.eosToken]
        switch request.prompt {
        case .texts(let texts):
            prompts = texts.map { backend.encode($0, addBOS: true) }
        case .tokens(let lists):
            prompts = lists
            for tokens in lists {
                if let bad = tokens.first(where: { $0 < 0 || Int($0) >= descriptor.vocabularySize }) {
                    throw .invalid(
                        "'prompt' holds token id \(bad), outside the vocabulary 0..<\(descriptor.vocabularySize).",
                        param: "prompt")
                }
            }
        case .chat(let messages):
            guard hasChatTemplate else {
                throw .invalid(
                    "The \(descriptor.backend) backend has no chat template here; use /v1/completions.",
                    param: "messages")
            }
            prompts = [backend.encode(try GemmaChatTemplate.render(messages), addBOS: true)]
            if let endOfTurn { stopTokens.insert(endOfTurn) }
        }
        let param = chat ? "messages" : "prompt"
        for tokens in prompts {
            guard !tokens.isEmpty else { throw .invalid("'prompt' is empty.", param: param) }
            guard tokens.count < descriptor.maxPositions else {
                throw .invalid(
                    "The prompt has \(tokens.count) tokens; the model's context is \(descriptor.maxPositions) "
                        + "positions, which must also hold at least one new token. Shorten the prompt.",
                    param: param, code: "context_length_exceeded")
            }
        }
        let longest = prompts.map(\.count).max() ?? 0
        let maxTokens: Int
        if let requested = request.maxTokens {
            guard longest + requested <= descriptor.maxPositions else {
                throw .invalid(
                    "The prompt (\(longest) tokens) plus max_tokens (\(requested)) exceeds the model's context of "
                        + "\(descriptor.maxPositions) positions; lower max_tokens to at most "
                        + "\(descriptor.maxPositions - longest) or shorten the prompt.",
                    param: "max_tokens", code: "context_length_exceeded")
            }
            maxTokens = requested
        } else {
            maxTokens = min(chat ? descriptor.maxPositions - longest : 16, descriptor.maxPositions - longest)
        }
        let seed = request.seed ?? UInt64.random(in: 0...UInt64.max)
        let sampling = SamplingConfig(
            temperature: request.temperature, topK: request.topK, topP: request.topP, mode: .huggingFace,
            maxNewTokens: maxTokens, stopAtEOS: !request.ignoreEOS, seed: seed)
        var rows: [(prompt: Int, request: RowRequest)] = []
        for (p, tokens) in prompts.enumerated() {
            for i in 0..<request.n {
                rows.append(
                    (
                        p,
                        RowRequest(
                            prompt: tokens, interventions: interventions, sampling: sampling, generatorRow: i,
                            stopTokens: stopTokens)
                    ))
            }
        }
        return Plan(
            rows: rows, promptTokens: prompts.reduce(0) { $0 + $1.count }, stops: request.stop, stream: request.stream,
            streamUsage: request.streamUsage, steeringTerms: request.steering.count)
    }

    /// `POST /v1/completions` (`chat` false) or `POST /v1/chat/completions`: schedules the rows and
    /// answers with the whole completion or, for `stream`, with its events. `log` receives the
    /// request's record when the reply is complete (for a stream: when it ends).
    /// - Throws: ``APIError`` for a bad request (nothing is scheduled then).
    public func complete(_ body: [UInt8], chat: Bool, log: @escaping @Sendable (LogRecord) -> Void)
        async throws(APIError) -> ServerReply
    {
        let plan = try plan(body, chat: chat)
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let scheduler = self.scheduler
        let handles = plan.rows.map { scheduler.submit($0.request) }
        var record = LogRecord()
        record.promptTokens = plan.promptTokens
        record.choices = plan.rows.count
        record.steeringTerms = plan.steeringTerms
        record.stream = plan.stream
        let backend = self.backend
        let decode: @Sendable ([Int32]) -> String = { backend.decode($0, skipSpecialTokens: true) }
        let object = chat ? "chat.completion" : "text_completion"
        let model = modelID, created = Int(Date().timeIntervalSince1970)
        let stops = plan.stops

        if !plan.stream {
            let results = await withTaskCancellationHandler {
                await withTaskGroup(of: (Int, ChoiceResult).self) { group in
                    for (index, handle) in handles.enumerated() {
                        group.addTask {
                            (index, await Self.collect(handle, stops: stops, decode: decode, scheduler: scheduler))
                        }
                    }
                    var results = [ChoiceResult?](repeating: nil, count: handles.count)
                    for await (index, result) in group { results[index] = result }
                    return results.map { $0! }
                }
            } onCancel: {
                for handle in handles { scheduler.cancel(handle.ticket) }
            }
            if let failure = results.first(where: { $0.failure != nil })?.failure {
                record.status = 500
                log(record)
                let error = APIError(status: 500, message: "Generation failed: \(failure)", type: "server_error")
                return .json(status: 500, body: Self.encode(error.body))
            }
            let completionTokens = results.reduce(0) { $0 + $1.tokens }
            let choices: [[String: Any]] = results.enumerated().map { index, result in
                var choice: [String: Any] = ["index": index, "finish_reason": result.finish.rawValue]
                if chat {
                    choice["message"] = ["role": "assistant", "content": result.text]
                    choice["logprobs"] = NSNull()
                } else {
                    choice["text"] = result.text
                    choice["logprobs"] = NSNull()
                }
                return choice
            }
            record.completionTokens = completionTokens
            record.finish = Set(results.map(\.finish.rawValue)).sorted().joined(separator: ",")
            log(record)
            return .json(
                status: 200,
                body: Self.encode([
                    "id": id, "object": object, "created": created, "model": model, "choices": choices,
                    "usage": [
                        "prompt_tokens": plan.promptTokens, "completion_tokens": completionTokens,
                        "total_tokens": plan.promptTokens + completionTokens,
                    ],
                ]))
        }

        // Streaming: one chunk per released piece of text, a final chunk per choice with its finish
        // reason, optionally a usage chunk, then [DONE].
        let chunkObject = chat ? "chat.completion.chunk" : "text_completion"
        let promptTokens = plan.promptTokens
        let streamUsage = plan.streamUsage
        let (events, continuation) = AsyncStream<String>.makeStream()
        let producer = Task {
            func chunk(_ index: Int, text: String?, finish: String?, role: Bool = false) -> String {
                var choice: [String: Any] = ["index": index, "finish_reason": finish as Any? ?? NSNull()]
                if chat {
                    var delta: [String: Any] = [:]
                    if role { delta["role"] = "assistant" }
                    if let text { delta["content"] = text }
                    choice["delta"] = delta
                } else {
                    choice["text"] = text ?? ""
                }
                choice["logprobs"] = NSNull()
                return String(
                    decoding: Self.encode([
                        "id": id, "object": chunkObject, "created": created, "model": model, "choices": [choice],
                    ]), as: UTF8.self)
            }
            if chat {
                for index in handles.indices { continuation.yield(chunk(index, text: "", finish: nil, role: true)) }
            }
            let merged = AsyncStream<(Int, RowEvent)> { merged in
                let tasks = handles.enumerated().map { index, handle in
                    Task {
                        for await event in handle.events { merged.yield((index, event)) }
                    }
                }
                Task {
                    for task in tasks { await task.value }
                    merged.finish()
                }
            }
            var streams = handles.map { _ in TextStream(stops: stops, decode: decode) }
            var finished = [Bool](repeating: false, count: handles.count)
            var completionTokens = 0
            var reasons = Set<String>()
            var failed = false
            for await (index, event) in merged {
                if Task.isCancelled { break }
                switch event {
                case .token(let token):
                    guard !finished[index] else { continue }
                    completionTokens += 1
                    let piece = streams[index].add(token)
                    if !piece.isEmpty { continuation.yield(chunk(index, text: piece, finish: nil)) }
                    if streams[index].stopped {
                        finished[index] = true
                        scheduler.cancel(handles[index].ticket)
                        reasons.insert("stop")
                        continuation.yield(chunk(index, text: nil, finish: "stop"))
                    }
                case .finished(let reason):
                    guard !finished[index] else { continue }
                    finished[index] = true
                    let rest = streams[index].flush()
                    if !rest.isEmpty { continuation.yield(chunk(index, text: rest, finish: nil)) }
                    reasons.insert(reason.rawValue)
                    continuation.yield(chunk(index, text: nil, finish: reason.rawValue))
                case .failed(let message):
                    finished[index] = true
                    failed = true
                    let error = APIError(status: 500, message: "Generation failed: \(message)", type: "server_error")
                    continuation.yield(String(decoding: Self.encode(error.body), as: UTF8.self))
                }
            }
            // The client went away: the rows still running were cancelled with the stream.
            if Task.isCancelled && finished.contains(false) { reasons.insert(FinishReason.cancelled.rawValue) }
            if streamUsage {
                continuation.yield(
                    String(
                        decoding: Self.encode([
                            "id": id, "object": chunkObject, "created": created, "model": model, "choices": [],
                            "usage": [
                                "prompt_tokens": promptTokens, "completion_tokens": completionTokens,
                                "total_tokens": promptTokens + completionTokens,
                            ],
                        ]), as: UTF8.self))
            }
            continuation.yield("[DONE]")
            continuation.finish()
            record.completionTokens = completionTokens
            record.status = failed ? 500 : 200
            record.finish = reasons.sorted().joined(separator: ",")
            log(record)
        }
        let cancel: @Sendable () -> Void = {
            producer.cancel()
            for handle in handles { scheduler.cancel(handle.ticket) }
            continuation.finish()
        }
        continuation.onTermination = { reason in
            if case .cancelled = reason { cancel() }
        }
        return .events(events, cancel: cancel)
    }

    /// One finished choice.
    struct ChoiceResult: Sendable {
        var text = ""
        var tokens = 0
        var finish = FinishReason.length
        var failure: String?
    }

    /// Reads a row to its end, applying stop strings (a stop string cancels the row).
    static func collect(
        _ handle: BatchScheduler.Handle, stops: [String], decode: @escaping @Sendable ([Int32]) -> String,
        scheduler: BatchScheduler
    ) async -> ChoiceResult {
        var stream = TextStream(stops: stops, decode: decode)
        var result = ChoiceResult()
        for await event in handle.events {
            switch event {
            case .token(let token):
                guard !stream.stopped else { continue }
                result.tokens += 1
                _ = stream.add(token)
                if stream.stopped {
                    scheduler.cancel(handle.ticket)
                    result.finish = .stop
                }
            case .finished(let reason):
                if !stream.stopped { result.finish = reason }
            case .failed(let message):
                result.failure = message
            }
        }
        // A cancelled request (client gone) stops reading before the row's last event.
        if Task.isCancelled && !stream.stopped { result.finish = .cancelled }
        result.text = stream.text
        return result
    }
}
