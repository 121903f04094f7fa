import Foundation
public import Hummingbird
import Logging
import NIOConcurrencyHelpers
public import NIOCore
import ServiceLifecycle

/// The HTTP layer of a ``ServerApplication`` on Hummingbird 2: HTTP/1.1 with keep-alive, the
/// router, bodies up to ``ServerConfiguration/maxBodyBytes`` (413 beyond), server-sent events for
/// streams, OpenAI error objects for every failure, one log line per request, a client that goes
/// away cancels its rows, and a graceful shutdown on SIGTERM or SIGINT through swift-service-lifecycle
/// (stop accepting, close idle connections, let in-flight requests finish for
/// ``ServerConfiguration/drainSeconds``, then cancel what is left).
public final class HTTPServer: Sendable {
    public let application: ServerApplication
    private let connections = ConnectionWatch()
    private let counter = NIOLockedValueBox(0)

    public init(application: ServerApplication) {
        self.application = application
    }

    /// The routes, the API-key check and the error and log middleware.
    public func makeRouter() -> Router<ServeRequestContext> {
        let router = Router(context: ServeRequestContext.self)
        router.add(middleware: ServeMiddleware(server: self))
        let application = self.application
        router.get("/health") { _, _ in Self.response(application.health()) }
        router.get("/v1/models") { _, _ in Self.response(application.models()) }
        router.get("/v1/steering/vectors") { _, _ in Self.response(try application.vectors()) }
        router.post("/v1/completions") { request, context in
            try await self.complete(request, context: context, chat: false)
        }
        router.post("/v1/chat/completions") { request, context in
            try await self.complete(request, context: context, chat: true)
        }
        return router
    }

    /// Binds, calls `onListening` with the bound port, and serves until SIGTERM or SIGINT (or until
    /// the task is cancelled); then shuts down gracefully and stops the scheduler.
    /// - Throws: When binding fails (address in use, bad host).
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        let configuration = application.configuration
        var logger = Logger(label: "steer.serve")
        logger.logLevel = .warning
        let connections = self.connections
        let app = Application(
            router: makeRouter(),
            server: .http1(configuration: .init(additionalChannelHandlers: [DisconnectHandler(watch: connections)])),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "steer",
                backlog: 256, reuseAddress: true),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [app, DrainService(scheduler: application.scheduler, seconds: configuration.drainSeconds)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer { application.scheduler.stop() }
        try await group.run()
    }

    /// Body, generation, and the reply; a client going away cancels the generation.
    private func complete(_ request: Request, context: ServeRequestContext, chat: Bool) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: application.configuration.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw application.bodyTooLarge
        }
        let application = self.application
        let log = context.log
        let closed = connections.signal(for: context.channel)
        let work = Task { try await application.complete(Array(buffer: body), chat: chat, log: { log?.write($0) }) }
        // A client that goes away cancels the generation (its rows leave the batch).
        let registration = closed?.register { work.cancel() }
        if closed != nil && registration == nil { work.cancel() }
        let reply: ServerReply
        do {
            defer { if let registration { closed?.unregister(registration) } }
            reply = try await work.value
        }
        guard case .events(let events, let cancel) = reply else { return Self.response(reply) }
        // The stream logs its own line when it ends; the client going away, or a failed write, stops it.
        log?.deferred = true
        let streaming = closed?.register(cancel)
        if closed != nil && streaming == nil { cancel() }
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                defer { if let streaming { closed?.unregister(streaming) } }
                do {
                    for await event in events {
                        try await writer.write(ByteBuffer(string: "data: \(event)\n\n"))
                    }
                    try await writer.finish(nil)
                } catch {
                    cancel()
                    throw error
                }
            })
    }

    static func response(_ reply: ServerReply) -> Response {
        switch reply {
        case .json(let status, let body):
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        case .events(_, let cancel):
            cancel()
            return Response(status: .internalServerError)
        }
    }

    /// The next request number for the log.
    fileprivate func nextRequestNumber() -> Int {
        counter.withLockedValue { value in
            value += 1
            return value
        }
    }
}

/// The request context of ``HTTPServer``: Hummingbird's core storage, the connection (to notice a
/// client going away) and the request's log line.
public struct ServeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request arrived on.
    public let channel: any Channel
    /// The request's log line (set by the server's middleware).
    var log: RequestLog?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// Checks the API key, turns every error into an OpenAI error object (the router's 404 into ours,
