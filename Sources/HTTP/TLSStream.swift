#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import COpenSSL

/// A `ByteStream` that speaks TLS over a connected socket through OpenSSL. Created by `handshake`, which runs the
/// server side of the handshake on the connection's own thread.
final class TLSStream: ByteStream, @unchecked Sendable {
    // @unchecked: `ssl` is used by the connection's thread only; `interrupt` touches just the socket.
    private let ssl: OpaquePointer
    private let socket: SocketStream

    private init(ssl: OpaquePointer, socket: SocketStream) {
        self.ssl = ssl
        self.socket = socket
    }

    /// Runs the TLS handshake on `socket`, which must be blocking with its timeouts set.
    /// - Returns: the stream, or nil when the peer is not a TLS client or the handshake failed (the caller then
    ///   closes the socket; no other connection is affected).
    static func handshake(on socket: SocketStream, context: TLSContext) -> TLSStream? {
        guard let ssl = SSL_new(context.context) else { return nil }
        guard SSL_set_fd(ssl, socket.fd) == 1 else {
            SSL_free(ssl)
            return nil
        }
        // The socket blocks with timeouts, so SSL_accept returns only when done, failed or timed out.
        guard SSL_accept(ssl) == 1 else {
            ERR_clear_error()
            SSL_free(ssl)
            return nil
        }
        return TLSStream(ssl: ssl, socket: socket)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Double) -> ReadResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .failed }
        let deadline = SocketStream.monotonicNanos() + Int((timeout.isFinite ? max(0, min(timeout, 1e6)) : 0) * 1e9)
        while true {
            if SSL_pending(ssl) == 0 {
                // Wait for the socket within what is left of the timeout; records already decrypted need no wait.
                // A stop's wake-up ends the wait with the TLS session intact, so an answer can still be written.
                let remaining = max(0, deadline - SocketStream.monotonicNanos())
                if let early = socket.waitReadable(milliseconds: Int32(clamping: (remaining + 999_999) / 1_000_000)) { return early }
            }
            let n = SSL_read(ssl, base, Int32(clamping: buffer.count))
            if n > 0 { return .bytes(Int(n)) }
            switch SSL_get_error(ssl, n) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                continue  // a non-application record (a key update, a ticket): read on
            case SSL_ERROR_ZERO_RETURN:
                return .end  // close_notify
            default:
                ERR_clear_error()
                return .failed
            }
        }
    }

    func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32(clamping: $0.count)) }
            if n > 0 {
                offset += Int(n)
                continue
            }
            // On a blocking socket a WANT_WRITE means the send timeout passed: the peer is not reading.
            ERR_clear_error()
            return false
        }
        return true
    }

    func finish(lingerSeconds: Double, maxDrainBytes: Int) {
        _ = SSL_shutdown(ssl)  // send close_notify; do not wait for the peer's
        ERR_clear_error()
        socket.finish(lingerSeconds: lingerSeconds, maxDrainBytes: maxDrainBytes)
    }

    func interrupt() { socket.interrupt() }
    func awaitsInput(milliseconds: Int32) -> Bool { SSL_pending(ssl) > 0 || socket.awaitsInput(milliseconds: milliseconds) }

    func close() {
        SSL_free(ssl)
        socket.close()
    }
}
