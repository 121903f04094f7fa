import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// HTTP/1.1 on SwiftNIO for a ``ServerApplication``: keep-alive, bodies up to the configured
/// limit (413 beyond), server-sent events for streams, a client that disconnects cancels its rows,
/// and a graceful ``shutdown()`` (stop accepting, close idle connections, let in-flight requests
/// finish for ``ServerConfiguration/drainSeconds``, then cancel what is left).
public final class HTTPServer: Sendable {
    public let application: ServerApplication
    private let state = NIOLockedValueBox(State())

    private struct State {
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: Connection] = [:]
        var shuttingDown = false
        var requestCounter = 0
    }

    /// A connection's channel and whether it is answering a request.
    private final class Connection: Sendable {
        let channel: any Channel
        let busy = NIOLockedValueBox(false)
        init(channel: any Channel) { self.channel = channel }
    }

    public init(application: ServerApplication) {
        self.application = application
    }

    /// Binds, calls `onListening` with the bound port, and serves until ``shutdown()``.
    /// - Throws: When binding fails (address in use, bad host).
    public func run(onListening: @Sendable (Int) -> Void) async throws {
        let configuration = application.configuration
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let alreadyStopping = state.withLockedValue { state -> Bool in
            state.serverChannel = server.channel
            return state.shuttingDown
        }
        if alreadyStopping { server.channel.close(promise: nil) }
        onListening(server.channel.localAddress?.port ?? configuration.port)
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
        // Every connection is closed; let the scheduler's thread end.
        application.scheduler.stop()
    }

    /// Stops accepting connections, closes idle ones, and cancels whatever is still generating after
    /// the drain period. ``run(onListening:)`` returns once every connection is closed.
    public func shutdown() {
        let (server, idle) = state.withLockedValue { state -> ((any Channel)?, [any Channel]) in
            state.shuttingDown = true
            return (
                state.serverChannel, state.connections.values.filter { !$0.busy.withLockedValue { $0 } }.map(\.channel)
            )
        }
        server?.close(promise: nil)
        for channel in idle { channel.close(promise: nil) }
        let scheduler = application.scheduler
        let drain = application.configuration.drainSeconds
        DispatchQueue.global().asyncAfter(deadline: .now() + drain) { scheduler.cancelAll() }
    }

    private var isShuttingDown: Bool { state.withLockedValue { $0.shuttingDown } }

    /// One request read off a connection.
    private struct Incoming: Sendable {
        var head: HTTPRequestHead
        var body: [UInt8]
        var tooLarge: Bool
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        let entry = Connection(channel: connection.channel)
        let id = ObjectIdentifier(entry)
        let refused = state.withLockedValue { state -> Bool in
            if state.shuttingDown { return true }
            state.connections[id] = entry
            return false
        }
        if refused {
            try? await connection.channel.close()
            return
        }
        defer { _ = state.withLockedValue { $0.connections.removeValue(forKey: id) } }
        let limit = application.configuration.maxBodyBytes
        try? await connection.executeThenClose { inbound, outbound in
            let (requests, requestsContinuation) = AsyncStream<Incoming>.makeStream()
            let closed = CloseSignal()
            // Reads requests; when the client goes away, the current reply is cancelled.
            let reader = Task {
                var head: HTTPRequestHead?
                var body: [UInt8] = []
                var tooLarge = false
                do {
                    for try await part in inbound {
                        switch part {
                        case .head(let h):
                            head = h
                            body = []
                            tooLarge = false
                        case .body(let buffer):
                            if body.count + buffer.readableBytes > limit {
                                tooLarge = true
                                body = []
                            } else if !tooLarge {
                                body += buffer.readableBytesView
                            }
                        case .end:
                            if let head {
                                requestsContinuation.yield(Incoming(head: head, body: body, tooLarge: tooLarge))
                            }
                            head = nil
                            body = []
                        }
                    }
                } catch {}
                closed.fire()
                requestsContinuation.finish()
            }
            defer { reader.cancel() }
            for await request in requests {
                entry.busy.withLockedValue { $0 = true }
                let keepAlive = request.head.isKeepAlive && !request.tooLarge && !self.isShuttingDown
                let finished = await self.respond(request, outbound: outbound, keepAlive: keepAlive, closed: closed)
                entry.busy.withLockedValue { $0 = false }
                if !finished || !keepAlive || self.isShuttingDown { break }
            }
        }
    }

    /// Answers one request; false when the client went away.
    private func respond(
        _ incoming: Incoming, outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, keepAlive: Bool,
        closed: CloseSignal
    ) async -> Bool {
        let start = DispatchTime.now()
        let number = state.withLockedValue { state -> Int in
            state.requestCounter += 1
            return state.requestCounter
        }
        let path = String(incoming.head.uri.split(separator: "?", maxSplits: 1).first ?? "")
        let request = ServerRequest(
            method: incoming.head.method.rawValue, path: path,
            authorization: incoming.head.headers.first(name: "authorization"), body: incoming.body,
            bodyTooLarge: incoming.tooLarge)
        let logEnabled = application.configuration.logRequests
        let method = request.method
        let log: @Sendable (ServerApplication.LogRecord) -> Void = { record in
            guard logEnabled else { return }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
            var line = "[serve] #\(number) \(method) \(path) \(record.status) \(String(format: "%.0f", ms)) ms"
            if record.choices > 0 {
                line += " prompt_tokens=\(record.promptTokens) completion_tokens=\(record.completionTokens)"
                line += " choices=\(record.choices) steering=\(record.steeringTerms) stream=\(record.stream)"
                if !record.finish.isEmpty { line += " finish=\(record.finish)" }
            }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        let application = self.application
        let handling = Task { await application.handle(request, log: log) }
        // A client that goes away cancels the generation (its rows leave the batch).
        guard let registration = closed.register({ handling.cancel() }) else {
            handling.cancel()
            return false
        }
        let reply = await handling.value
        closed.unregister(registration)
        var headers = HTTPHeaders()
        headers.add(name: "Server", value: "steer")
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        do {
            switch reply {
            case .json(let status, let body):
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: "\(body.count)")
                try await outbound.write(
                    .head(
                        HTTPResponseHead(
                            version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)))
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                try await outbound.write(.end(nil))
            case .events(let events):
                headers.add(name: "Content-Type", value: "text/event-stream")
                headers.add(name: "Cache-Control", value: "no-cache")
                headers.add(name: "Transfer-Encoding", value: "chunked")
                try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
                // The client closing its side stops the stream (and, through it, its rows).
                let writing = Task {
                    for await event in events {
                        try Task.checkCancellation()
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(string: "data: \(event)\n\n"))))
                    }
                    try Task.checkCancellation()
                    try await outbound.write(.end(nil))
                }
                guard let registration = closed.register({ writing.cancel() }) else {
                    writing.cancel()
                    return false
                }
                defer { closed.unregister(registration) }
                try await writing.value
            }
            return true
        } catch {
            return false
        }
    }
}

/// Fires once, when a connection's client has gone; registered callbacks run then (or at once,
/// refused, when it already fired).
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
