#if canImport(Glibc)
import Glibc
#endif
import CEpoll
import Synchronization

/// The process-wide event machinery every `HTTPServer` shares: one epoll set (Linux `epoll(7)`), a fixed set of
/// event threads, and a timer thread for deadlines.
///
/// - Every socket (listeners and connections) is registered level-triggered with `EPOLLONESHOT`: an event hands the
///   socket to exactly one event thread, which owns it until it re-arms it (`epoll_ctl(EPOLL_CTL_MOD)`) or closes it.
///   So a connection's state needs no lock while it is worked on, and no two threads ever touch one socket.
/// - An event thread reads what has arrived, answers every complete request (calling the server's handler on that
///   thread, since a handler may block on SQLite), writes as much of the response as the socket takes, and re-arms
///   for the next read or for writability. A handler that blocks holds one event thread; the others go on serving.
/// - An idle, slow or half-open connection is only an entry in the epoll set and a `Connection` object (about 1 KiB
///   while idle; TLS sessions release their buffers when idle): it holds no thread.
/// - The timer thread scans the connections' deadlines every `tickMilliseconds` and ends the expired ones (idle
///   timeout, the request head and body deadlines, write timeout, lingering close).
///
/// Connections are kept in a table indexed by descriptor; each use of a descriptor gets a new generation, carried in
/// its epoll events, so an event that arrives for a connection already closed (and its descriptor reused) is dropped.
final class EventEngine: @unchecked Sendable {
    // @unchecked: the table's pages are written under `tableLock` before a descriptor is registered, and never
    // replaced; everything else is a `let`, a Mutex or an Atomic.

    /// The engine, started on first use; nil when the system refuses an epoll set or the threads.
    static let shared: EventEngine? = EventEngine()

    let epollFD: Int32
    /// The descriptor limit of the process after start-up raised it to the hard limit (at most 1,048,576).
    let descriptorLimit: Int
    /// Event threads: 4 per core, between 4 and 32.
    let threadCount: Int
    /// How often the timer thread checks deadlines.
    static let tickMilliseconds: Int32 = 20

    private static let pageBits = 10
    private static let pageSize = 1 << pageBits
    private let pages: UnsafeMutablePointer<UnsafeMutablePointer<Connection?>?>
    private let pageCount: Int
    private struct Table {
        var highWater = 0
        var listeners: [Int: Listener] = [:]
        var nextListenerID = 1
    }
    private let tableLock = Mutex(Table())
    /// Connections open in the process (the timer skips its scan when there are none).
    let openConnections = Atomic<Int>(0)

    /// The epoll data of a listener: this bit plus its id.
    private static let listenerTag: UInt64 = 1 << 63

    private init?() {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        let ceiling = rlim_t(1 << 20)
        let wanted = min(limit.rlim_max, ceiling)
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = wanted
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        descriptorLimit = Int(min(limit.rlim_cur, ceiling))
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { return nil }
        pageCount = (descriptorLimit + Self.pageSize - 1) / Self.pageSize
        pages = .allocate(capacity: pageCount)
        pages.initialize(repeating: nil, count: pageCount)
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        threadCount = min(32, max(4, 4 * max(1, cores)))
        for _ in 0..<threadCount {
            guard spawnThread(detached: true, { [unowned self] in self.eventLoop() }) != nil else { return nil }
        }
        guard spawnThread(detached: true, { [unowned self] in self.timerLoop() }) != nil else { return nil }
    }

    // MARK: - The connection table

    /// The connection object for descriptor `fd`, if one was ever made.
    func connection(_ fd: Int32) -> Connection? {
        let index = Int(fd)
        guard index >= 0, index < descriptorLimit, let page = pages[index >> Self.pageBits] else { return nil }
        return page[index & (Self.pageSize - 1)]
    }

    /// The connection object for a freshly accepted descriptor, made on its first use (objects are reused).
    private func connectionObject(for fd: Int32) -> Connection? {
        let index = Int(fd)
        guard index >= 0, index < descriptorLimit else { return nil }
        if let existing = connection(fd) {
            tableLock.withLock { $0.highWater = max($0.highWater, index + 1) }
            return existing
        }
        return tableLock.withLock { table in
            let pageIndex = index >> Self.pageBits
            if pages[pageIndex] == nil {
                let page = UnsafeMutablePointer<Connection?>.allocate(capacity: Self.pageSize)
                page.initialize(repeating: nil, count: Self.pageSize)
                pages[pageIndex] = page
            }
            guard let page = pages[pageIndex] else { return nil }
            let slot = index & (Self.pageSize - 1)
            if page[slot] == nil { page[slot] = Connection(fd: fd, engine: self) }
            table.highWater = max(table.highWater, index + 1)
            return page[slot]
        }
    }

