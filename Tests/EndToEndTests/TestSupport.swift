import Foundation
import Testing

@testable import Central
@testable import MockServer

#if canImport(Glibc)
import Glibc
#endif

/// Paths of the repository and of the shared folder beside it.
enum Paths {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repository.appendingPathComponent("fixtures")
    static let shared = repository.deletingLastPathComponent().appendingPathComponent("shared")
    static let binary = repository.appendingPathComponent(".build/debug/iotc-mock")
}

/// An in-process server on port 0 with an in-memory store.
func startServer(
    fixture: String = "default", pageSize: Int = 100, maxConnections: Int = 32, configure: (inout MockServerConfiguration) -> Void = { _ in }
) throws -> MockServer {
    var configuration = MockServerConfiguration()
    configuration.port = 0
    configuration.inMemory = true
    configuration.fixturesDirectory = Paths.fixtures.path
    configuration.fixture = fixture
    configuration.pageSize = pageSize
    configuration.maxConnections = maxConnections
    configuration.readTimeout = 5
    configure(&configuration)
    let server = try MockServer(configuration: configuration)
    try server.start()
    return server
}

/// Runs curl (a real third-party client) with `arguments`, at most 10 s; its exit status and its output and errors.
func curl(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-sS", "--max-time", "10"] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

/// A parsed HTTP/1.1 response.
struct RawResponse {
    var statusLine: String
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking HTTP/1.1 client on a POSIX socket, so tests control every byte that is sent.
final class RawHTTPClient {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, host: String = "127.0.0.1") throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError.socket }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw ClientError.connect }
        self.fd = fd  // set only on success: deinit must not close a descriptor number another test now owns
    }

    deinit { close(fd) }

    enum ClientError: Error { case socket, connect, closed, malformed }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Sends one request with Content-Length, Host and (optionally) Authorization.
    /// Sends one request and reads its answer. `body` goes as JSON (with its Content-Type and Content-Length);
    /// `rawBody` goes as it is, after the caller's own headers.
    func request(
        _ method: String, _ target: String, token: String? = nil, body: String? = nil, headers: [(String, String)] = [],
        rawBody: String? = nil, host: String = "127.0.0.1"
    ) throws -> RawResponse {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        if let token { text += "Authorization: \(token)\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? rawBody ?? "")
        send(text)
        return try readResponse(method: method)
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw ClientError.closed }
        buffer += chunk[0..<n]
    }

    /// Reads one response (body by Content-Length; none for HEAD, 204 and 304).
    func readResponse(method: String = "GET") throws -> RawResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while end == nil {
            if buffer.count >= 4 {
                for i in 0...(buffer.count - 4) where Array(buffer[i..<i + 4]) == separator { end = i; break }
            }
            if end == nil { try fill() }
        }
        guard let headEnd = end else { throw ClientError.malformed }
        let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw ClientError.malformed }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
        let hasBody = method != "HEAD" && status != 204 && status != 304
        while hasBody && buffer.count < length { try fill() }
        let body = hasBody ? Array(buffer.prefix(length)) : []
        if hasBody { buffer.removeFirst(length) }
        return RawResponse(statusLine: statusLine, status: status, headers: headers, body: body)
    }

    /// True when the server has closed the connection (a read returns end of file).
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }
}

/// Asserts that `response` is an IoT Central error envelope with `code`, the support sentence and matching
/// headers (the spec's Error definition).
func expectEnvelope(_ response: RawResponse, status: Int, code: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
    let error = response.json["error"]
    #expect(error?["code"] == .string(code), sourceLocation: sourceLocation)
    let requestID = error?["requestId"]?.stringValue ?? "?"
    let time = error?["time"]?.stringValue ?? "?"
    #expect(error?["message"]?.stringValue?.hasSuffix(
        "You can contact support at https://aka.ms/iotcentral-support. Please include the following information. Request ID: \(requestID), Time: \(time).") == true,
        sourceLocation: sourceLocation)
    #expect(response.header("x-ms-error-code") == code, sourceLocation: sourceLocation)
    #expect(response.header("x-ms-request-id") == requestID, sourceLocation: sourceLocation)
}

extension JSONValue {
    /// The value as an integer, when it is a whole number.
    var intValue: Int? {
        guard case .number(let number) = self, number.rounded() == number, abs(number) < 9e15 else { return nil }
        return Int(number)
    }
}
