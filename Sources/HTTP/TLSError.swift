import COpenSSL

/// A TLS set-up failure (certificate, key or context), with OpenSSL's own reasons appended.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    /// `message` followed by the reasons on OpenSSL's error queue, which it empties.
    static func openSSL(_ message: String) -> TLSError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSError(reasons.isEmpty ? message : "\(message): \(reasons.joined(separator: "; "))")
    }

    public var description: String { message }
}
