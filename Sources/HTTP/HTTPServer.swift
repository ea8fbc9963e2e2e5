#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Why `HTTPServer.start()` failed: the host did not parse, or socket/bind/listen failed.
public struct HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A sentence for people, e.g. `cannot listen on 127.0.0.1:8080: address already in use`.
    public var message: String
    /// The `errno` of the failing call, or 0 when no system call failed.
    public var code: Int32

    /// Creates an error with a message and, when a system call failed, its `errno`.
    public init(_ message: String, code: Int32 = 0) {
        self.message = message
        self.code = code
    }

    /// The message.
    public var description: String { message }
}

/// An HTTP/1.1 server (RFC 9112) over non-blocking POSIX sockets, driven by the process's `EventEngine` (epoll).
///
/// Connections cost memory, not threads: up to `maxConnections` are open at once (10,000 by default, and never more
/// than the descriptor limit allows). Each connection reads requests with `HTTPRequestParser`, calls `handler` for
/// each one, in order, on one of the engine's event threads, and writes its response:
/// - HTTP/1.1 connections stay open unless the request or the response says `Connection: close`; HTTP/1.0
///   connections close unless the request says `Connection: keep-alive` (RFC 9112 §9.3). Pipelined requests are
///   answered in order.
/// - A request the parser refuses is answered with `errorResponder(error)` and the connection is closed.
/// - The server sets `Content-Length` (not on 1xx/204/304), `Date` (unless the handler set one) and `Connection`;
///   a HEAD request gets the headers of the handler's response without its body.
/// - Deadlines: a connection with no request in progress closes after `idleTimeout`; a request head must arrive
///   whole within `headerTimeout` of its first byte and a body within `readTimeout` of the head's end (408
///   otherwise); a write that makes no progress for `writeTimeout` closes the connection.
/// - When every slot is taken, the connection that has been idle (or sending an incomplete head) the longest is
///   closed to make room, if it has been so for `minimumEvictionAge`; otherwise the new connection is answered
///   `503 Service Unavailable` with `Retry-After: 1` (over TLS when it speaks TLS) and closed.
/// - When `configuration.tls` is set, the first byte tells a TLS client (a handshake record starts with 0x16, no
///   HTTP method does) from a plain one, and both are served on the port.
///
/// `SIGPIPE` is set to ignored by `start()` (and sends use `MSG_NOSIGNAL`), so a vanished peer cannot kill the
/// process.
public final class HTTPServer: Sendable {
    /// The limits and address the server was created with.
    public let configuration: HTTPServerConfiguration
    let handler: @Sendable (HTTPRequest) -> HTTPResponse
    let errorResponder: @Sendable (HTTPRequestError) -> HTTPResponse
    /// Tells this server's connections apart in the engine's table.
    let id: Int
    private let state = Mutex(State())

    private enum Phase { case idle, running, stopping, stopped }

    private struct State {
        var phase = Phase.idle
        var listener: Listener?
        var port = 0
    }

    /// Set by a stop: requests that begin from now on are answered 503, and responses close their connection.
    let draining = Atomic<Bool>(false)
    /// Set at the end of a graceful stop's period: a request still arriving is answered 503, an idle connection gets
    /// `lastLookSeconds` more, then closes.
    let readsEnded = Atomic<Bool>(false)
    /// When `readsEnded` was set (CLOCK_MONOTONIC ns).
    let readsEndedAt = Atomic<Int>(0)
    /// Set by a stop without grace (or at its very end): connections close without delivering what is pending.
    let aborted = Atomic<Bool>(false)
    /// The bound port, for requests' `localPort`.
    let boundPort = Atomic<Int>(0)
    /// Open connections (not counting those being refused).
    private let openCount = Atomic<Int>(0)
    /// Connections past the limit being answered 503.
    private let rejectingCount = Atomic<Int>(0)
    /// The oldest idle connections found by the last scan, newest first (entries go stale when the connection gets
    /// busy or closes).
    private let evictionCandidates = Mutex<[(fd: Int32, since: Int)]>([])