    /// Every connection object up to the highest descriptor used (open or not).
    func forEachConnection(_ body: (Connection) -> Void) {
        let high = tableLock.withLock { $0.highWater }
        for fd in 0..<high { if let connection = connection(Int32(fd)) { body(connection) } }
    }

    /// Serves an accepted, non-blocking socket for `server`.
    func register(fd: Int32, server: HTTPServer, remote: String, rejecting: Bool) {
        guard let connection = connectionObject(for: fd) else {
            _ = closeDescriptor(fd)
            return
        }
        connection.open(server: server, remote: remote, rejecting: rejecting)
    }

    // MARK: - epoll

    /// Adds (`add`) or re-arms a socket for one event: readability, or writability when `writable`.
    @discardableResult
    func arm(fd: Int32, data: UInt64, writable: Bool, add: Bool) -> Bool {
        var event = epoll_event()
        event.events = (writable ? EPOLLOUT.rawValue : EPOLLIN.rawValue) | EPOLLONESHOT.rawValue | EPOLLRDHUP.rawValue
        event.data.u64 = data
        return epoll_ctl(epollFD, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event) == 0
    }

    func remove(fd: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &event)
    }

    // MARK: - Listeners

    /// Registers a listening socket: its connections are accepted on the event threads and given to `server`.
    func addListener(fd: Int32, server: HTTPServer) -> Listener? {
        let listener = tableLock.withLock { table -> Listener in
            let listener = Listener(id: table.nextListenerID, fd: fd, server: server)
            table.nextListenerID += 1
            table.listeners[listener.id] = listener
            return listener
        }
        guard arm(fd: fd, data: Self.listenerTag | UInt64(listener.id), writable: false, add: true) else {
            _ = tableLock.withLock { $0.listeners.removeValue(forKey: listener.id) }
            return nil
        }
        return listener
    }

    /// Stops accepting on `listener` and closes it; with `acceptQueued`, what the kernel has already queued on it
    /// is accepted first (so it is answered rather than reset).
    func closeListener(_ listener: Listener, acceptQueued: Bool) {
        listener.state.withLock { state in
            guard !state.closed else { return }
            state.closed = true
            remove(fd: listener.fd)
            if acceptQueued { acceptAll(listener, limit: Int.max) }
            _ = closeDescriptor(listener.fd)
        }
        _ = tableLock.withLock { $0.listeners.removeValue(forKey: listener.id) }
    }

    private func acceptReady(_ id: Int) {
        guard let listener = tableLock.withLock({ $0.listeners[id] }) else { return }
        listener.state.withLock { state in
            guard !state.closed else { return }
            if acceptAll(listener, limit: 64) == .outOfDescriptors {
                // Out of descriptors: try again on the next tick rather than spin on a listener that stays readable.
                state.paused = true
            } else {
                arm(fd: listener.fd, data: Self.listenerTag | UInt64(listener.id), writable: false, add: false)
            }
        }
    }

    private enum AcceptOutcome { case drained, limit, outOfDescriptors }

    /// Accepts up to `limit` queued connections (called with the listener's lock held).
    @discardableResult
    private func acceptAll(_ listener: Listener, limit: Int) -> AcceptOutcome {
        var accepted = 0
        while accepted < limit {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listener.fd, $0, &length)
                }
            }
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE:
                    // The process is out of descriptors (several ports together can use up the limit): make room by
                    // evicting this server's longest-idle connection, else answer one waiting client 503 through the
                    // spare descriptor kept for this, rather than leave the queue hanging.
                    if listener.server.evictOldest(engine: self) { continue }
                    answerWithSpareDescriptor(listener)
                    return .outOfDescriptors
                case ENOBUFS, ENOMEM: return .outOfDescriptors
                default: return .drained
                }
            }
            accepted += 1
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            listener.server.admit(fd: fd, remote: socketAddressText(storage).text)
        }
        return .limit
    }

    /// A descriptor held open (on /dev/null) so that, out of descriptors, one can still be freed to accept a client
    /// and tell it 503.
    private let spareDescriptor = Mutex<Int32>(open("/dev/null", O_RDONLY | O_CLOEXEC))

    private func answerWithSpareDescriptor(_ listener: Listener) {
        spareDescriptor.withLock { spare in
            guard spare >= 0 else { return }
            _ = closeDescriptor(spare)
            let fd = accept(listener.fd, nil, nil)
            if fd >= 0 { listener.server.answerOutOfDescriptors(fd: fd) }
            spare = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
    }

    // MARK: - Threads

    private func eventLoop() {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Connection.readChunkBytes, alignment: 16)
        defer { scratch.deallocate() }
        var event = epoll_event()
        while true {
            let ready = epoll_wait(epollFD, &event, 1, -1)
            guard ready == 1 else { continue }  // EINTR
            let data = event.data.u64
            if data & Self.listenerTag != 0 {
                acceptReady(Int(truncatingIfNeeded: data & ~Self.listenerTag))
                continue
            }
            let fd = Int32(truncatingIfNeeded: data & 0xFFFF_FFFF)
            let generation = UInt32(truncatingIfNeeded: data >> 32)
            guard let connection = connection(fd), connection.claim(generation: generation) else { continue }
            Self.setCurrent(connection: connection, generation: generation)
            connection.run(scratch: scratch)
            Self.setCurrent(connection: nil, generation: 0)
        }
    }

    private func timerLoop() {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Connection.readChunkBytes, alignment: 16)
        defer { scratch.deallocate() }
        while true {
            usleep(UInt32(Self.tickMilliseconds) * 1000)
            let now = monotonicNanos()
            if openConnections.load(ordering: .relaxed) > 0 { scanDeadlines(now: now, scratch: scratch) }
            let paused = tableLock.withLock { Array($0.listeners.values) }
            for listener in paused {
                listener.state.withLock { state in
                    guard state.paused, !state.closed else { return }
                    state.paused = false
                    arm(fd: listener.fd, data: Self.listenerTag | UInt64(listener.id), writable: false, add: false)
                }
            }
        }
    }

    /// Ends the connections whose deadline has passed.
    private func scanDeadlines(now: Int, scratch: UnsafeMutableRawBufferPointer) {
        forEachConnection { connection in
            guard connection.deadlineHint.load(ordering: .relaxed) <= now, connection.claimExpired(now: now) else { return }
            connection.expire(scratch: scratch)
        }
    }

    /// Runs `body` on every open connection of the server with id `serverID` that no thread is working on (each
    /// claimed for the call, then re-armed or closed), except `skip` (the caller's own connection).
    func kick(serverID: Int, skip: Connection?, scratch: UnsafeMutableRawBufferPointer) {
        forEachConnection { connection in
            guard connection !== skip, connection.claimIfIdle(serverID: serverID) else { return }
            connection.run(scratch: scratch)
        }
    }

    // MARK: - The caller's connection

    private static let currentKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    private static func setCurrent(connection: Connection?, generation: UInt32) {
        pthread_setspecific(currentKey, connection.map { Unmanaged.passUnretained($0).toOpaque() })
    }

    /// The connection whose request the calling thread is handling, if any (`HTTPServer.stop` from a handler must
    /// not wait for it).
    static var currentConnection: Connection? {
        guard let raw = pthread_getspecific(currentKey) else { return nil }
        return Unmanaged<Connection>.fromOpaque(raw).takeUnretainedValue()
    }
}

