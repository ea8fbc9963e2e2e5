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

/// A small threaded HTTP/1.1 server (RFC 9112) over POSIX sockets.
///
/// One accept thread hands each connection to a thread of its own, up to `maxConnections` at a time; a connection
/// past that is answered `503 Service Unavailable` and closed. A connection reads requests with
/// `HTTPRequestParser`, calls `handler` for each one, in order, and writes its response:
/// - HTTP/1.1 connections stay open unless the request or the response says `Connection: close`; HTTP/1.0
///   connections close unless the request says `Connection: keep-alive` (RFC 9112 §9.3).
/// - A request the parser refuses is answered with `errorResponder(error)` and the connection is closed.
/// - The server sets `Content-Length` (not on 1xx/204/304), `Date` (unless the handler set one) and `Connection`;
///   a HEAD request gets the headers of the handler's response without its body.
/// - A read that times out, or a peer that goes away, closes the connection without a response.
///
/// `SIGPIPE` is set to ignored by `start()` (and sends use `MSG_NOSIGNAL`), so a vanished peer cannot kill the
/// process.
public final class HTTPServer: Sendable {
    /// The limits and address the server was created with.
    public let configuration: HTTPServerConfiguration
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private let errorResponder: @Sendable (HTTPRequestError) -> HTTPResponse
    private let state = Mutex(State())

    private enum Phase { case idle, running, stopping, stopped }

    private struct Connection {
        let stream: any ByteStream
        /// Set by the connection's thread when it starts.
        var thread: pthread_t?
        /// Per-request flags the connection's thread sets without taking the server's lock.
        let control: ConnectionControl
    }

    private struct State {
        var phase = Phase.idle
        var listenFD: Int32 = -1
        var wakeRead: Int32 = -1
        var wakeWrite: Int32 = -1
        var acceptThread: pthread_t?
        /// A pipe whose read end every connection's reads also poll: writing to it ends the reads still waiting
        /// when a graceful stop's period is over (the connections stay intact, so they can still answer).
        var readersWake: [Int32] = [-1, -1]
        var port = 0
        var connections: [Int: Connection] = [:]
        var nextConnectionID = 0
    }

    /// Flags of one connection, read by `stop` and written by the connection's thread, lock-free (a lock taken on
    /// every request was the main cost under load).
    private final class ConnectionControl: Sendable {
        /// True from the first byte of a request until its response is written.
        let busy = Atomic<Bool>(false)
    }

    /// Set by a graceful stop: connections finish the request in hand, then close.
    private let draining = Atomic<Bool>(false)

    /// How long a closing connection keeps discarding input after its last response (see `ByteStream.finish`).
    static let lingerSeconds = 1.0
    static let maxDrainBytes = 1024 * 1024
    private static let readChunkBytes = 32 * 1024

    /// Creates a server; nothing happens until `start()`.
    /// - Parameters:
    ///   - configuration: address, limits and timeouts.
    ///   - handler: answers one parsed request; called on the connection's thread, for several connections at once.
    ///   - errorResponder: answers a request the parser refused (400, 413, 431, 501, 505); the connection is closed
    ///     after it.
    public init(
        configuration: HTTPServerConfiguration,
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse,
        errorResponder: @escaping @Sendable (HTTPRequestError) -> HTTPResponse
    ) {
        self.configuration = configuration
        self.handler = handler
        self.errorResponder = errorResponder
    }

    /// The bound TCP port (the kernel's choice when `configuration.port` is 0); 0 before `start()`.
    public var port: Int { state.withLock { $0.port } }

