import ArgumentParser
import Foundation
import MockServer

/// A small synchronous HTTP/1.1 client for the control plane of a running server: plain `http://` only, one
/// request per connection (`Connection: close`), the answer read to the end. Written on POSIX sockets rather than
/// URLSession so the binary links statically without libcurl.
struct ControlClient {
    let baseURL: String
    let controlKey: String?

    /// Sends one request; returns the status (0 when no answer came) and the body (or why there was none).
    func request(_ method: String, _ path: String, body: Data? = nil, timeout: Double = 10) -> (Int, Data) {
        guard let url = URL(string: baseURL), url.scheme == "http", let host = url.host else {
            return (0, Data("only http:// URLs are supported, not \(baseURL)".utf8))
        }
        // The target goes on the wire as the caller escaped it (`escaped` for ids): never decoded again.
        guard path.hasPrefix("/"), path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return (0, Data("the request path must be printable ASCII without spaces".utf8))
        }
        let port = url.port ?? 80
        var head = "\(method) \(path) HTTP/1.1\r\n"
        head += "Host: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\nConnection: close\r\nContent-Length: \(body?.count ?? 0)\r\n"
        if body != nil { head += "Content-Type: application/json\r\n" }
        if let controlKey { head += "\(MockServer.controlKeyHeader): \(controlKey)\r\n" }
        let request = Array((head + "\r\n").utf8) + Array(body ?? Data())
        switch Self.exchange(request, host: host, port: port, timeout: timeout) {
        case .failure(let reason):
            return (0, Data(reason.reason.utf8))
        case .success(let answer):
            guard let end = answer.firstRange(of: Array("\r\n\r\n".utf8)),
                  let statusLine = String(decoding: answer[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n").first,
                  let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
            else { return (0, Data("not an HTTP answer".utf8)) }
            return (status, Data(answer[end.upperBound...]))
        }
    }

    /// Sends one request and prints the answer's body; exits 1 with the error when the status is not `expecting`.
    func call(_ method: String, _ path: String, body: Data? = nil, expecting: Int) throws {
        let (status, data) = request(method, path, body: body)
        guard status == expecting else {
            let detail = status == 0 ? "no answer from \(baseURL): \(String(decoding: data, as: UTF8.self))" : "\(status) \(String(decoding: data, as: UTF8.self))"
            FileHandle.standardError.write(Data("iotc-mock: \(method) \(path) failed: \(detail)\n".utf8))
            throw ExitCode(1)
        }
        if !data.isEmpty { FileHandle.standardOutput.write(data + Data("\n".utf8)) }
    }

    /// A path segment with everything but unreserved characters percent-encoded.
    static func escaped(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? segment
    }

    /// Connects to `host:port` (each resolved address in turn), writes `request`, and reads until the server
    /// closes; every step within `timeout` seconds.
    static func exchange(_ request: [UInt8], host: String, port: Int, timeout: Double) -> Result<[UInt8], ExchangeError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            return .failure(ExchangeError("cannot resolve \(host)"))
        }
        defer { freeaddrinfo(list) }
        var lastError = "cannot connect to \(host):\(port)"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
                lastError = "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))"
                continue
            }
            let written = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written == request.count else { return .failure(ExchangeError("the request could not be sent")) }
            var answer: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while answer.count < 64 << 20 {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count > 0 { answer += buffer[0..<count]; continue }
                if count < 0 && errno == EINTR { continue }
                if count < 0 { return .failure(ExchangeError("no answer within \(timeout) s")) }
                break
            }
            return .success(answer)
        }
        return .failure(ExchangeError(lastError))
    }

    struct ExchangeError: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