    private static let nextID = Atomic<Int>(1)

    /// How long a closing connection keeps discarding input after its last response (lingering close).
    static let lingerSeconds = 1.0
    static let maxDrainBytes = 1024 * 1024
    /// How long an idle connection (or one sending its head) must have been so before it may be evicted: a client
    /// that was just answered and is about to reuse its connection keeps it.
    public static let minimumEvictionAge = 1.0
    /// At most this many connections past the limit are being answered 503 at once; more are closed at once.
    static let maxRejecting = 64
    /// How long a connection past the limit may take to show whether it speaks TLS before it gets a plain-text 503.
    static let rejectFirstByteSeconds = 0.5
    /// How long a connection that has sent nothing is watched once more at the end of a stop before it closes: a
    /// request already on its way is answered (503) instead of meeting a closed socket.
    static let lastLookSeconds = 0.1
    /// How long idle keep-alive connections may still send a request (answered 503) after a graceful stop began.
    static let idleDrainSeconds = 1.0
    /// How long connections accepted at the very end may take to send their request before they close.
    static let lastArrivalSeconds = 0.3

    /// Creates a server; nothing happens until `start()`.
    /// - Parameters:
    ///   - configuration: address, limits and timeouts.
    ///   - handler: answers one parsed request; called on an event thread, for several connections at once. It may
    ///     block (it holds its thread meanwhile).
    ///   - errorResponder: answers a request the parser refused (400, 413, 431, 501, 505), a deadline (408), a stop
    ///     (503) or a full server (503); the connection is closed after it.
    public init(
        configuration: HTTPServerConfiguration,
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse,
        errorResponder: @escaping @Sendable (HTTPRequestError) -> HTTPResponse
    ) {
        self.configuration = configuration
        self.handler = handler
        self.errorResponder = errorResponder
        id = Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// The bound TCP port (the kernel's choice when `configuration.port` is 0); 0 before `start()`.
    public var port: Int { state.withLock { $0.port } }

    /// The process's descriptor limit once raised to its hard limit (done when the first server starts; at most
    /// 1,048,576), or nil when the event engine could not start.
    public static var descriptorLimit: Int? { EventEngine.shared?.descriptorLimit }

    /// Connections served at once: `configuration.maxConnections`, lowered to leave 64 descriptors of the process's
    /// limit for files and other sockets.
    public var maxConnections: Int {
        max(1, min(configuration.maxConnections, (EventEngine.shared?.descriptorLimit ?? 1024) - 64))
    }

    /// Binds `configuration.host:configuration.port` (with `SO_REUSEADDR`), listens, and registers the listener with
    /// the event engine (started, and the descriptor limit raised, on first use). Returns once connections are being
    /// accepted. A stopped server can be started again.
    /// - Throws: `HTTPServerError` when the host is not an IPv4/IPv6 literal or `localhost`, the port is out of
    ///   range, the server is already running, the event engine cannot start, or socket/bind/listen fail (e.g.
    ///   "address already in use").
    public func start() throws {
        try state.withLock { (s: inout State) throws(HTTPServerError) -> Void in
            guard s.phase == .idle || s.phase == .stopped else {
                throw HTTPServerError("the HTTP server is already running")
            }
            guard let engine = EventEngine.shared else { throw HTTPServerError("cannot start the event threads (epoll)") }
            _ = signal(SIGPIPE, SIG_IGN)
            let (listenFD, port) = try Self.makeListener(host: configuration.host, port: configuration.port)
            draining.store(false, ordering: .sequentiallyConsistent)
            readsEnded.store(false, ordering: .sequentiallyConsistent)
            aborted.store(false, ordering: .sequentiallyConsistent)
            boundPort.store(port, ordering: .sequentiallyConsistent)
            evictionCandidates.withLock { $0 = [] }
            // Running before the listener is armed: its first connection may be accepted at once.
            s = State(phase: .running, listener: nil, port: port)
            guard let listener = engine.addListener(fd: listenFD, server: self) else {
                let e = errno
                _ = closeDescriptor(listenFD)
                s.phase = .stopped
                throw HTTPServerError("cannot watch the listener on port \(port): \(Self.errorText(e))", code: e)
            }
            s.listener = listener
        }
    }

    /// Stops accepting, closes the listener, ends every open connection, and returns once they are all closed.
    /// Idempotent and callable from any thread, a handler included (the calling connection is not waited for).
    ///
    /// With a `gracePeriod` (seconds), every request that reaches the server is answered: requests already being
    /// handled finish and their responses are delivered (with `Connection: close`); a request that begins after the
    /// stop did, on a new connection or an idle keep-alive one, is answered `503` with `Retry-After` and
    /// `Connection: close` (the listener stays open meanwhile, and what is queued on it when it closes is accepted
    /// and answered too); idle connections get `idleDrainSeconds` to send one before they close; a request still
    /// incomplete when the period ends is answered `503` rather than dropped. Without a grace period, a handler
    /// already running finishes but its response is not delivered.
    public func stop(gracePeriod: Double = 0) {
        let me = EventEngine.currentConnection.flatMap { $0.belongs(to: id) ? $0 : nil }
        enum Claim { case stop(Listener?), wait, nothing }
        let claim = state.withLock { s -> Claim in
            switch s.phase {
            case .running:
                s.phase = .stopping
                return .stop(s.listener)
            case .stopping:
                return me != nil ? .nothing : .wait
            case .idle, .stopped:
                return .nothing
            }
        }
        switch claim {
        case .nothing:
            return
        case .wait:
            while state.withLock({ $0.phase == .stopping }) { usleep(1000) }
            return
        case .stop(let listener):
            guard let engine = EventEngine.shared else { return }
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Connection.readChunkBytes, alignment: 16)
            defer { scratch.deallocate() }
            let graceful = gracePeriod > 0
            let started = monotonicNanos()
            let deadline = started + nanos(min(max(gracePeriod, 0), 3600))
            // From here on, a request that begins is answered 503 and every response closes its connection.
            draining.store(true, ordering: .sequentiallyConsistent)
            if graceful {
                // Requests in progress finish; idle keep-alive connections have a moment to send one more (503).
                while monotonicNanos() < deadline {
                    let (busy, idle) = connectionCounts(except: me, engine: engine)
                    if busy == 0 && (idle == 0 || monotonicNanos() - started >= nanos(Self.idleDrainSeconds)) { break }
                    usleep(2000)
                }
            }
            // Stop accepting: what is queued on the listener is accepted first (when graceful), then it closes.
            if let listener { engine.closeListener(listener, acceptQueued: graceful) }
            state.withLock { $0.listener = nil }
            if graceful {
                // The last connections answer: those just accepted get a moment to send their request (even past
                // the grace period), those in a request until the period ends.
                let quiet = monotonicNanos() + nanos(Self.lastArrivalSeconds)
                while true {
                    let now = monotonicNanos(), (busy, idle) = connectionCounts(except: me, engine: engine)
                    if busy == 0 && (idle == 0 || now >= quiet) || busy > 0 && now >= max(deadline, quiet) { break }
                    usleep(2000)
                }
                // Past the grace period a request still arriving is answered 503; a connection that sent nothing
                // gets a last look, then closes. Connections that answered close once the peer has read the answer
                // (lingering close); only one still open after that is cut.
                readsEndedAt.store(monotonicNanos(), ordering: .sequentiallyConsistent)
                readsEnded.store(true, ordering: .sequentiallyConsistent)
                engine.kick(serverID: id, skip: me, scratch: scratch)
                let last = monotonicNanos() + nanos(Self.lingerSeconds + Self.lastLookSeconds + 0.5)
                while monotonicNanos() < last, openConnections(except: me) > 0 { usleep(2000) }
            }
            aborted.store(true, ordering: .sequentiallyConsistent)
            var rounds = 0
            while openConnections(except: me) > 0 {
                // Armed connections are closed here; one whose handler is running closes when it returns.
                if rounds % 50 == 0 { engine.kick(serverID: id, skip: me, scratch: scratch) }
                rounds += 1
                usleep(1000)
            }
            state.withLock { $0.phase = .stopped }
        }
    }

