/// A request as Central sees it: what MockServer took from the HTTP layer, without HTTP types.
public struct CentralRequest: Sendable {
    public var method: String
    /// The path after `/api`, percent-decoded, split on `/`, without empty segments: `["users", "abc"]`.
    public var pathSegments: [String]
    /// The query parameters, decoded, in order (repeats kept).
    public var query: [(name: String, value: String)]
    /// Every `Authorization` header value (normally one).
    public var authorization: [String]
    /// The `Content-Type` header, if any.
    public var contentType: String?
    /// The base URL the client used, `http://host:port`, for absolute `nextLink`s.
    public var baseURL: String
    public var body: [UInt8]

    public init(
        method: String, pathSegments: [String], query: [(name: String, value: String)] = [], authorization: [String] = [],
        contentType: String? = nil, baseURL: String = "http://localhost", body: [UInt8] = []
    ) {
        self.method = method; self.pathSegments = pathSegments; self.query = query; self.authorization = authorization
        self.contentType = contentType; self.baseURL = baseURL; self.body = body
    }

    /// Every value of the query parameter `name`, whose name is compared ignoring ASCII case (ASP.NET binds
    /// query parameters so; assumed, docs/fidelity.md).
    public func queryValues(_ name: String) -> [String] {
        query.filter { Validation.asciiCaseInsensitiveEquals($0.name.utf8, name.utf8) }.map(\.value)
    }
}

/// A response as Central produces it; MockServer writes it as HTTP.
public struct CentralResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// What was decided, for the journal and the log (not sent).
    public var outcome: RequestOutcome

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = [], outcome: RequestOutcome = RequestOutcome()) {
        self.status = status; self.headers = headers; self.body = body; self.outcome = outcome
    }

    /// The header `name` (case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}
