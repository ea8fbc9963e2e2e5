#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One accepted socket and its HTTP/1.1 state, driven by `EventEngine`.
///
/// Objects are kept per descriptor number and reused. `control` says who may work on the connection: nobody
/// (`free`), the next event or deadline (`armed`), or one thread (`owned`). Only the owner touches the fields below
/// the control ones; it hands the connection back by re-arming it (which publishes its changes to the next owner
/// through the lock) or by closing it.
final class Connection: @unchecked Sendable {
    // @unchecked: the plain fields are used by the owning thread only (see above).
    let fd: Int32
    private unowned let engine: EventEngine

    enum Phase { case free, armed, owned }
    private struct Control {
        var generation: UInt32 = 0
        var phase = Phase.free
        var serverID = 0
        var deadline = Int.max
    }
    private let control = Mutex(Control())
    /// The deadline (CLOCK_MONOTONIC ns) while armed, for the timer's lock-free scan; `Int.max` otherwise.
    let deadlineHint = Atomic<Int>(.max)
    /// True from the first byte of a request until its response is written (a graceful stop waits for it).
    let busy = Atomic<Bool>(false)
    /// When the connection last became idle or began a head not complete yet, while it is so; 0 otherwise. It may be
    /// evicted for a new connection once it is `HTTPServer.minimumEvictionAge` old.
    let evictableSince = Atomic<Int>(0)

    static let readChunkBytes = 32 * 1024

    private enum Stage {
        /// Waiting for the first byte, which tells TLS (a handshake record, 0x16) from plain HTTP.
        case detecting
        case handshaking
        /// HTTP requests and responses.
        case open
        /// The last response is out and the sending side shut; input is read and dropped until the peer closes
        /// (RFC 9112 §9.6), so the kernel does not reset the connection under the response.
        case lingering
    }
    private enum RequestPhase { case head, body }
    /// What the owner does when it is done for now.
    enum Next: Equatable {
        case wait(writable: Bool)
        case close
    }

    private var server: HTTPServer?
    private var generation: UInt32 = 0
    private var transport: Transport
    private var stage = Stage.open
    private var parser = HTTPRequestParser()
    private var outbox: [UInt8] = []
    private var outboxOffset = 0
    private var closeAfterWrite = false
    /// A request began after a graceful stop did: every request here is answered 503.
    private var late = false
    /// Accepted past the connection limit with nothing to evict: answered 503 and closed.
    private var rejecting = false
    private var remote = ""
    private var openedAt = 0, firstByteAt = 0, lastRead = 0, lastWrite = 0, idleSince = 0
    private var mark: (phase: RequestPhase?, at: Int) = (nil, 0)
    private var lingerUntil = 0, drained = 0, maxDrain = 0

    init(fd: Int32, engine: EventEngine) {
        self.fd = fd
        self.engine = engine
        transport = Transport(fd: fd)
    }

    // MARK: - Ownership

    /// Starts serving a freshly accepted socket for `server` (called by the accepting thread).
    func open(server: HTTPServer, remote: String, rejecting: Bool) {
        let now = monotonicNanos()
        engine.openConnections.wrappingAdd(1, ordering: .relaxed)
        generation = control.withLock { c in
            c.generation &+= 1
            c.phase = .owned
            c.serverID = server.id
            return c.generation
        }
        self.server = server
        transport = Transport(fd: fd)
        stage = server.configuration.tls != nil || rejecting ? .detecting : .open
        parser = HTTPRequestParser(maxHeaderBytes: server.configuration.maxHeaderBytes, maxBodyBytes: server.configuration.maxBodyBytes)
        outbox = []
        outboxOffset = 0
        closeAfterWrite = false
        late = false
        self.rejecting = rejecting
        self.remote = remote
        openedAt = now
        firstByteAt = now
        lastRead = now
        lastWrite = now
        idleSince = now
        mark = (nil, now)
        busy.store(false, ordering: .sequentiallyConsistent)
        if !rejecting { markEvictable(now) }
        release(.wait(writable: false), add: true)
    }

