#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import COpenSSL

/// The outcome of one non-blocking transfer on a connection.
enum TransferResult: Equatable {
    /// This many bytes (at least one) moved.
    case bytes(Int)
    /// Nothing can move now; wait until the socket is readable (`wantsWrite` false) or writable (true). TLS may
    /// need to write while reading (a key update) or read while writing.
    case wouldBlock(wantsWrite: Bool)
    /// The peer ended its sending side (for TLS: sent close_notify).
    case end
    /// Reset, broken pipe, or a TLS protocol error.
    case failed
}

/// Non-blocking reads and writes on a connected socket, in plain text or through an OpenSSL session.
///
/// Used by the thread that owns the connection at the time (see `Connection`); never by two threads at once.
struct Transport {
    let fd: Int32
    /// The TLS session once the first byte showed a TLS client (nil: plain text).
    private(set) var ssl: OpaquePointer?

    init(fd: Int32) { self.fd = fd }

    var isTLS: Bool { ssl != nil }

    // MARK: - Plain sockets

    /// The first byte the peer sent, without consuming it: `.bytes(Int(byte))`, or why there is none yet.
    func peekFirstByte() -> TransferResult {
        var byte: UInt8 = 0
        while true {
            let n = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
            if n == 1 { return .bytes(Int(byte)) }
            if n == 0 { return .end }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock(wantsWrite: false)
            default: return .failed
            }
        }
    }

    private func receive(_ buffer: UnsafeMutableRawBufferPointer) -> TransferResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .failed }
        while true {
            let n = recv(fd, base, buffer.count, Int32(MSG_DONTWAIT))
            if n > 0 { return .bytes(n) }
            if n == 0 { return .end }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock(wantsWrite: false)
            default: return .failed
            }
        }
    }

    private func sendSome(_ bytes: UnsafeRawBufferPointer) -> TransferResult {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .bytes(0) }
        while true {
            // MSG_NOSIGNAL: a vanished peer gives EPIPE, not SIGPIPE.
            let n = send(fd, base, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if n >= 0 { return .bytes(n) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock(wantsWrite: true)
            default: return .failed
            }
        }
    }

    // MARK: - Either

    /// Reads what is available into `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransferResult {
        guard let ssl else { return receive(buffer) }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .failed }
        let n = SSL_read(ssl, base, Int32(clamping: buffer.count))
        if n > 0 { return .bytes(Int(n)) }
        return Self.tlsOutcome(ssl, n)
    }

    /// Writes as much of `bytes` as the socket takes now.
    func write(_ bytes: UnsafeRawBufferPointer) -> TransferResult {
        guard let ssl else { return sendSome(bytes) }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .bytes(0) }
        let n = SSL_write(ssl, base, Int32(clamping: bytes.count))
        if n > 0 { return .bytes(Int(n)) }
        return Self.tlsOutcome(ssl, n)
    }

    /// Whether OpenSSL holds decrypted bytes not read yet (epoll cannot see them).
    var hasBufferedPlaintext: Bool { ssl.map { SSL_pending($0) > 0 } ?? false }

    // MARK: - TLS

    /// Starts the server side of a TLS session on the socket; false when OpenSSL cannot make one.
    mutating func beginTLS(_ context: TLSContext) -> Bool {
        guard let ssl = SSL_new(context.context) else { return false }
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            return false
        }
        SSL_set_accept_state(ssl)
        // Partial writes resume from where they stopped (the pending bytes stay in the connection's outbox, which
        // may move); idle sessions give their buffers back (about 34 KiB each).
        let mode = SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS
        _ = SSL_ctrl(ssl, SSL_CTRL_MODE, Int(mode), nil)
        self.ssl = ssl
        return true
    }

    /// Advances the handshake: `.bytes(0)` once it is done.
    func continueHandshake() -> TransferResult {
        guard let ssl else { return .failed }
        let n = SSL_do_handshake(ssl)
        if n == 1 { return .bytes(0) }
        let outcome = Self.tlsOutcome(ssl, n)
        return outcome == .end ? .failed : outcome
    }

    private static func tlsOutcome(_ ssl: OpaquePointer, _ n: Int32) -> TransferResult {
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ: return .wouldBlock(wantsWrite: false)
        case SSL_ERROR_WANT_WRITE: return .wouldBlock(wantsWrite: true)
        case SSL_ERROR_ZERO_RETURN: return .end
        default:
            ERR_clear_error()
            return .failed
        }
    }

    /// Ends the sending side: a TLS close_notify (without waiting for the peer's), then the TCP FIN, so the peer
    /// sees the end of the last response. What the peer still sends is then read and dropped (lingering close).
    func shutdownSending() {
        if let ssl {
            _ = SSL_shutdown(ssl)
            ERR_clear_error()
        }
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    /// Reads and drops raw socket bytes (after `shutdownSending`): how many, or why none.
    func discard(into scratch: UnsafeMutableRawBufferPointer) -> TransferResult { receive(scratch) }

    /// Frees the TLS session (the socket is closed by the connection).
    mutating func release() {
        if let ssl { SSL_free(ssl) }
        ssl = nil
    }
}

/// Nanoseconds of CLOCK_MONOTONIC, for deadlines.
func monotonicNanos() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int(now.tv_sec) * 1_000_000_000 + Int(now.tv_nsec)
}

/// Nanoseconds in `seconds`, clamped to 0...1e6 s (a non-finite value is 0).
func nanos(_ seconds: Double) -> Int {
    Int((seconds.isFinite ? max(0, min(seconds, 1e6)) : 0) * 1e9)
}
