import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ArgumentParser
import MockServer

/// A small synchronous HTTP client for the control plane of a running server (URLSession underneath).
struct ControlClient {
    let baseURL: String
    let controlKey: String?

    /// Sends one request; returns the status (0 when no answer came) and the body (or the error text).
    func request(_ method: String, _ path: String, body: Data? = nil, timeout: Double = 10) -> (Int, Data) {
        guard let url = URL(string: baseURL + path) else { return (0, Data("bad URL \(baseURL + path)".utf8)) }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let controlKey { request.setValue(controlKey, forHTTPHeaderField: MockServer.controlKeyHeader) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.set(status: (response as? HTTPURLResponse)?.statusCode ?? 0, data: data ?? Data((error.map { "\($0.localizedDescription)" } ?? "").utf8))
            done.signal()
        }.resume()
        done.wait()
        return box.get()
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

    /// The answer, handed from URLSession's queue to the waiting thread.
    private final class Box: @unchecked Sendable {
        // @unchecked: written once before the semaphore is signalled, read after it is awaited.
        private var status = 0
        private var data = Data()
        func set(status: Int, data: Data) { self.status = status; self.data = data }
        func get() -> (Int, Data) { (status, data) }
    }
}