    /// Binds `configuration.host:configuration.port` (with `SO_REUSEADDR`), listens, and starts the accept thread.
    /// Returns once connections are being accepted. A stopped server can be started again.
    /// - Throws: `HTTPServerError` when the host is not an IPv4/IPv6 literal or `localhost`, the port is out of
    ///   range, the server is already running, or socket/bind/listen fail (e.g. "address already in use").
    public func start() throws {
        try state.withLock { (s: inout State) throws(HTTPServerError) -> Void in
            guard s.phase == .idle || s.phase == .stopped else {
                throw HTTPServerError("the HTTP server is already running")
            }
            _ = signal(SIGPIPE, SIG_IGN)
            let (listenFD, port) = try Self.makeListener(host: configuration.host, port: configuration.port)
            var pipeFDs: [Int32] = [-1, -1]
            guard pipe(&pipeFDs) == 0 else {
                let e = errno
                _ = closeFD(listenFD)
                throw HTTPServerError("cannot create the wake-up pipe: \(Self.errorText(e))", code: e)
            }
            for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            let wakeRead = pipeFDs[0]
            let accept = spawnThread(detached: false) { [self] in acceptLoop(listenFD: listenFD, wakeFD: wakeRead) }
            guard let thread = accept else {
                _ = closeFD(listenFD)
                pipeFDs.forEach { _ = closeFD($0) }
                throw HTTPServerError("cannot start the accept thread")
            }
            var readersWake: [Int32] = [-1, -1]
            if pipe(&readersWake) == 0 { for fd in readersWake { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) } } else { readersWake = [-1, -1] }
            s = State(
                phase: .running, listenFD: listenFD, wakeRead: pipeFDs[0], wakeWrite: pipeFDs[1],
                acceptThread: thread, readersWake: readersWake, port: port, connections: [:], nextConnectionID: s.nextConnectionID)
            draining.store(false, ordering: .sequentiallyConsistent)
        }
    }

    /// Stops accepting, closes the listener, ends every open connection, and waits for the accept thread and the
    /// connection threads to exit. Idempotent and callable from any thread, a handler included (the calling
    /// connection is not waited for).
    ///
    /// With a `gracePeriod` (seconds), every request that reaches the server is answered: requests already being
    /// handled finish and their responses are delivered (with `Connection: close`); a request that begins after the
    /// stop did, on a new connection or an idle keep-alive one, is answered `503` with `Retry-After` and
    /// `Connection: close` (the listener stays open meanwhile, and what is queued on it when it closes is accepted
    /// and answered too); idle connections get `idleDrainSeconds` to send one before they close; a request still
    /// incomplete when the period ends is answered `503` rather than dropped. Without a grace period, a handler
    /// already running finishes but its response is not delivered.
    public func stop(gracePeriod: Double = 0) {
        let me = pthread_self()
        enum Claim { case stop(accept: pthread_t?, wake: Int32), wait, nothing }
        let claim = state.withLock { s -> Claim in
            switch s.phase {
            case .running:
                s.phase = .stopping
                return .stop(accept: s.acceptThread, wake: s.wakeWrite)
            case .stopping:
                return s.connections.values.contains { $0.thread == me } ? .nothing : .wait
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
        case .stop(let accept, let wake):
            let graceful = gracePeriod > 0
            let started = SocketStream.monotonicNanos()
            let deadline = started + Int(min(max(gracePeriod, 0), 3600) * 1e9)
            // From here on, a request that begins is answered 503 and every response closes its connection.
            draining.store(true, ordering: .sequentiallyConsistent)
            if graceful {
                // Requests in progress finish; idle keep-alive connections have a moment to send one more (503).
                while SocketStream.monotonicNanos() < deadline {
                    let (busy, idle) = connectionCounts(except: me)
                    if busy == 0 && (idle == 0 || SocketStream.monotonicNanos() - started >= Int(Self.idleDrainSeconds * 1e9)) { break }
                    usleep(2000)
                }
            }
            // Stop accepting: the accept thread takes what is queued on the listener first (when graceful), then ends.
            var byte: UInt8 = 1
            _ = write(wake, &byte, 1)
            if let accept { _ = pthread_join(accept, nil) }
            state.withLock { s in
                for fd in [s.listenFD, s.wakeRead, s.wakeWrite] where fd >= 0 { _ = closeFD(fd) }
                s.listenFD = -1
                s.wakeRead = -1
                s.wakeWrite = -1
                s.acceptThread = nil
                if !graceful { for connection in s.connections.values { connection.stream.interrupt() } }
            }
            if graceful {
                // The last connections answer: those just accepted get a moment to send their request (even past
                // the grace period), those in a request until the period ends.
                let quiet = SocketStream.monotonicNanos() + Int(Self.lastArrivalSeconds * 1e9)
                while true {
                    let now = SocketStream.monotonicNanos(), (busy, idle) = connectionCounts(except: me)
                    if busy == 0 && (idle == 0 || now >= quiet) || busy > 0 && now >= max(deadline, quiet) { break }
                    usleep(2000)
                }
                // Past the grace period every waiting read ends: a request still arriving is answered 503 (the
                // connection, TLS included, is intact); a connection that sent nothing closes.
                let wake = state.withLock { $0.readersWake[1] }
                if wake >= 0 {
                    var one: UInt8 = 1
                    _ = write(wake, &one, 1)
                } else {
                    state.withLock { s in for connection in s.connections.values where connection.thread != me { connection.stream.interrupt() } }
                }
                // Connections that answered close on their own once the peer has read the answer (lingering close);
                // only one still open after that is cut.
                let last = SocketStream.monotonicNanos() + Int((Self.lingerSeconds + 0.5) * 1e9)
                while SocketStream.monotonicNanos() < last, state.withLock({ s in s.connections.values.contains { $0.thread != me } }) {
                    usleep(2000)
                }
                state.withLock { s in for connection in s.connections.values { connection.stream.interrupt() } }
            }
            while state.withLock({ s in s.connections.values.contains { $0.thread != me } }) { usleep(1000) }
            state.withLock { s in
                for fd in s.readersWake where fd >= 0 { _ = closeFD(fd) }
                s.readersWake = [-1, -1]
                s.phase = .stopped
            }
        }
    }

    /// How long a connection that has sent nothing is watched once more, when the end of a stop wakes it, before
    /// it closes: a request already on its way is answered (503) instead of meeting a closed socket.
    static let lastLookMilliseconds: Int32 = 100
    /// How long idle keep-alive connections may still send a request (answered 503) after a graceful stop began.
    static let idleDrainSeconds = 1.0
    /// How long connections accepted at the very end may take to send their request before they close.
    static let lastArrivalSeconds = 0.3

    /// The connections other than the caller's own that are in a request, and those that are not.
    private func connectionCounts(except me: pthread_t) -> (busy: Int, idle: Int) {
        state.withLock { s in
            var busy = 0, idle = 0
            for connection in s.connections.values where connection.thread != me {
                if connection.control.busy.load(ordering: .sequentiallyConsistent) { busy += 1 } else { idle += 1 }
            }
            return (busy, idle)
        }
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
            _ = closeFD(fd)
            throw HTTPServerError("cannot listen on \(shown): \(errorText(e))", code: e)
        }
        guard listen(fd, SOMAXCONN) == 0 else {
            let e = errno
            _ = closeFD(fd)
            throw HTTPServerError("cannot listen on \(shown): \(errorText(e))", code: e)
        }
        // Non-blocking so that a connection reset between poll() and accept() cannot block the accept thread.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            let e = errno
            _ = closeFD(fd)
            throw HTTPServerError("cannot read the bound port of \(shown): \(errorText(e))", code: e)
        }
        return (fd, Self.address(of: storage).port)
    }

    private static func errorText(_ code: Int32) -> String {
        switch code {
        case EADDRINUSE: "address already in use"
        case EACCES: "permission denied"
        case EADDRNOTAVAIL: "address not available on this machine"
        default: String(cString: strerror(code))
        }
    }

    /// The text form and port of a socket address.
    private static func address(of storage: sockaddr_storage) -> (text: String, port: Int) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    return (text(AF_INET, &addr), Int(UInt16(bigEndian: sin.pointee.sin_port)))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var addr = sin6.pointee.sin6_addr
                    return (text(AF_INET6, &addr), Int(UInt16(bigEndian: sin6.pointee.sin6_port)))
                }
            }
        default:
            return ("", 0)
        }
    }

    /// `inet_ntop` as a String ("" on failure).
    private static func text(_ family: Int32, _ address: UnsafeRawPointer) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        guard inet_ntop(family, address, &buffer, socklen_t(buffer.count)) != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Accepting

    private func acceptLoop(listenFD: Int32, wakeFD: Int32) {
        while true {
            var fds = [
                pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno != EINTR { usleep(10_000) }
                continue
            }
            if fds[1].revents != 0 {
                if draining.load(ordering: .sequentiallyConsistent) { acceptQueued(listenFD: listenFD) }
                return
            }
            if fds[0].revents & Int16(POLLNVAL) != 0 { return }
            if fds[0].revents & Int16(POLLIN) == 0 {
                usleep(1000)
                continue
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listenFD, $0, &length)
                }
            }
            if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            if fd < 0 {
                let e = errno
                if e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM { usleep(10_000) }
                continue
            }
            admit(fd: fd, remote: Self.address(of: storage).text)
        }
    }

    /// Accepts every connection still queued on the (non-blocking) listener, so none is reset when it closes; they
    /// are served in drain mode (a request on them is answered 503).
    private func acceptQueued(listenFD: Int32) {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listenFD, $0, &length) }
            }
            guard fd >= 0 else {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            admit(fd: fd, remote: Self.address(of: storage).text)
        }
    }

    private func admit(fd: Int32, remote: String) {
        setTimeout(fd, SO_RCVTIMEO, configuration.readTimeout)
        setTimeout(fd, SO_SNDTIMEO, configuration.writeTimeout)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let stream = SocketStream(fd: fd, wake: state.withLock { $0.readersWake[0] })

        enum Decision { case serve(Int, ConnectionControl), reject, drop }
        let limit = max(1, configuration.maxConnections)
        let decision = state.withLock { s -> Decision in
            // While a graceful stop drains, new connections are still served (their requests are answered 503).
            guard s.phase == .running || s.phase == .stopping && s.listenFD >= 0 && draining.load(ordering: .sequentiallyConsistent) else { return .drop }
            guard s.connections.count < limit else { return .reject }
            let id = s.nextConnectionID
            s.nextConnectionID &+= 1
            let control = ConnectionControl()
            s.connections[id] = Connection(stream: stream, thread: nil, control: control)
            return .serve(id, control)
        }
        switch decision {
        case .drop:
            stream.close()
        case .reject:
            reject(stream)
        case .serve(let id, let control):
            let started = spawnThread(detached: true) { [self] in serve(id: id, control: control, stream: stream, remote: remote) }
            if started == nil {
                state.withLock { _ = $0.connections.removeValue(forKey: id) }
                reject(stream)
            }
        }
    }

    /// Answers 503 and closes, on a short-lived thread of its own so the accept thread never blocks; over TLS
    /// when the client speaks TLS (a plaintext 503 would only be a handshake error to it). At most
    /// `maxRejectors` such threads run at once; past that the connection is just closed.
    private func reject(_ socket: SocketStream) {
        let admitted = rejectors.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue <= Self.maxRejectors
        let started = admitted && spawnThread(detached: true) { [self] in
            defer { rejectors.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
            setTimeout(socket.fd, SO_RCVTIMEO, 2)
            setTimeout(socket.fd, SO_SNDTIMEO, 2)
            // A client that has sent nothing after half a second gets the plain-text answer.
            let first = socket.peekByte(timeout: 0.5)
            let stream: (any ByteStream)? = first == 0x16 ? configuration.tls.flatMap { TLSStream.handshake(on: socket, context: $0) } : socket
            if let stream {
                var response = errorResponder(.tooManyConnections)
                response.headers.set("Retry-After", "1")
                _ = stream.write(HTTPResponseEncoding.encode(response, headOnly: false, connection: "close"))
                stream.finish(lingerSeconds: 0, maxDrainBytes: 64 * 1024)
                stream.close()
            } else {
                socket.close()
            }
        } != nil
        if !started {
            if !admitted { rejectors.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
            socket.close()
        }
    }

    /// Threads answering 503 at most at once.
    private static let maxRejectors = 16
    private let rejectors = Atomic<Int>(0)

    private func setTimeout(_ fd: Int32, _ option: Int32, _ seconds: Double) {
        guard seconds.isFinite, seconds > 0 else { return }
        let clamped = min(seconds, 1_000_000)
        let whole = clamped.rounded(.down)
        var tv = timeval(tv_sec: Int(whole), tv_usec: Int((clamped - whole) * 1_000_000))
        if tv.tv_sec == 0 && tv.tv_usec == 0 { tv.tv_usec = 1 }
        _ = setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    // MARK: - Serving one connection

    private enum Ending {
        /// The peer is gone or timed out: just close.
        case abort
        /// We decided to close after a response: lingering close.
        case graceful
    }

    private func serve(id: Int, control: ConnectionControl, stream socket: SocketStream, remote: String) {
        let me = pthread_self()
        state.withLock { $0.connections[id]?.thread = me }
        guard let stream = negotiate(socket) else {
            state.withLock { _ = $0.connections.removeValue(forKey: id) }
            socket.close()
            return
        }
        let ending = runConnection(stream, control: control, remote: remote, localPort: state.withLock { $0.port })
        if ending == .graceful {
            stream.finish(
                lingerSeconds: min(Self.lingerSeconds, max(0, configuration.readTimeout)),
                maxDrainBytes: Self.maxDrainBytes)
        }
        // Unregister before closing, so stop() can never interrupt a descriptor number that was reused.
        state.withLock { _ = $0.connections.removeValue(forKey: id) }
        stream.close()
    }

    /// Tells TLS from plain HTTP by the first byte (a TLS handshake record starts with 0x16, no HTTP method does)
    /// and runs the handshake when it is TLS. Nil closes the connection: nothing arrived in time, or the handshake
    /// failed (that connection only).
    private func negotiate(_ socket: SocketStream) -> (any ByteStream)? {
        guard let tls = configuration.tls else { return socket }
        guard let first = socket.peekByte(timeout: configuration.idleTimeout) else { return nil }
        guard first == 0x16 else { return socket }
        // The handshake is part of the request head: it gets the head's deadline, not the idle read timeout.
        setTimeout(socket.fd, SO_RCVTIMEO, min(configuration.headerTimeout, configuration.readTimeout))
        defer { setTimeout(socket.fd, SO_RCVTIMEO, configuration.readTimeout) }
        return TLSStream.handshake(on: socket, context: tls)
    }

    private enum RequestPhase { case head, body }

    private func runConnection(_ stream: any ByteStream, control: ConnectionControl, remote: String, localPort: Int) -> Ending {
        var parser = HTTPRequestParser(
            maxHeaderBytes: configuration.maxHeaderBytes, maxBodyBytes: configuration.maxBodyBytes)
        var chunk = [UInt8](repeating: 0, count: Self.readChunkBytes)
        var deadline: (phase: RequestPhase, at: Int)?  // CLOCK_MONOTONIC ns by which the current part must be in
        var late = false  // this request began after a graceful stop did: it is answered 503
        while true {
            // Answer every complete request already buffered, in order (pipelining, RFC 9112 §9.3.2).
            while true {
                let next: HTTPRequest?
                do {
                    next = try parser.nextRequest()
                } catch {
                    let response = errorResponder(error)
                    let bytes = HTTPResponseEncoding.encode(response, headOnly: false, connection: "close")
                    return stream.write(bytes) ? .graceful : .abort
                }
                guard var request = next else { break }
                if late {
                    // Every request already here is answered 503, the last one closing the connection.
                    var pending = [request]
                    while let more = try? parser.nextRequest() { pending.append(more) }
                    for (index, late) in pending.enumerated() {
                        let last = index == pending.count - 1
                        let ending = answerStopping(stream, headOnly: late.method == "HEAD", closing: last)
                        if last || ending == .abort { return ending }
                    }
                }
                request.remoteAddress = remote
                request.localPort = localPort
                request.isTLS = stream is TLSStream
                // A graceful stop lets this request finish; the connection then closes after the response.
                let response = handler(request)
                let keepAlive = Self.keepsAlive(request: request, response: response) && !draining.load(ordering: .sequentiallyConsistent)
                let connection: String? = keepAlive ? (request.version == .http1_0 ? "keep-alive" : nil) : "close"
                let bytes = HTTPResponseEncoding.encode(
                    response, headOnly: request.method == "HEAD", connection: connection)
                let written = stream.write(bytes)
                // Still busy if the next pipelined request has begun to arrive.
                control.busy.store(parser.bufferedByteCount > 0, ordering: .sequentiallyConsistent)
                guard written else { return .abort }
                if !keepAlive { return .graceful }
                // The response promised to keep the connection open: even if a stop began meanwhile it stays open,
                // so a request the client sends next is answered (503), not cut; the stop closes it once idle.
            }
            if parser.takeContinueRequest() {
                guard stream.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return .abort }
            }
            // A head that trickles in must still arrive whole within headerTimeout (RFC 9112 §9.5 lets a server
            // close a connection it has waited on long enough); an idle connection waits up to readTimeout.
            // A body must then arrive whole within readTimeout of the head's end, however slowly it trickles.
            var timeout = parser.bufferedByteCount == 0 ? configuration.idleTimeout : configuration.readTimeout
            let phase: RequestPhase? = parser.isReadingHead ? .head : parser.isReadingBody ? .body : nil
            if let phase {
                let now = SocketStream.monotonicNanos()
                if deadline?.phase != phase {
                    let allowed = phase == .head ? configuration.headerTimeout : configuration.readTimeout
                    deadline = (phase, now + Int(min(max(allowed, 0), 1e6) * 1e9))
                }
                let remaining = Double((deadline?.at ?? now) - now) / 1e9
                guard remaining > 0 else {
                    let bytes = HTTPResponseEncoding.encode(errorResponder(.requestTimeout), headOnly: false, connection: "close")
                    return stream.write(bytes) ? .graceful : .abort
                }
                timeout = min(timeout, remaining)
            } else {
                deadline = nil
            }
            let result = chunk.withUnsafeMutableBytes { stream.read(into: $0, timeout: timeout) }
            switch result {
            case .bytes(let count):
                // From its first byte a request is in progress: a graceful stop waits for it to be answered. Set
                // before reading `draining` (both sequentially consistent): either the stop sees this request
                // busy and waits for it, or this sees the stop and answers 503.
                if !control.busy.load(ordering: .sequentiallyConsistent) {
                    control.busy.store(true, ordering: .sequentiallyConsistent)
                    if draining.load(ordering: .sequentiallyConsistent) { late = true }
                }
                parser.append(chunk[0..<min(count, chunk.count)])
            case .timedOut where deadline != nil:
                continue  // the deadline check above answers 408
            case .interrupted where parser.bufferedByteCount == 0 && stream.awaitsInput(milliseconds: Self.lastLookMilliseconds):
                // The stop woke a connection that had sent nothing, but its request is arriving (a client that
                // connected at the very end): read it, and it is answered 503, rather than closing under it.
                continue
            default:
                // A stop ended the reads of a request still arriving: it is answered rather than dropped.
                if draining.load(ordering: .sequentiallyConsistent) && parser.bufferedByteCount > 0 { return answerStopping(stream, headOnly: false) }
                return .abort
            }
        }
    }

    /// Answers 503 (`Retry-After: 1`, and `Connection: close` unless more pipelined requests are to be answered)
    /// because the server is stopping.
    private func answerStopping(_ stream: any ByteStream, headOnly: Bool, closing: Bool = true) -> Ending {
        var response = errorResponder(.stopping)
        response.headers.set("Retry-After", "1")
        return stream.write(HTTPResponseEncoding.encode(response, headOnly: headOnly, connection: closing ? "close" : nil)) ? .graceful : .abort
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

private func closeFD(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}

/// Holds a thread's body while the C start routine runs.
private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Starts a POSIX thread running `body`; nil when the system refuses (e.g. too many threads).
private func spawnThread(detached: Bool, _ body: @escaping @Sendable () -> Void) -> pthread_t? {
    let box = Unmanaged.passRetained(ThreadBody(body))
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    if detached { pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) }
    var thread = pthread_t()
    let rc = pthread_create(&thread, &attributes, { raw in
        if let raw { Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().run() }
        return nil
    }, box.toOpaque())
    guard rc == 0 else {
        box.release()
        return nil
    }
    return thread
}
