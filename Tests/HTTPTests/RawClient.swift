#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import Foundation

@testable import HTTP

struct RawClientError: Error, CustomStringConvertible {
    var description: String
}

/// A bare TCP client for talking raw bytes to a server under test. Reads time out after `timeout` seconds so a
/// broken server fails a test instead of hanging it.
final class RawClient {
    let fd: Int32
    private var pending: [UInt8] = []

    init(port: Int, host: String = "127.0.0.1", timeout: Double = 3) throws {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawClientError(description: "socket failed") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc: Int32
        if v6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(port)).bigEndian
            _ = inet_pton(AF_INET6, host, &addr.sin6_addr)
            rc = withSocketAddress(&addr) { connect(fd, $0, $1) }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port)).bigEndian
            _ = inet_pton(AF_INET, host, &addr.sin_addr)
            rc = withSocketAddress(&addr) { connect(fd, $0, $1) }
        }
        guard rc == 0 else {
            let e = errno
            _ = close(fd)  // self.fd is not set yet, so deinit will not run and close it a second time
            throw RawClientError(description: "connect to \(host):\(port) failed: errno \(e)")
        }
        self.fd = fd
    }

    deinit { _ = close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { throw RawClientError(description: "send failed: errno \(errno)") }
            offset += n
        }
    }

    /// One recv: bytes, or [] at end of stream; throws on timeout or error.
    private func receive() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw RawClientError(description: "recv failed: errno \(errno)") }
        return Array(buffer[0..<n])
    }

    /// Reads one response: the head, then `Content-Length` bytes of body (none when `bodyExpected` is false).
    /// Returns the raw text with the `Date` value replaced by `<date>`.
    func readResponse(bodyExpected: Bool = true) throws -> String {
        while true {
            if let end = headEnd() {
                let head = String(decoding: pending[0..<end], as: UTF8.self)
                var length = 0
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
                if !bodyExpected { length = 0 }
                if pending.count >= end + length {
                    let text = String(decoding: pending[0..<(end + length)], as: UTF8.self)
                    pending.removeFirst(end + length)
                    return Self.maskDate(text)
                }
            }
            let more = try receive()
            if more.isEmpty {
                let got = String(decoding: pending, as: UTF8.self)
                throw RawClientError(description: "connection closed before a full response; got \(got)")
            }
            pending += more
        }
    }

    /// Reads until the server closes; returns everything not yet consumed (Date masked). Throws on timeout.
    func readToEnd() throws -> String {
        while true {
            let more = try receive()
            if more.isEmpty { break }
            pending += more
        }
        defer { pending = [] }
        return Self.maskDate(String(decoding: pending, as: UTF8.self))
    }

    /// True when the server has closed the connection (recv returns 0 with nothing left unread).
    func isClosedByServer() throws -> Bool {
        pending.isEmpty ? try receive().isEmpty : false
    }

    private func headEnd() -> Int? {
        guard pending.count >= 4 else { return nil }
        for i in 0...(pending.count - 4)
        where pending[i] == 13 && pending[i + 1] == 10 && pending[i + 2] == 13 && pending[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    static func maskDate(_ text: String) -> String {
        text.components(separatedBy: "\r\n")
            .map { $0.hasPrefix("Date: ") ? "Date: <date>" : $0 }
            .joined(separator: "\r\n")
    }
}