    /// Connections open now, those being refused included.
    var openConnectionCount: Int {
        openCount.load(ordering: .sequentiallyConsistent) + rejectingCount.load(ordering: .sequentiallyConsistent)
    }

    private func openConnections(except me: Connection?) -> Int {
        openCount.load(ordering: .sequentiallyConsistent) + rejectingCount.load(ordering: .sequentiallyConsistent) - (me == nil ? 0 : 1)
    }

    /// This server's connections other than `me` that are in a request, and those that are not.
    private func connectionCounts(except me: Connection?, engine: EventEngine) -> (busy: Int, idle: Int) {
        var busy = 0, idle = 0
        engine.forEachConnection { connection in
            guard connection !== me, connection.belongs(to: id) else { return }
            if connection.busy.load(ordering: .sequentiallyConsistent) { busy += 1 } else { idle += 1 }
        }
        return (busy, idle)
    }

    // MARK: - Admission

    /// Answers a connection accepted on the engine's spare descriptor, when the process had none left: 503 with
    /// `Retry-After: 1` in plain text, what the socket takes at once, then close.
    func answerOutOfDescriptors(fd: Int32) {
        var response = errorResponder(.tooManyConnections)
        response.headers.set("Retry-After", "1")
        let bytes = HTTPResponseEncoding.encode(response, headOnly: false, connection: "close")
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
        _ = shutdown(fd, Int32(SHUT_WR))
        _ = closeDescriptor(fd)
    }