    /// Takes the connection for an epoll event of `generation`; false when it is not armed for it.
    func claim(generation: UInt32) -> Bool {
        control.withLock { c in
            guard c.generation == generation, c.phase == .armed else { return false }
            c.phase = .owned
            return true
        }
    }

    /// Takes the connection when it is armed and its deadline has passed.
    func claimExpired(now: Int) -> Bool {
        control.withLock { c in
            guard c.phase == .armed, c.deadline <= now else { return false }
            c.phase = .owned
            return true
        }
    }

    /// Takes the connection when it is armed and belongs to the server with id `serverID`.
    func claimIfIdle(serverID: Int) -> Bool {
        control.withLock { c in
            guard c.phase == .armed, c.serverID == serverID else { return false }
            c.phase = .owned
            return true
        }
    }

    /// Takes the connection for eviction when it is armed, belongs to `serverID` and is still evictable since `since`.
    func claimForEviction(serverID: Int, since: Int) -> Bool {
        control.withLock { c in
            guard c.phase == .armed, c.serverID == serverID, evictableSince.load(ordering: .sequentiallyConsistent) == since else { return false }
            c.phase = .owned
            return true
        }
    }

    /// Whether the connection is open for the server with id `serverID`.
    func belongs(to serverID: Int) -> Bool {
        control.withLock { $0.phase != .free && $0.serverID == serverID }
    }

    /// Hands the connection back: armed for its next event and deadline, or closed.
    private func release(_ next: Next, add: Bool = false) {
        guard case .wait(let writable) = next else { return close() }
        let deadline = self.deadline(now: monotonicNanos())
        let data = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
        let armed = control.withLock { c -> Bool in
            c.phase = .armed
            c.deadline = deadline
            deadlineHint.store(deadline, ordering: .relaxed)
            // Armed under the lock: a deadline or stop cannot claim and close the socket before it is re-armed.
            guard engine.arm(fd: fd, data: data, writable: writable, add: add) else {
                c.phase = .owned
                return false
            }
            return true
        }
        if !armed { close() }
    }

    private func close() {
        let server = self.server
        let wasRejecting = rejecting
        control.withLock { c in
            c.generation &+= 1
            c.phase = .free
            c.serverID = 0
            c.deadline = .max
        }
        deadlineHint.store(.max, ordering: .relaxed)
        evictableSince.store(0, ordering: .sequentiallyConsistent)
        busy.store(false, ordering: .sequentiallyConsistent)
        // Everything is reset before the descriptor is closed: from then on the number (and this object) can be
        // taken by a new connection.
        self.server = nil
        parser = HTTPRequestParser()
        outbox = []
        outboxOffset = 0
        transport.release()
        engine.remove(fd: fd)
        _ = closeDescriptor(fd)
        server?.connectionClosed(rejecting: wasRejecting)
        engine.openConnections.wrappingSubtract(1, ordering: .relaxed)
    }

    // MARK: - Work

    /// Does everything possible now (the caller owns the connection), then re-arms or closes it.
    func run(scratch: UnsafeMutableRawBufferPointer) {
        release(advance(scratch: scratch))
    }

