/// An incremental, strict HTTP/1.1 request parser (RFC 9112).
///
/// Feed it bytes as they arrive with `append(_:)`, then call `nextRequest()` until it returns nil (more bytes are
/// needed). Bytes past the end of one request stay buffered and start the next one, so pipelined requests come out
/// one per call, in order. Once `nextRequest()` has thrown, the parser is spent: every later call throws the same
/// error (the connection must be closed, RFC 9112 §9.6).
///
/// What it accepts:
/// - request line `method SP request-target SP HTTP-version CRLF` with single spaces (RFC 9112 §3), the target in
///   origin-form only (§3.2.1), the version `HTTP/1.0` or `HTTP/1.1` (§2.3);
/// - header field lines `name ":" OWS value OWS CRLF` (§5), no obs-fold (§5.2), no whitespace before the colon
///   (§5.1);
/// - exactly one `Host` in HTTP/1.1, at most one in HTTP/1.0 (§3.2);
/// - a body framed by `Content-Length` (§6.2, §6.3); `Transfer-Encoding` is not implemented yet (§6.1).
///
/// Lines must end in CRLF; a bare LF or bare CR is refused (§2.2 allows either choice). Empty lines before the
/// request line are skipped (§2.2).
public struct HTTPRequestParser: Sendable {
    /// Limit for the request line plus header section, counted up to and including the blank line that ends it.
    public let maxHeaderBytes: Int
    /// Limit for the body, checked against `Content-Length` before any body byte is read.
    public let maxBodyBytes: Int

    /// Unconsumed bytes live in `buffer[start...]`.
    private var buffer: [UInt8] = []
    private var start = 0
    /// Where the search for the end of the header section resumes (everything before it has been checked).
    private var searchFrom = 0
    /// A parsed head whose body has not fully arrived yet.
    private var pending: PendingHead?
    /// Set once an error has been thrown; the parser then refuses everything.
    private var failure: HTTPRequestError?
    private var continueAnswered = false

    private struct PendingHead: Sendable {
        var head: ParsedHead
        /// Buffer index of the first body byte.
        var bodyStart: Int
        var bodyLength: Int
    }

    /// How a request's body is delimited (RFC 9112 §6.3). The seam where chunked decoding will plug in.
    enum BodyFraming: Equatable {
        case none
        case contentLength(Int)
        case chunked
    }

    struct ParsedHead: Sendable {
        var method: String
        var target: String
        var path: String
        var pathSegments: [String]
        var query: [(name: String, value: String)]
        var version: HTTPVersion
        var headers: HTTPHeaders
    }