    /// Takes a connection the engine accepted: served, served after evicting the longest-idle one, answered 503
    /// (past the limit with nothing to evict), or closed (the server is not running, or too many are refused).
    func admit(fd: Int32, remote: String) {
        guard let engine = EventEngine.shared, state.withLock({ $0.phase == .running || $0.phase == .stopping }) else {
            _ = closeDescriptor(fd)
            return
        }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var rejecting = false
        if openCount.load(ordering: .sequentiallyConsistent) >= maxConnections && !evictOldest(engine: engine) {
            guard rejectingCount.load(ordering: .sequentiallyConsistent) < Self.maxRejecting else {
                _ = closeDescriptor(fd)
                return
            }
            rejecting = true
        }
        if rejecting {
            rejectingCount.wrappingAdd(1, ordering: .sequentiallyConsistent)
        } else {
            openCount.wrappingAdd(1, ordering: .sequentiallyConsistent)
        }
        engine.register(fd: fd, server: self, remote: remote, rejecting: rejecting)
    }

    /// Called once per connection when it closes.
    func connectionClosed(rejecting: Bool) {
        if rejecting {
            rejectingCount.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        } else {
            openCount.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Closes this server's connection that has been idle (or sending an incomplete head) the longest, if it has
    /// been so for `minimumEvictionAge`. False when there is none.
    ///
    /// Requests pay nothing for this (a connection only stores when it became idle, in an atomic): the oldest
    /// candidates are found by a scan of the connections when the server is full, and the 64 oldest kept for the
    /// next evictions.
    func evictOldest(engine: EventEngine) -> Bool {
        let now = monotonicNanos()
        let oldEnough = now - nanos(Self.minimumEvictionAge)
        for _ in 0..<16 {
            let candidate = evictionCandidates.withLock { cached -> (fd: Int32, since: Int)? in
                for pass in 0..<2 {
                    while let entry = cached.popLast() {
                        if engine.connection(entry.fd)?.evictableSince.load(ordering: .sequentiallyConsistent) == entry.since { return entry }
                    }
                    guard pass == 0 else { break }
                    var found: [(fd: Int32, since: Int)] = []
                    engine.forEachConnection { connection in
                        let since = connection.evictableSince.load(ordering: .sequentiallyConsistent)
                        if since > 0 && since <= oldEnough && connection.belongs(to: id) { found.append((connection.fd, since)) }
                    }
                    // Newest first, so that popLast takes the oldest.
                    cached = Array(found.sorted { $0.since < $1.since }.prefix(64).reversed())
                }
                return nil
            }
            guard let candidate else { return false }
            if let connection = engine.connection(candidate.fd), connection.claimForEviction(serverID: id, since: candidate.since) {
                connection.evict()
                return true
            }
        }
        return false
    }

    // MARK: - Listening

    private static func makeListener(host: String, port: Int) throws(HTTPServerError) -> (Int32, Int) {
        guard (0...65535).contains(port) else { throw HTTPServerError("invalid port \(port): expected 0...65535") }
        var name = host
        if name.hasPrefix("[") && name.hasSuffix("]") && name.count >= 2 { name = String(name.dropFirst().dropLast()) }
        if name.caseInsensitiveEquals("localhost") { name = "127.0.0.1" }
        let shown = name.contains(":") ? "[\(name)]:\(port)" : "\(name):\(port)"

        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: Int32
        if inet_pton(AF_INET, name, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port)).bigEndian
        } else if inet_pton(AF_INET6, name, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port)).bigEndian
        } else {
            throw HTTPServerError("invalid host '\(host)': expected an IPv4 or IPv6 literal or localhost")
        }

        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            let e = errno
            throw HTTPServerError("cannot create a socket for \(shown): \(errorText(e))", code: e)
        }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = family == AF_INET
            ? withSocketAddress(&v4) { bind(fd, $0, $1) }
            : withSocketAddress(&v6) { bind(fd, $0, $1) }
        guard bound == 0 else {
            let e = errno
            _ = closeDescriptor(fd)
            throw HTTPServerError("cannot listen on \(shown): \(errorText(e))", code: e)
        }
        guard listen(fd, SOMAXCONN) == 0 else {
            let e = errno
            _ = closeDescriptor(fd)
            throw HTTPServerError("cannot listen on \(shown): \(errorText(e))", code: e)
        }
        // Non-blocking: the event threads accept until the queue is empty.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            let e = errno
            _ = closeDescriptor(fd)
            throw HTTPServerError("cannot read the bound port of \(shown): \(errorText(e))", code: e)
        }
        return (fd, socketAddressText(storage).port)
    }

    static func errorText(_ code: Int32) -> String {
        switch code {
        case EADDRINUSE: "address already in use"
        case EACCES: "permission denied"
        case EADDRNOTAVAIL: "address not available on this machine"
        default: String(cString: strerror(code))
        }
    }

    /// Whether the connection stays open after answering `request` with `response` (RFC 9112 §9.3).
    static func keepsAlive(request: HTTPRequest, response: HTTPResponse) -> Bool {
        let asked = connectionOptions(request.headers)
        if connectionOptions(response.headers).contains("close") || asked.contains("close") { return false }
        return request.version == .http1_1 || asked.contains("keep-alive")
    }

    /// The lower-cased tokens of every `Connection` field (RFC 9110 §7.6.1).
    static func connectionOptions(_ headers: HTTPHeaders) -> Set<String> {
        var options = Set<String>()
        for value in headers.values("Connection") {
            for token in value.split(separator: ",") {
                let trimmed = token.trimmingOWS()
                if !trimmed.isEmpty { options.insert(trimmed.lowercased()) }
            }
        }
        return options
    }
}

extension Substring {
    fileprivate func trimmingOWS() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}