    /// Ends a connection whose deadline passed (the caller owns it): the idle timeout closes silently, a request
    /// still arriving is answered 408 (503 when a stop ended the reads), a stalled write or handshake closes.
    func expire(scratch: UnsafeMutableRawBufferPointer) {
        guard let server else { return release(.close) }
        // Bytes already waiting mean every event thread was busy (handlers blocked), not a silent client: re-armed,
        // the socket's readiness queues the connection for the next free thread, with a fresh deadline.
        // (Only for a connection with no request in progress: a head or body past its deadline gets its 408.)
        if stage == .detecting || stage == .open && outboxOffset >= outbox.count && !requestInProgress,
           !server.readsEnded.load(ordering: .sequentiallyConsistent), case .bytes = transport.peekFirstByte() {
            let now = monotonicNanos()
            idleSince = now
            openedAt = now
            return release(.wait(writable: false))
        }
        switch stage {
        case .detecting where rejecting:
            stage = .open
            release(advance(scratch: scratch))
        case .detecting, .handshaking, .lingering:
            release(.close)
        case .open:
            if outboxOffset < outbox.count || rejecting || !requestInProgress { return release(.close) }
            if server.readsEnded.load(ordering: .sequentiallyConsistent) {
                queueStopping(server, headOnly: false, closing: true)
            } else {
                queue(server.errorResponder(.requestTimeout), headOnly: false, connection: "close")
                closeAfterWrite = true
            }
            release(advance(scratch: scratch))
        }
    }

    /// Closes the connection to make room for a new one (the caller owns it): a head still arriving is told 408
    /// first (best effort: what the socket takes at once), as if its deadline had passed.
    func evict() {
        if stage == .open, parser.isReadingHead, let server {
            queue(server.errorResponder(.requestTimeout), headOnly: false, connection: "close")
            _ = flush()
        }
        close()
    }

    private func advance(scratch: UnsafeMutableRawBufferPointer) -> Next {
        guard let server else { return .close }
        var answered = 0
        while true {
            if server.aborted.load(ordering: .sequentiallyConsistent) { return .close }
            switch stage {
            case .detecting:
                switch transport.peekFirstByte() {
                case .bytes(let first):
                    firstByteAt = monotonicNanos()
                    if first == 0x16, let tls = server.configuration.tls {
                        guard transport.beginTLS(tls) else { return .close }
                        stage = .handshaking
                    } else {
                        stage = .open
                    }
                case .wouldBlock:
                    return .wait(writable: false)
                case .end, .failed:
                    return .close
                }
            case .handshaking:
                switch transport.continueHandshake() {
                case .bytes:
                    stage = .open
                    lastRead = monotonicNanos()
                    idleSince = lastRead
                case .wouldBlock(let writable):
                    return .wait(writable: writable)
                case .end, .failed:
                    return .close
                }
            case .lingering:
                return linger(scratch: scratch)
            case .open:
                if outboxOffset < outbox.count {
                    switch flush() {
                    case .done: break
                    case .blocked(let writable): return .wait(writable: writable)
                    case .failed: return .close
                    }
                }
                if closeAfterWrite {
                    beginLinger(server)
                    continue
                }
                if rejecting {
                    var response = server.errorResponder(.tooManyConnections)
                    response.headers.set("Retry-After", "1")
                    queue(response, headOnly: false, connection: "close")
                    closeAfterWrite = true
                    continue
                }
                // A client pipelining without pause yields its thread now and then; writability is reported at
                // once, so the requests it has buffered are answered on the next event.
                if answered >= 32 && parser.bufferedByteCount > 0 { return .wait(writable: true) }
                if answerNext(server) {
                    answered += 1
                    continue
                }
                switch readInput(server, scratch: scratch) {
                case .bytes:
                    continue
                case .wouldBlock(let writable):
                    if requestInProgress && server.readsEnded.load(ordering: .sequentiallyConsistent) {
                        // The stop's end: a request still arriving is answered rather than dropped.
                        queueStopping(server, headOnly: false, closing: true)
                        continue
                    }
                    if evictableSince.load(ordering: .relaxed) == 0 && !parser.isReadingBody {
                        markEvictable(monotonicNanos())
                    }
                    return .wait(writable: writable)
                case .end, .failed:
                    if requestInProgress && server.draining.load(ordering: .sequentiallyConsistent) {
                        queueStopping(server, headOnly: false, closing: true)
                        continue
                    }
                    return .close
                }
            }
        }
    }

