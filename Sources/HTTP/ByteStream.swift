#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The outcome of one `ByteStream.read(into:)`.
enum ReadResult: Equatable {
    /// This many bytes (at least one) were stored at the start of the buffer.
    case bytes(Int)
    /// The peer closed its sending side (or `interrupt()` was called).
    case end
    /// Nothing arrived within the read timeout.
    case timedOut
    /// Any other failure (reset by peer, ...).
    case failed
    /// The server's stop ended the wait (its wake-up descriptor became readable); the connection is intact.
    case interrupted
}

/// The byte transport one HTTP connection reads and writes through. `SocketStream` is the plain-TCP one; a TLS
/// stream can implement the same four operations later without the connection loop changing.
///
/// `read`, `write`, `finish` and `close` are called by the connection's own thread only; `interrupt` may be called
/// from any thread while the stream is open (the server guarantees it never calls it after `close`).
protocol ByteStream: AnyObject, Sendable {
    /// Reads at most `buffer.count` bytes, waiting at most `timeout` seconds for the first byte.
    func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Double) -> ReadResult
    /// Writes every byte, blocking up to the write timeout for each step. Returns false when the connection broke.
    func write(_ bytes: [UInt8]) -> Bool
    /// Ends the sending side so the peer sees the end of the last response, then discards what the peer still sends
    /// for at most `lingerSeconds` / `maxDrainBytes` (RFC 9112 §9.6 "lingering close"): closing a socket that still
    /// has unread input makes the kernel send a reset, which can destroy the response before the client reads it.
    func finish(lingerSeconds: Double, maxDrainBytes: Int)
    /// Wakes any blocked read or write from another thread; they then report end/failure.
    func interrupt()
    /// Whether input is waiting, or arrives within `milliseconds` (the server's stop wake-up is not watched).
    func awaitsInput(milliseconds: Int32) -> Bool
    /// Releases the connection. Called exactly once, last.
    func close()
}

/// A `ByteStream` over a connected TCP socket.
final class SocketStream: ByteStream {
    let fd: Int32
    /// A descriptor that becomes readable when the server's stop wants every waiting read to end (-1: none). Only
    /// polled, never read, so it wakes every connection at once.
    let wake: Int32

    init(fd: Int32, wake: Int32 = -1) { self.fd = fd; self.wake = wake }

    /// Nil once the socket is readable (or hung up: the read then tells), else why the wait ended: the timeout
    /// passed (`.timedOut`) or the server's wake-up descriptor fired (`.interrupted`).
    func waitReadable(milliseconds: Int32) -> ReadResult? {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = poll(&fds, wake >= 0 ? 2 : 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 { return .timedOut }
            if fds[0].revents == 0 && fds[1].revents != 0 { return .interrupted }
            return nil  // readable, hung up or failed: the read tells which
        }
    }

    func awaitsInput(milliseconds: Int32) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&pfd, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            return ready > 0
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Double) -> ReadResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .failed }
        let milliseconds = Int32(clamping: Int((timeout.isFinite ? max(0, min(timeout, 1e6)) : 0) * 1000 + 0.999))
        if let early = waitReadable(milliseconds: milliseconds) { return early }
        while true {
            let n = recv(fd, base, buffer.count, 0)
            if n > 0 { return .bytes(n) }
            if n == 0 { return .end }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return .timedOut }
            return .failed
        }
    }

    func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in Self.sendAll(fd: fd, raw, flags: 0) }
    }

    /// The first byte the peer sent, without consuming it; nil when none arrives within `timeout` seconds or the
    /// peer closed.
    func peekByte(timeout: Double) -> UInt8? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(clamping: Int((timeout.isFinite ? max(0, min(timeout, 1e6)) : 0) * 1000 + 0.999))
        while true {
            let ready = poll(&pfd, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            break
        }
        var byte: UInt8 = 0
        while true {
            let n = recv(fd, &byte, 1, Int32(MSG_PEEK))
            if n == 1 { return byte }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
    }

    /// Sends everything in `raw` (`MSG_NOSIGNAL`: a closed peer gives EPIPE, not SIGPIPE).
    static func sendAll(fd: Int32, _ raw: UnsafeRawBufferPointer, flags: Int32) -> Bool {
        guard let base = raw.baseAddress else { return true }
        var offset = 0
        while offset < raw.count {
            let n = send(fd, base + offset, raw.count - offset, flags | Int32(MSG_NOSIGNAL))
            if n > 0 {
                offset += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return false  // timeout (EAGAIN), reset, broken pipe, or a zero-byte send
        }
        return true
    }

    func finish(lingerSeconds: Double, maxDrainBytes: Int) {
        _ = shutdown(fd, Int32(SHUT_WR))
        let linger = lingerSeconds.isFinite ? max(0, min(lingerSeconds, 60)) : 0
        let deadline = Self.monotonicNanos() + Int(linger * 1e9)
        var scratch = [UInt8](repeating: 0, count: 4096)
        var drained = 0
        while drained < maxDrainBytes {
            // With no time left this still takes what has already arrived (poll with a zero timeout).
            let remaining = max(0, deadline - Self.monotonicNanos())
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(clamping: (remaining + 999_999) / 1_000_000))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { break }
            let n = scratch.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return recv(fd, base, raw.count, Int32(MSG_DONTWAIT))
            }
            if n > 0 {
                drained += n
            } else if n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue
            } else {
                break  // end of stream or error: the peer is done
            }
        }
    }

    /// Nanoseconds of CLOCK_MONOTONIC, for deadlines.
    static func monotonicNanos() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int(now.tv_sec) * 1_000_000_000 + Int(now.tv_nsec)
    }

    func interrupt() {
        _ = shutdown(fd, Int32(SHUT_RDWR))
    }

    func close() {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }
}