/// with 405 for a known path), and writes the request's log line.
struct ServeMiddleware: RouterMiddleware {
    typealias Context = ServeRequestContext
    let server: HTTPServer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let application = server.application
        let path = request.uri.path
        let log = RequestLog(
            number: server.nextRequestNumber(), method: request.method.rawValue, path: path,
            enabled: application.configuration.logRequests)
        var context = context
        context.log = log
        let reply: Response
        do {
            try application.authorize(path: path, authorization: request.headers[.authorization])
            reply = try await next(request, context)
        } catch {
            let apiError: APIError
            switch error {
            case let error as APIError: apiError = error
            case let error as HTTPError where error.status == .notFound:
                apiError = ServerApplication.unrouted(method: request.method.rawValue, path: path)
            case is CancellationError: throw error
            default: apiError = APIError(status: 500, message: "\(error)", type: "server_error")
            }
            var record = ServerApplication.LogRecord()
            record.status = apiError.status
            log.write(record)
            return HTTPServer.response(ServerApplication.reply(for: apiError))
        }
        if !log.deferred {
            var record = ServerApplication.LogRecord()
            record.status = reply.status.code
            log.write(record)
        }
        return reply
    }
}

/// One request's log line: method, path, status, time and (for completions) token counts, choices,
/// steering terms and finish reasons; never prompt text or keys. Written once.
final class RequestLog: Sendable {
    private let number: Int
    private let method: String
    private let path: String
    private let enabled: Bool
    private let start = DispatchTime.now()
    private let state = NIOLockedValueBox((written: false, deferred: false))

    init(number: Int, method: String, path: String, enabled: Bool) {
        self.number = number
        self.method = method
        self.path = path
        self.enabled = enabled
    }

    /// Whether the reply writes the line itself later (a stream, when it ends).
    var deferred: Bool {
        get { state.withLockedValue { $0.deferred } }
        set { state.withLockedValue { $0.deferred = newValue } }
    }

    /// Writes the line for `record` to standard error (only the first call writes).
    func write(_ record: ServerApplication.LogRecord) {
        let first = state.withLockedValue { state -> Bool in
            defer { state.written = true }
            return !state.written
        }
        guard first, enabled else { return }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        var line = "[serve] #\(number) \(method) \(path) \(record.status) \(String(format: "%.0f", ms)) ms"
        if record.choices > 0 {
            line += " prompt_tokens=\(record.promptTokens) completion_tokens=\(record.completionTokens)"
            line += " choices=\(record.choices) steering=\(record.steeringTerms) stream=\(record.stream)"
            if !record.finish.isEmpty { line += " finish=\(record.finish)" }
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// After shutdown begins, cancels whatever is still generating once the drain period is over (the
/// application service meanwhile stops accepting and lets in-flight requests finish).
struct DrainService: Service {
    let scheduler: BatchScheduler
    let seconds: Double

    func run() async throws {
        try? await gracefulShutdown()
        FileHandle.standardError.write(Data("[serve] shutting down (finishing in-flight requests)\n".utf8))
        let scheduler = self.scheduler
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { scheduler.cancelAll() }
    }
}

/// The close signal of every open connection, kept by ``DisconnectHandler``.
final class ConnectionWatch: Sendable {
    private let signals = NIOLockedValueBox([ObjectIdentifier: CloseSignal]())

    /// The signal of `channel`; nil for a channel without a ``DisconnectHandler``.
    func signal(for channel: any Channel) -> CloseSignal? {
        signals.withLockedValue { $0[ObjectIdentifier(channel)] }
    }

    fileprivate func opened(_ channel: any Channel) {
        signals.withLockedValue { $0[ObjectIdentifier(channel)] = CloseSignal() }
    }

    fileprivate func closed(_ channel: any Channel) {
        signals.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }?.fire()
    }
}

/// Fires a connection's ``CloseSignal`` when its client closes its side or the connection drops.
/// Every read and event passes on untouched.
final class DisconnectHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    let watch: ConnectionWatch

    init(watch: ConnectionWatch) { self.watch = watch }

    func handlerAdded(context: ChannelHandlerContext) {
        watch.opened(context.channel)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        watch.closed(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch.closed(context.channel)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { watch.closed(context.channel) }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Fires once, when a connection's client has gone; registered callbacks run then (or, refused,
/// not at all when it already fired).
final class CloseSignal: Sendable {
    private struct State {
        var fired = false
        var next = 0
        var callbacks: [Int: @Sendable () -> Void] = [:]
    }
    private let state = NIOLockedValueBox(State())

    /// Registers `callback`; nil when the signal already fired.
    func register(_ callback: @escaping @Sendable () -> Void) -> Int? {
        state.withLockedValue { state -> Int? in
            guard !state.fired else { return nil }
            state.next += 1
            state.callbacks[state.next] = callback
            return state.next
        }
    }

    func unregister(_ id: Int) {
        _ = state.withLockedValue { $0.callbacks.removeValue(forKey: id) }
    }

    func fire() {
        let callbacks = state.withLockedValue { state -> [@Sendable () -> Void] in
            state.fired = true
            defer { state.callbacks.removeAll() }
            return Array(state.callbacks.values)
        }
        for callback in callbacks { callback() }
    }
}