    /// Answers the next complete request buffered, if any; true when something was queued for writing.
    private func answerNext(_ server: HTTPServer) -> Bool {
        let next: HTTPRequest?
        do {
            next = try parser.nextRequest()
        } catch {
            queue(server.errorResponder(error), headOnly: false, connection: "close")
            closeAfterWrite = true
            return true
        }
        guard var request = next else {
            if parser.isReadingBody { evictableSince.store(0, ordering: .sequentiallyConsistent) }
            if parser.takeContinueRequest() {
                outbox.append(contentsOf: Self.continueLine)
                return true
            }
            return false
        }
        evictableSince.store(0, ordering: .sequentiallyConsistent)
        // The next request's head (already arriving behind this one, perhaps) gets its own deadline.
        mark = (nil, monotonicNanos())
        if late {
            // Every request already here is answered 503, the last one closing the connection.
            var pending = [request]
            while let more = try? parser.nextRequest() { pending.append(more) }
            for (index, each) in pending.enumerated() {
                queueStopping(server, headOnly: each.method == "HEAD", closing: index == pending.count - 1)
            }
            return true
        }
        request.remoteAddress = remote
        request.localPort = server.boundPort.load(ordering: .relaxed)
        request.isTLS = transport.isTLS
        // A graceful stop lets this request finish; the connection then closes after the response.
        let response = server.handler(request)
        let persistent = HTTPServer.keepsAlive(request: request, response: response)
        let keepAlive = persistent && !server.draining.load(ordering: .sequentiallyConsistent)
        let open: String? = request.version == .http1_0 ? "keep-alive" : nil
        if persistent && !keepAlive {
            // A stop began while this request ran: the requests pipelined behind it that have already arrived are
            // each answered 503 (the last one closing), rather than dropped with the connection.
            var pending: [HTTPRequest] = []
            while let more = try? parser.nextRequest() { pending.append(more) }
            if !pending.isEmpty {
                queue(response, headOnly: request.method == "HEAD", connection: open)
                for (index, each) in pending.enumerated() {
                    queueStopping(server, headOnly: each.method == "HEAD", closing: index == pending.count - 1)
                }
                return true
            }
        }
        // The response promised to keep the connection open: even if a stop began meanwhile it stays open, so a
        // request the client sends next is answered (503), not cut; the stop closes it once idle.
        queue(response, headOnly: request.method == "HEAD", connection: keepAlive ? open : "close")
        if !keepAlive { closeAfterWrite = true }
        return true
    }

    private static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    private func queue(_ response: HTTPResponse, headOnly: Bool, connection: String?) {
        let bytes = HTTPResponseEncoding.encode(response, headOnly: headOnly, connection: connection)
        if outbox.isEmpty { outbox = bytes } else { outbox.append(contentsOf: bytes) }
    }

    /// Queues 503 with `Retry-After: 1` because the server is stopping.
    private func queueStopping(_ server: HTTPServer, headOnly: Bool, closing: Bool) {
        var response = server.errorResponder(.stopping)
        response.headers.set("Retry-After", "1")
        queue(response, headOnly: headOnly, connection: closing ? "close" : nil)
        if closing { closeAfterWrite = true }
    }

    private func readInput(_ server: HTTPServer, scratch: UnsafeMutableRawBufferPointer) -> TransferResult {
        let result = transport.read(into: scratch)
        if case .bytes(let count) = result {
            // From its first byte a request is in progress: a graceful stop waits for it. Set before reading
            // `draining` (both sequentially consistent): either the stop sees this request busy and waits for it,
            // or this sees the stop and answers 503.
            if !busy.load(ordering: .sequentiallyConsistent) {
                busy.store(true, ordering: .sequentiallyConsistent)
                if server.draining.load(ordering: .sequentiallyConsistent) { late = true }
            }
            parser.append(UnsafeRawBufferPointer(rebasing: scratch[0..<min(count, scratch.count)]))
            lastRead = monotonicNanos()
        }
        return result
    }

    private enum FlushResult { case done, blocked(writable: Bool), failed }

