import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A minimal HTTP/1.1 server on `127.0.0.1` with an OS-assigned port, for tests of HTTP clients.
///
/// Every connection is served on its own thread: the server reads one request (honouring
/// `Content-Length`, chunked bodies and `Expect: 100-continue`), asks the handler what to do, and
/// carries that out (answer after an optional delay, close halfway through the answer, or close
/// without answering). It always answers with `Connection: close`. Requests are captured in arrival
/// order, and the largest number of requests being handled at the same moment is recorded.
///
/// Call ``shutdown()`` at the end of every test (`defer { server.shutdown() }`): it stops accepting,
/// interrupts delays, closes every socket and waits for the threads to finish. Until then the
/// accepting thread keeps the server alive, so dropping the last reference does not stop it.
public final class LoopbackHTTPServer: @unchecked Sendable {
    // @unchecked Sendable: every mutable property is guarded by `lock`; sockets are owned by the
    // threads that opened them, and only shut down (never read) from other threads.

    /// One captured request.
    public struct Request: Sendable {
        /// 0-based arrival order.
        public let index: Int
        /// `GET`, `POST`, ...
        public let method: String
        /// The request target, e.g. `/v1/chat/completions`.
        public let path: String
        /// Header fields with lowercased names (the last value wins for repeated names).
        public let headers: [String: String]
        /// The body bytes (after chunked decoding).
        public let body: [UInt8]

        /// The value of header `name` (case-insensitive).
        public func header(_ name: String) -> String? { headers[name.lowercased()] }

        /// The body as UTF-8 text.
        public var bodyText: String { String(decoding: body, as: UTF8.self) }

        /// The body parsed as a JSON object, or `nil` when it is not one.
        public func jsonObject() -> [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        }
    }

    /// What the server does with one request.
    public enum Reply: Sendable {
        /// Answers with `status`, extra `headers` and `body`, after waiting `delay` seconds.
        case respond(status: Int, headers: [String: String] = [:], body: String, delay: Double = 0)
        /// Sends a status line and headers announcing a longer body, a few body bytes, then closes.
        case closeMidResponse(delay: Double = 0)
        /// Closes the connection without sending anything.
        case closeWithoutReply
    }

    /// Decides the reply to each request; called on the connection's thread.
    public typealias Handler = @Sendable (Request) -> Reply

    /// The port the server listens on.
    public let port: Int
    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private let handler: Handler
    private let listenSocket: Int32
    private let lock = NSLock()
    private let threads = DispatchGroup()
    private var stopping = false
    private var openSockets = Set<Int32>()
    private var captured: [Request] = []
    private var inFlight = 0
    private var peakInFlight = 0

