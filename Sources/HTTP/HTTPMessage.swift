/// An ordered list of header fields. Names keep the case the peer sent; lookups ignore case (RFC 9110 §5.1).
/// Repeated fields are kept as separate entries, in arrival order.
public struct HTTPHeaders: Sendable, Equatable, Sequence {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    /// The first value of the field `name` (case-insensitive), or nil.
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// Every value of the field `name` (case-insensitive), in arrival order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    /// Appends a field, keeping any existing field of the same name.
    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// Replaces every field named `name` with one field.
    public mutating func set(_ name: String, _ value: String) {
        fields.removeAll { $0.name.caseInsensitiveEquals(name) }
        fields.append((name, value))
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }
}

extension String {
    /// ASCII case-insensitive comparison, as header names and tokens require.
    @inlinable
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A)
        }
    }
}

/// The HTTP version of a request line: `HTTP/1.0` or `HTTP/1.1` (others are refused by the parser).
public struct HTTPVersion: Sendable, Equatable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public init(major: Int, minor: Int) { self.major = major; self.minor = minor }
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// One parsed request (RFC 9112). The body is complete: the parser hands a request over only once all of its
/// `Content-Length` bytes have arrived.
public struct HTTPRequest: Sendable {
    /// The method token exactly as sent (methods are case-sensitive, RFC 9110 §9.1).
    public var method: String
    /// The request-target exactly as sent, e.g. `/api/users?api-version=2022-07-31`.
    public var target: String
    /// The path part of the target, still percent-encoded, e.g. `/api/users/a%2Db`.
    public var path: String
    /// The path split on `/` and percent-decoded, without the empty segments that a leading or trailing slash
    /// makes: `/api/users/` gives `["api", "users"]`.
    public var pathSegments: [String]
    /// The query split on `&` and `=`, percent-decoded (`+` is a space), in order; repeated names are kept.
    public var query: [(name: String, value: String)]
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The peer's address as text (`127.0.0.1`), for logs.
    public var remoteAddress: String
    /// True when the request arrived over TLS (the client used `https://`).
    public var isTLS: Bool = false
    /// The local port the connection was accepted on (0 when unknown), for absolute URLs when `Host` names none.
    public var localPort: Int = 0

    public init(
        method: String, target: String, path: String, pathSegments: [String],
        query: [(name: String, value: String)], version: HTTPVersion, headers: HTTPHeaders,
        body: [UInt8], remoteAddress: String = ""
    ) {
        self.method = method; self.target = target; self.path = path; self.pathSegments = pathSegments
        self.query = query; self.version = version; self.headers = headers; self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The first query value named `name` (case-sensitive), or nil.
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }
}

/// A response to write. The server adds `Content-Length`, `Date` and `Connection` itself.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status; self.headers = headers; self.body = body
    }
}

/// Why the HTTP layer refused a request before any handler saw it. The server turns each into a response through
/// the `errorResponder` it was given, then closes the connection.
public enum HTTPRequestError: Error, Sendable, Equatable {
    /// Anything that does not parse as HTTP/1.1: answered 400 Bad Request. The text says what was wrong.
    case malformed(String)
    /// The request line plus headers exceed the configured limit (16 KiB by default): 431.
    case headerSectionTooLarge
    /// `Content-Length` exceeds the configured limit (1 MiB by default): 413.
    case bodyTooLarge
    /// A well-formed version other than 1.0 or 1.1: 505.
    case versionNotSupported
    /// A `Transfer-Encoding` the server does not implement yet: 501.
    case notImplemented(String)
    /// Every connection slot is taken (`maxConnections`): 503, sent without reading the request.
    case tooManyConnections
    /// The request head did not arrive within `headerTimeout`, or its body within `readTimeout`: 408.
    case requestTimeout
    /// The server is stopping: a request that began after the stop did, or that was still incomplete when the
    /// grace period ended, is answered 503 (with `Retry-After` and `Connection: close`) instead of being dropped.
    case stopping

    /// The status code that answers this error.
    public var status: Int {
        switch self {
        case .malformed: 400
        case .headerSectionTooLarge: 431
        case .bodyTooLarge: 413
        case .versionNotSupported: 505
        case .notImplemented: 501
        case .tooManyConnections: 503
        case .requestTimeout: 408
        case .stopping: 503
        }
    }

    /// A one-sentence explanation for the client.
    public var reason: String {
        switch self {
        case .malformed(let why): "The request is not valid HTTP/1.1: \(why)."
        case .headerSectionTooLarge: "The request line and headers are larger than the server accepts."
        case .bodyTooLarge: "The request body is larger than the server accepts."
        case .versionNotSupported: "Only HTTP/1.0 and HTTP/1.1 are supported."
        case .notImplemented(let what): "\(what) is not supported."
        case .tooManyConnections: "The server is handling too many connections; retry shortly."
        case .requestTimeout: "The request did not arrive in time."
        case .stopping: "The server is stopping; retry against its next start."
        }
    }
}