    /// Creates a parser.
    /// - Parameters:
    ///   - maxHeaderBytes: bytes allowed for the request line plus headers, blank line included; more throws
    ///     `HTTPRequestError.headerSectionTooLarge` (answered 431).
    ///   - maxBodyBytes: bytes allowed for a body; a larger `Content-Length` throws `HTTPRequestError.bodyTooLarge`
    ///     (answered 413).
    public init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1024 * 1024) {
        self.maxHeaderBytes = max(0, maxHeaderBytes)
        self.maxBodyBytes = max(0, maxBodyBytes)
    }

    /// Bytes received but not yet handed out as part of a request.
    public var bufferedByteCount: Int { buffer.count - start }

    /// True while part of a request head has arrived but not all of it (the server's header deadline runs).
    public var isReadingHead: Bool { pending == nil && failure == nil && bufferedByteCount > 0 }

    /// Adds received bytes. Cheap: bytes are copied once; parsing happens in `nextRequest()`.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        guard failure == nil else { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// True once per request when its head asked for `Expect: 100-continue` (RFC 9110 §10.1.1) and its body has
    /// not fully arrived: the server should then send `HTTP/1.1 100 Continue` before reading the body. Call it
    /// after `nextRequest()` returned nil; it returns true at most once per request.
    public mutating func takeContinueRequest() -> Bool {
        guard let pending, !continueAnswered, pending.head.version == .http1_1,
            let expect = pending.head.headers["Expect"], expect.caseInsensitiveEquals("100-continue")
        else { return false }
        continueAnswered = true
        return true
    }

    /// Returns the next complete request, or nil when more bytes are needed.
    ///
    /// - Throws: `HTTPRequestError.malformed` for anything that breaks RFC 9112 framing or syntax,
    ///   `.headerSectionTooLarge` as soon as more than `maxHeaderBytes` are buffered without a complete head,
    ///   `.bodyTooLarge` when `Content-Length` exceeds `maxBodyBytes`, `.versionNotSupported` for a well-formed
    ///   version other than 1.0/1.1, `.notImplemented("Transfer-Encoding")` for a transfer-coded body.
    public mutating func nextRequest() throws(HTTPRequestError) -> HTTPRequest? {
        if let failure { throw failure }
        do {
            return try parseNext()
        } catch {
            failure = error
            pending = nil
            buffer = []
            start = 0
            searchFrom = 0
            throw error
        }
    }

    // MARK: - Framing

    private mutating func parseNext() throws(HTTPRequestError) -> HTTPRequest? {
        if pending == nil {
            guard let headEnd = try findHeadEnd() else { return nil }
            let head = try parseHead(buffer[start..<headEnd])
            let framing = try bodyFraming(head)
            switch framing {
            case .none:
                pending = PendingHead(head: head.parsed, bodyStart: headEnd, bodyLength: 0)
                start = headEnd
            case .contentLength(let length):
                pending = PendingHead(head: head.parsed, bodyStart: headEnd, bodyLength: length)
                start = headEnd
            case .chunked:
                // Seam for a later task: chunked decoding (RFC 9112 §7.1) would read the body here.
                throw .notImplemented("Transfer-Encoding")
            }
            continueAnswered = false
        }
        guard let request = pending else { return nil }
        let bodyEnd = request.bodyStart + request.bodyLength
        guard buffer.count >= bodyEnd else { return nil }
        let body = request.bodyLength == 0 ? [] : Array(buffer[request.bodyStart..<bodyEnd])
        pending = nil
        start = bodyEnd
        searchFrom = bodyEnd
        let h = request.head
        return HTTPRequest(
            method: h.method, target: h.target, path: h.path, pathSegments: h.pathSegments, query: h.query,
            version: h.version, headers: h.headers, body: body)
    }

    /// Drops consumed bytes from the front of the buffer when that is worth the copy.
    private mutating func compact() {
        if start == 0 { return }
        if start >= buffer.count {
            buffer.removeAll(keepingCapacity: true)
            pending = pending.map { var p = $0; p.bodyStart -= start; return p }
            searchFrom = max(0, searchFrom - start)
            start = 0
        } else if start >= 4096 && start * 2 >= buffer.count {
            buffer.removeSubrange(0..<start)
            pending = pending.map { var p = $0; p.bodyStart -= start; return p }
            searchFrom -= start
            start = 0
        }
    }

    /// Finds the index just past the CRLFCRLF that ends the head, scanning only bytes not scanned before.
    /// Refuses bare CR/LF on the way and enforces `maxHeaderBytes` without waiting for more data.
    private mutating func findHeadEnd() throws(HTTPRequestError) -> Int? {
        let cr: UInt8 = 13, lf: UInt8 = 10
        // RFC 9112 §2.2: ignore empty lines received before the request line.
        if searchFrom == start {
            while buffer.count - start >= 2 && buffer[start] == cr && buffer[start + 1] == lf {
                start += 2
            }
            searchFrom = start
            if buffer.count - start == 1 && buffer[start] == cr { return nil }
        }
        let limit = start + maxHeaderBytes  // a head ending after this index is too large
        var i = searchFrom
        let count = buffer.count
        while i < count {
            let b = buffer[i]
            if b == cr {
                guard i + 1 < count else { break }  // wait for the LF
                guard buffer[i + 1] == lf else { throw .malformed("bare CR in the header section") }
                // A CRLF at i preceded by a CRLF ends the head (the line between was empty).
                if i - 2 >= start && buffer[i - 2] == cr && buffer[i - 1] == lf {
                    let end = i + 2
                    if end > limit { throw .headerSectionTooLarge }
                    searchFrom = end
                    return end
                }
                i += 2
            } else if b == lf {
                throw .malformed("a line ends in a bare LF instead of CRLF")
            } else {
                i += 1
            }
            if i > limit { throw .headerSectionTooLarge }
        }
        searchFrom = i
        if count - start > maxHeaderBytes { throw .headerSectionTooLarge }
        return nil
    }

    /// The request head plus the raw framing headers the body decision needs.
    private struct Head {
        var parsed: ParsedHead
        var contentLengths: [String]
        var hasTransferEncoding: Bool
    }

    /// Decides how the body is delimited (RFC 9112 §6.1–§6.3).
    private func bodyFraming(_ head: Head) throws(HTTPRequestError) -> BodyFraming {
        if head.hasTransferEncoding {
            if !head.contentLengths.isEmpty {
                throw .malformed("both Transfer-Encoding and Content-Length are present")
            }
            if head.parsed.version == .http1_0 {
                throw .malformed("Transfer-Encoding in an HTTP/1.0 request")
            }
            return .chunked
        }
        if head.contentLengths.isEmpty { return .none }
        var length: UInt64?
        for field in head.contentLengths {
            for element in field.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                let value = try Self.parseContentLength(Self.trimOWS(element))
                if let known = length, known != value {
                    throw .malformed("Content-Length values differ")
                }
                length = value
            }
        }
        guard let length else { throw .malformed("empty Content-Length") }
        guard length <= UInt64(maxBodyBytes) else { throw .bodyTooLarge }
        return length == 0 ? .none : .contentLength(Int(length))
    }

    /// Parses `1*DIGIT`, saturating at `UInt64.max` instead of overflowing.
    private static func parseContentLength(_ bytes: Substring.UTF8View) throws(HTTPRequestError) -> UInt64 {
        guard !bytes.isEmpty else { throw .malformed("empty Content-Length") }
        var value: UInt64 = 0
        for b in bytes {
            guard b >= 0x30 && b <= 0x39 else { throw .malformed("Content-Length is not a decimal number") }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(b - 0x30))
            value = (o1 || o2) ? .max : sum
        }
        return value
    }

    private static func trimOWS(_ s: Substring.UTF8View) -> Substring.UTF8View {
        var s = s
        while let f = s.first, f == 0x20 || f == 0x09 { s = s.dropFirst() }
        while let l = s.last, l == 0x20 || l == 0x09 { s = s.dropLast() }
        return s
    }

    // MARK: - Head syntax

    /// Parses the request line and header fields. `head` ends with CRLFCRLF and holds no bare CR or LF.
    private func parseHead(_ head: ArraySlice<UInt8>) throws(HTTPRequestError) -> Head {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = head.startIndex
        var i = head.startIndex
        while i < head.endIndex {
            if head[i] == 13 {  // always followed by LF (checked while searching)
                lines.append(head[lineStart..<i])
                i += 2
                lineStart = i
            } else {
                i += 1
            }
        }
        // The last line is the empty one that ends the head.
        guard let requestLine = lines.first else { throw .malformed("missing request line") }
        let (method, target, version) = try Self.parseRequestLine(requestLine)

        var headers = HTTPHeaders()
        var contentLengths: [String] = []
        var hasTransferEncoding = false
        var hostCount = 0
        for line in lines.dropFirst() where !line.isEmpty {
            let (name, value) = try Self.parseFieldLine(line)
            if name.caseInsensitiveEquals("Content-Length") {
                contentLengths.append(value)
            } else if name.caseInsensitiveEquals("Transfer-Encoding") {
                hasTransferEncoding = true
            } else if name.caseInsensitiveEquals("Host") {
                hostCount += 1
                guard value.utf8.allSatisfy(Self.isHostByte) else { throw .malformed("invalid Host value") }
            }
            headers.add(name, value)
        }
        if hostCount > 1 { throw .malformed("more than one Host header") }
        if version == .http1_1 && hostCount == 0 { throw .malformed("HTTP/1.1 request without a Host header") }

        let (path, pathSegments, query) = try Self.splitTarget(target)
        let parsed = ParsedHead(
            method: method, target: String(decoding: target, as: UTF8.self), path: path,
            pathSegments: pathSegments, query: query, version: version, headers: headers)
        return Head(parsed: parsed, contentLengths: contentLengths, hasTransferEncoding: hasTransferEncoding)
    }

    /// `method SP request-target SP HTTP-version` (RFC 9112 §3).
    private static func parseRequestLine(
        _ line: ArraySlice<UInt8>
    ) throws(HTTPRequestError) -> (String, ArraySlice<UInt8>, HTTPVersion) {
        guard let sp1 = line.firstIndex(of: 0x20) else { throw .malformed("invalid request line") }
        let method = line[line.startIndex..<sp1]
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { throw .malformed("invalid method") }
        let rest = line[(sp1 + 1)...]
        guard let sp2 = rest.firstIndex(of: 0x20) else { throw .malformed("invalid request line") }
        let target = rest[rest.startIndex..<sp2]
        let versionBytes = rest[(sp2 + 1)...]
        guard !target.isEmpty else { throw .malformed("invalid request line (extra space?)") }
        guard !versionBytes.contains(0x20) else { throw .malformed("invalid request line (extra space?)") }
        let version = try parseVersion(versionBytes)
        guard target.first == UInt8(ascii: "/") else {
            throw .malformed("only origin-form request targets (starting with /) are supported")
        }
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "#") }) else {
            throw .malformed("invalid character in the request target")
        }
        return (String(decoding: method, as: UTF8.self), target, version)
    }

    /// `HTTP-version = "HTTP/" DIGIT "." DIGIT` (RFC 9112 §2.3), case-sensitive.
    private static func parseVersion(_ v: ArraySlice<UInt8>) throws(HTTPRequestError) -> HTTPVersion {
        let prefix: [UInt8] = Array("HTTP/".utf8)
        guard v.count == 8, v.starts(with: prefix) else { throw .malformed("invalid HTTP version") }
        let major = v[v.startIndex + 5], dot = v[v.startIndex + 6], minor = v[v.startIndex + 7]
        guard isDigit(major), dot == UInt8(ascii: "."), isDigit(minor) else { throw .malformed("invalid HTTP version") }
        let version = HTTPVersion(major: Int(major - 0x30), minor: Int(minor - 0x30))
        guard version == .http1_1 || version == .http1_0 else { throw .versionNotSupported }
        return version
    }

    /// `field-name ":" OWS field-value OWS` (RFC 9112 §5).
    private static func parseFieldLine(_ line: ArraySlice<UInt8>) throws(HTTPRequestError) -> (String, String) {
        if let first = line.first, first == 0x20 || first == 0x09 {
            throw .malformed("obsolete line folding in the header section")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw .malformed("a header line has no colon")
        }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty else { throw .malformed("empty header name") }
        if let last = name.last, last == 0x20 || last == 0x09 {
            throw .malformed("whitespace between a header name and the colon")
        }
        guard name.allSatisfy(isTokenByte) else { throw .malformed("invalid character in a header name") }
        var value = line[(colon + 1)...]
        while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
        while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
        guard value.allSatisfy(isFieldValueByte) else {
            throw .malformed("invalid character in the value of header \(String(decoding: name, as: UTF8.self))")
        }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    // MARK: - Target

    private static func splitTarget(
        _ target: ArraySlice<UInt8>
    ) throws(HTTPRequestError) -> (String, [String], [(name: String, value: String)]) {
        let question = target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
        let pathBytes = target[target.startIndex..<question]
        var segments: [String] = []
        for segment in pathBytes.split(separator: UInt8(ascii: "/")) {
            segments.append(try percentDecode(segment, plusIsSpace: false, allowsNUL: false))
        }
        var query: [(name: String, value: String)] = []
        if question < target.endIndex {
            for pair in target[(question + 1)...].split(separator: UInt8(ascii: "&")) {
                let eq = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
                let name = try percentDecode(pair[pair.startIndex..<eq], plusIsSpace: true, allowsNUL: true)
                let value = eq < pair.endIndex ? try percentDecode(pair[(eq + 1)...], plusIsSpace: true, allowsNUL: true) : ""
                query.append((name, value))
            }
        }
        return (String(decoding: pathBytes, as: UTF8.self), segments, query)
    }

    /// Decodes `%XX` escapes (and `+` when `plusIsSpace`) and validates the result as UTF-8. A decoded NUL is
    /// refused in path segments (no file or id contains one) but kept in query values, which are data that the
    /// application validates (a query `api-version=%00` is a wrong version, not a broken request).
    static func percentDecode(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool, allowsNUL: Bool) throws(HTTPRequestError) -> String {
        let percent = UInt8(ascii: "%"), plus = UInt8(ascii: "+")
        if !bytes.contains(where: { $0 == percent || (plusIsSpace && $0 == plus) }) {
            return String(decoding: bytes, as: UTF8.self)  // ASCII VCHARs only: nothing to validate
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == percent {
                guard i + 2 < bytes.endIndex, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2])
                else { throw .malformed("a % is not followed by two hex digits") }
                let decoded = hi << 4 | lo
                guard decoded != 0 || allowsNUL else { throw .malformed("%00 in the request path") }
                out.append(decoded)
                i += 3
            } else {
                out.append(plusIsSpace && b == plus ? 0x20 : b)
                i += 1
            }
        }
        guard let string = String(validating: out, as: UTF8.self) else {
            throw .malformed("percent-decoded request target is not valid UTF-8")
        }
        return string
    }

    // MARK: - Character classes

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// `tchar` (RFC 9110 §5.6.2).
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// `field-vchar / SP / HTAB` (RFC 9110 §5.5): VCHAR, obs-text, SP, HTAB.
    private static func isFieldValueByte(_ b: UInt8) -> Bool {
        b == 0x09 || (b >= 0x20 && b != 0x7F)
    }

    /// Characters of `uri-host [":" port]` (RFC 3986 §3.2.2): unreserved, sub-delims, `%`, `:`, `[`, `]`.
    private static func isHostByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"),
            UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="),
            UInt8(ascii: "%"), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"):
            true
        default: false
        }
    }
}