/// A listening socket registered with the engine.
final class Listener: Sendable {
    let id: Int
    let fd: Int32
    let server: HTTPServer
    struct State {
        var closed = false
        /// Accepting failed for want of descriptors: re-armed on the timer's next tick.
        var paused = false
    }
    /// Held while accepting, so closing never races an accept.
    let state = Mutex(State())

    init(id: Int, fd: Int32, server: HTTPServer) {
        self.id = id
        self.fd = fd
        self.server = server
    }
}

/// The text form and port of a socket address.
func socketAddressText(_ storage: sockaddr_storage) -> (text: String, port: Int) {
    var storage = storage
    switch Int32(storage.ss_family) {
    case AF_INET:
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var addr = sin.pointee.sin_addr
                return (addressText(AF_INET, &addr), Int(UInt16(bigEndian: sin.pointee.sin_port)))
            }
        }
    case AF_INET6:
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                var addr = sin6.pointee.sin6_addr
                return (addressText(AF_INET6, &addr), Int(UInt16(bigEndian: sin6.pointee.sin6_port)))
            }
        }
    default:
        return ("", 0)
    }
}

/// `inet_ntop` as a String ("" on failure).
private func addressText(_ family: Int32, _ address: UnsafeRawPointer) -> String {
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    guard inet_ntop(family, address, &buffer, socklen_t(buffer.count)) != nil else { return "" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func closeDescriptor(_ fd: Int32) -> Int32 { Glibc.close(fd) }

/// Holds a thread's body while the C start routine runs.
private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Starts a POSIX thread running `body`; nil when the system refuses (e.g. too many threads).
func spawnThread(detached: Bool, _ body: @escaping @Sendable () -> Void) -> pthread_t? {
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