    private func flush() -> FlushResult {
        while outboxOffset < outbox.count {
            let result = outbox.withUnsafeBytes { transport.write(UnsafeRawBufferPointer(rebasing: $0[outboxOffset...])) }
            switch result {
            case .bytes(let count) where count > 0:
                outboxOffset += count
                lastWrite = monotonicNanos()
            case .wouldBlock(let wantsWrite):
                return .blocked(writable: wantsWrite)
            default:
                return .failed
            }
        }
        outbox = []
        outboxOffset = 0
        // Still busy if the next pipelined request has begun to arrive.
        let idle = !requestInProgress
        busy.store(!idle, ordering: .sequentiallyConsistent)
        if idle {
            idleSince = lastWrite
            // An idle connection keeps no buffers: about 1 KiB in all.
            parser = HTTPRequestParser(maxHeaderBytes: parser.maxHeaderBytes, maxBodyBytes: parser.maxBodyBytes)
        }
        return .done
    }

    private func beginLinger(_ server: HTTPServer) {
        transport.shutdownSending()
        stage = .lingering
        drained = 0
        let seconds = rejecting ? 0 : min(HTTPServer.lingerSeconds, max(0, server.configuration.readTimeout))
        maxDrain = rejecting ? 64 * 1024 : HTTPServer.maxDrainBytes
        lingerUntil = monotonicNanos() + nanos(seconds)
    }

    private func linger(scratch: UnsafeMutableRawBufferPointer) -> Next {
        while true {
            switch transport.discard(into: scratch) {
            case .bytes(let count):
                drained += count
                if drained >= maxDrain { return .close }
            case .wouldBlock:
                return monotonicNanos() >= lingerUntil ? .close : .wait(writable: false)
            case .end, .failed:
                return .close
            }
        }
    }

    /// Part of a request has arrived (a head, or a body still expected).
    private var requestInProgress: Bool { parser.bufferedByteCount > 0 || parser.isReadingBody }

    private func markEvictable(_ now: Int) {
        evictableSince.store(now, ordering: .sequentiallyConsistent)
    }

    /// When the owner must hear from the connection again.
    private func deadline(now: Int) -> Int {
        guard let server else { return now }
        let c = server.configuration
        var deadline: Int
        switch stage {
        case .detecting:
            deadline = openedAt + nanos(rejecting ? HTTPServer.rejectFirstByteSeconds : c.idleTimeout)
        case .handshaking:
            // The handshake is part of the request head: it gets the head's deadline, not the idle timeout.
            deadline = firstByteAt + nanos(rejecting ? 2 : min(c.headerTimeout, c.readTimeout))
        case .lingering:
            deadline = lingerUntil
        case .open:
            if outboxOffset < outbox.count {
                deadline = lastWrite + nanos(c.writeTimeout)
            } else {
                // A head that trickles in must still arrive whole within headerTimeout of its first byte (RFC 9112
                // §9.5 lets a server close a connection it has waited on long enough); a body within readTimeout of
                // the head's end, however slowly it trickles; an idle connection waits idleTimeout.
                let phase: RequestPhase? = parser.isReadingHead ? .head : parser.isReadingBody ? .body : nil
                if mark.phase != phase { mark = (phase, now) }
                switch phase {
                case .head: deadline = min(mark.at + nanos(c.headerTimeout), lastRead + nanos(c.readTimeout))
                case .body: deadline = mark.at + nanos(c.readTimeout)
                case nil: deadline = idleSince + nanos(c.idleTimeout)
                }
                if rejecting { deadline = min(deadline, openedAt + nanos(2)) }
            }
        }
        if server.readsEnded.load(ordering: .sequentiallyConsistent) {
            // The end of a stop: one last look for a request already on its way, then the connection closes.
            deadline = min(deadline, server.readsEndedAt.load(ordering: .sequentiallyConsistent) + nanos(HTTPServer.lastLookSeconds))
        }
        return deadline
    }
}