    /// Starts listening on `127.0.0.1` with a port chosen by the operating system.
    /// - Throws: ``LoopbackHTTPServerError`` if the socket cannot be created, bound or listened on.
    public init(handler: @escaping Handler) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM_VALUE), 0)
        guard fd >= 0 else { throw LoopbackHTTPServerError.socket(call: "socket", errno: errno) }
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        do {
            try Self.bindLoopback(fd, port: 0)
            guard listen(fd, 64) == 0 else { throw LoopbackHTTPServerError.socket(call: "listen", errno: errno) }
            self.port = try Self.boundPort(fd)
        } catch {
            close(fd)
            throw error
        }
        self.listenSocket = fd
        threads.enter()
        let thread = Thread { [self] in
            acceptLoop()
            threads.leave()
        }
        thread.name = "loopback-http-accept"
        thread.start()
    }

    /// Every request received so far, in arrival order.
    public var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return captured
    }

    /// Number of requests received so far.
    public var requestCount: Int { requests.count }

    /// The largest number of requests that were being handled (read but not yet answered) at once.
    public var maxConcurrentRequests: Int {
        lock.lock()
        defer { lock.unlock() }
        return peakInFlight
    }

    /// Stops the server: no new connections, pending delays end, sockets close. Waits up to 10 s
    /// for the threads. Safe to call more than once.
    public func shutdown() {
        lock.lock()
        let first = !stopping
        stopping = true
        let sockets = openSockets
        lock.unlock()
        guard first else { return }
        shutdownSocket(listenSocket)
        for fd in sockets { shutdownSocket(fd) }
        _ = threads.wait(timeout: .now() + 10)
    }

    /// A port on 127.0.0.1 that nothing listens on (bound briefly, then released), for tests of
    /// "server down" behaviour.
    public static func unusedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM_VALUE), 0)
        guard fd >= 0 else { throw LoopbackHTTPServerError.socket(call: "socket", errno: errno) }
        defer { close(fd) }
        try bindLoopback(fd, port: 0)
        return try boundPort(fd)
    }

    // MARK: Accepting

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func acceptLoop() {
        defer { close(listenSocket) }
        while !isStopping {
            var descriptor = pollfd(fd: listenSocket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 50)
            if ready <= 0 { continue }
            let client = accept(listenSocket, nil, nil)
            if client < 0 { continue }
            lock.lock()
            if stopping {
                lock.unlock()
                close(client)
                break
            }
            openSockets.insert(client)
            threads.enter()
            lock.unlock()
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            _ = setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let thread = Thread { [self] in
                serve(client)
                lock.lock()
                openSockets.remove(client)
                lock.unlock()
                close(client)
                threads.leave()
            }
            thread.name = "loopback-http-connection"
            thread.start()
        }
    }

    // MARK: Serving one connection

    private func serve(_ fd: Int32) {
        var reader = SocketReader(fd: fd)
        guard let head = reader.readHead() else { return }
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let parts = lines.first?.split(separator: " ").map(String.init) ?? []
        guard parts.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        if headers["expect"]?.lowercased() == "100-continue" { send(fd, "HTTP/1.1 100 Continue\r\n\r\n") }
        let body: [UInt8]
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            guard let decoded = reader.readChunkedBody() else { return }
            body = decoded
        } else {
            let length = Int(headers["content-length"] ?? "0") ?? 0
            guard let bytes = reader.read(count: length) else { return }
            body = bytes
        }
        let request = begin(method: parts[0], path: parts[1], headers: headers, body: body)
        defer { end() }
        switch handler(request) {
        case .respond(let status, let extraHeaders, let text, let delay):
            guard wait(delay) else { return }
            let payload = Array(text.utf8)
            var response = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
            var fields = ["Content-Type": "application/json", "Connection": "close"]
            fields.merge(extraHeaders) { _, new in new }
            fields["Content-Length"] = String(payload.count)
            for (name, value) in fields.sorted(by: { $0.key < $1.key }) { response += "\(name): \(value)\r\n" }
            response += "\r\n"
            send(fd, Array(response.utf8) + payload)
        case .closeMidResponse(let delay):
            guard wait(delay) else { return }
            let partial = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"choi"
            send(fd, partial)
        case .closeWithoutReply:
            return
        }
    }

    private func begin(method: String, path: String, headers: [String: String], body: [UInt8]) -> Request {
        lock.lock()
        defer { lock.unlock() }
        let request = Request(index: captured.count, method: method, path: path, headers: headers, body: body)
        captured.append(request)
        inFlight += 1
        peakInFlight = max(peakInFlight, inFlight)
        return request
    }

    private func end() {
        lock.lock()
        inFlight -= 1
        lock.unlock()
    }

    /// Sleeps `seconds` in short steps; `false` if the server began stopping meanwhile.
    private func wait(_ seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if isStopping { return false }
            usleep(10_000)
        }
        return !isStopping
    }

    private func send(_ fd: Int32, _ text: String) { send(fd, Array(text.utf8)) }

    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { sendWithoutSignal(fd, $0) }
            if written <= 0 { return }
            offset += written
        }
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }

    // MARK: Socket helpers

    private static func bindLoopback(_ fd: Int32, port: UInt16) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw LoopbackHTTPServerError.socket(call: "bind", errno: errno) }
    }

    private static func boundPort(_ fd: Int32) throws -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { throw LoopbackHTTPServerError.socket(call: "getsockname", errno: errno) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

#if canImport(Glibc)
    private let SOCK_STREAM_VALUE = SOCK_STREAM.rawValue
    private let sendFlags = Int32(MSG_NOSIGNAL)
#else
    private let SOCK_STREAM_VALUE = SOCK_STREAM
    private let sendFlags: Int32 = 0
#endif

/// Shuts a socket down in both directions, waking any thread blocked on it.
private func shutdownSocket(_ fd: Int32) { _ = shutdown(fd, Int32(SHUT_RDWR)) }

/// `send` without raising SIGPIPE when the peer has gone (the test process must survive it).
private func sendWithoutSignal(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
    send(fd, bytes.baseAddress, bytes.count, sendFlags)
}

/// A socket call of ``LoopbackHTTPServer`` failed.
public enum LoopbackHTTPServerError: Error, CustomStringConvertible {
    /// `call` returned an error with this `errno`.
    case socket(call: String, errno: Int32)

    public var description: String {
        switch self {
        case .socket(let call, let code): "loopback server: \(call) failed: \(String(cString: strerror(code)))"
        }
    }
}

/// Buffered reads from a connected socket, with a bound on the header size.
private struct SocketReader {
    let fd: Int32
    var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// Reads more bytes into the buffer; `false` on end of stream, error or receive timeout.
    private mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffer += chunk[0..<count]
        return true
    }

    /// The request line and headers (without the blank line), or `nil` if the stream ended first.
    mutating func readHead() -> String? {
        let terminator: [UInt8] = [13, 10, 13, 10]
        while true {
            if let end = firstIndex(of: terminator) {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + terminator.count)
                return head
            }
            guard buffer.count < 65_536, fill() else { return nil }
        }
    }

    /// Exactly `count` bytes, or `nil` if the stream ended first.
    mutating func read(count: Int) -> [UInt8]? {
        while buffer.count < count { guard fill() else { return nil } }
        let bytes = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// One CRLF-terminated line, without the CRLF.
    mutating func readLine() -> String? {
        while true {
            if let end = firstIndex(of: [13, 10]) {
                let line = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 2)
                return line
            }
            guard buffer.count < 65_536, fill() else { return nil }
        }
    }

    /// A `Transfer-Encoding: chunked` body (trailers are skipped).
    mutating func readChunkedBody() -> [UInt8]? {
        var body: [UInt8] = []
        while true {
            guard let line = readLine() else { return nil }
            let sizeText = line.split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
            if size == 0 {
                while let trailer = readLine(), !trailer.isEmpty {}
                return body
            }
            guard let chunk = read(count: size), readLine() != nil else { return nil }
            body += chunk
        }
    }

    private func firstIndex(of pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for start in 0...(buffer.count - pattern.count) where buffer[start] == pattern[0] {
            if Array(buffer[start..<(start + pattern.count)]) == pattern { return start }
        }
        return nil
    }
}
