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
        /// Set for a chunked body (RFC 9112 §7.1): where decoding goes on, and what has been decoded so far.
        var chunked: ChunkedBody?
    }

    /// The progress of decoding a chunked body.
    private struct ChunkedBody: Sendable {
        enum Step: Sendable, Equatable {
            case size
            case data(Int)
            case trailers
        }
        var step = Step.size
        /// Buffer index where the next chunk-size line, chunk data or trailer line begins.
        var cursor: Int
        var decoded: [UInt8] = []
        /// Bytes of trailer fields so far (bounded like the header section).
        var trailerBytes = 0
    }

    /// The longest chunk-size line accepted, extensions included (they are ignored).
    static let maxChunkSizeLine = 1024

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

    /// True while a request's head is complete but its body is not (the server's body deadline runs).
    public var isReadingBody: Bool { pending != nil && failure == nil }

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
                pending = PendingHead(head: head.parsed, bodyStart: headEnd, bodyLength: 0, chunked: ChunkedBody(cursor: headEnd))
                start = headEnd
            }
            continueAnswered = false
        }
        guard let request = pending else { return nil }
        if request.chunked != nil { return try decodeChunked() }
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

    /// Decodes as much of a chunked body as has arrived (RFC 9112 §7.1): `chunk-size [; ext] CRLF data CRLF`,
    /// repeated, then `0 CRLF`, trailer fields (read and dropped) and CRLF. Returns the request once complete.
    /// - Throws: `.bodyTooLarge` once the decoded size passes `maxBodyBytes`; `.malformed` for a size that is not
    ///   hex, a size line over 1 KiB, data not followed by CRLF, or a bad trailer line; `.headerSectionTooLarge`
    ///   for trailers over `maxHeaderBytes`.
    private mutating func decodeChunked() throws(HTTPRequestError) -> HTTPRequest? {
        guard var request = pending, var body = request.chunked else { return nil }
        defer { if pending != nil { pending?.chunked = body } }
        while true {
            switch body.step {
            case .size:
                guard let lineEnd = try lineEnd(from: body.cursor, limit: Self.maxChunkSizeLine, what: "chunk-size line") else { return nil }
                var digits = buffer[body.cursor..<lineEnd]
                if let semicolon = digits.firstIndex(of: UInt8(ascii: ";")) { digits = digits[digits.startIndex..<semicolon] }
                while let last = digits.last, last == 0x20 || last == 0x09 { digits = digits.dropLast() }
                guard !digits.isEmpty, digits.count <= 16, digits.allSatisfy({ Self.hexValue($0) != nil }) else {
                    throw .malformed("invalid chunk size")
                }
                let size = digits.reduce(0) { $0 << 4 | Int(Self.hexValue($1) ?? 0) }
                guard size >= 0, size <= maxBodyBytes - body.decoded.count else { throw .bodyTooLarge }
                body.cursor = lineEnd + 2
                body.step = size == 0 ? .trailers : .data(size)
            case .data(let size):
                guard buffer.count >= body.cursor + size + 2 else { return nil }
                guard buffer[body.cursor + size] == 13, buffer[body.cursor + size + 1] == 10 else {
                    throw .malformed("chunk data is not followed by CRLF")
                }
                body.decoded.append(contentsOf: buffer[body.cursor..<body.cursor + size])
                body.cursor += size + 2
                body.step = .size
            case .trailers:
                guard let lineEnd = try lineEnd(from: body.cursor, limit: maxHeaderBytes - body.trailerBytes, what: "trailer section") else {
                    return nil
                }
                let line = buffer[body.cursor..<lineEnd]
                body.trailerBytes += line.count + 2
                body.cursor = lineEnd + 2
                guard line.isEmpty else {
                    _ = try Self.parseFieldLine(line)  // checked, then dropped (RFC 9112 §7.1.2)
                    continue
                }
                pending = nil
                start = body.cursor
                searchFrom = body.cursor
                request.chunked = nil
                let h = request.head
                return HTTPRequest(
                    method: h.method, target: h.target, path: h.path, pathSegments: h.pathSegments, query: h.query,
                    version: h.version, headers: h.headers, body: body.decoded)
            }
        }
    }

    /// The index of the CR of the next CRLF at or after `from`, or nil when none has arrived yet.
    /// - Throws: `.malformed` for a bare CR or LF, or more than `limit` bytes without a line end
    ///   (`.headerSectionTooLarge` when `what` is the trailer section).
    private func lineEnd(from: Int, limit: Int, what: String) throws(HTTPRequestError) -> Int? {
        var i = from
        while i < buffer.count {
            if i - from > limit {
                if what == "trailer section" { throw .headerSectionTooLarge }
                throw .malformed("\(what) too long")
            }
            let b = buffer[i]
            if b == 13 {
                guard i + 1 < buffer.count else { return nil }
                guard buffer[i + 1] == 10 else { throw .malformed("bare CR in \(what)") }
                return i
            }
            if b == 10 { throw .malformed("bare LF in \(what)") }
            i += 1
        }
        if i - from > limit {
            if what == "trailer section" { throw .headerSectionTooLarge }
            throw .malformed("\(what) too long")
        }
        return nil
    }

    /// Drops consumed bytes from the front of the buffer when that is worth the copy.
    private mutating func compact() {
        if start == 0 { return }
        if start >= buffer.count {
            buffer.removeAll(keepingCapacity: true)
            pending = pending.map { var p = $0; p.bodyStart -= start; p.chunked?.cursor -= start; return p }
            searchFrom = max(0, searchFrom - start)
            start = 0
        } else if start >= 4096 && start * 2 >= buffer.count {
            buffer.removeSubrange(0..<start)
            pending = pending.map { var p = $0; p.bodyStart -= start; p.chunked?.cursor -= start; return p }
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
        /// The transfer codings named by every `Transfer-Encoding` field, in order, lower-cased.
        var transferCodings: [String]
    }

    /// Decides how the body is delimited (RFC 9112 §6.1–§6.3).
    private func bodyFraming(_ head: Head) throws(HTTPRequestError) -> BodyFraming {
        if !head.transferCodings.isEmpty {
            if !head.contentLengths.isEmpty {
                throw .malformed("both Transfer-Encoding and Content-Length are present")
            }
            if head.parsed.version == .http1_0 {
                throw .malformed("Transfer-Encoding in an HTTP/1.0 request")
            }
            // chunked must be the final coding of a request (RFC 9112 §6.3); other codings are not implemented.
            guard head.transferCodings.last == "chunked" else { throw .malformed("the final transfer coding is not chunked") }
            guard head.transferCodings.filter({ $0 == "chunked" }).count == 1 else {
                throw .malformed("chunked is applied more than once")  // RFC 9112 §7
            }
            guard head.transferCodings.count == 1 else {
                throw .notImplemented("Transfer-Encoding \(head.transferCodings.dropLast().joined(separator: ", "))")
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
        var transferCodings: [String] = []
        var hostCount = 0
        for line in lines.dropFirst() where !line.isEmpty {
            let (name, value) = try Self.parseFieldLine(line)
            if name.caseInsensitiveEquals("Content-Length") {
                contentLengths.append(value)
            } else if name.caseInsensitiveEquals("Transfer-Encoding") {
                let codings = value.split(separator: ",", omittingEmptySubsequences: false).map { String(Substring(Self.trimOWS($0.utf8))).lowercased() }
                guard !codings.isEmpty, !codings.contains("") else { throw .malformed("empty transfer coding") }
                transferCodings += codings
            } else if name.caseInsensitiveEquals("Host") {
                hostCount += 1
                guard value.utf8.allSatisfy(Self.isHostByte), Self.hasValidPort(Array(value.utf8)) else { throw .malformed("invalid Host value") }
            }
            headers.add(name, value)
        }
        if hostCount > 1 { throw .malformed("more than one Host header") }
        if version == .http1_1 && hostCount == 0 { throw .malformed("HTTP/1.1 request without a Host header") }

        // absolute-form (RFC 9112 §3.2.2): route by its path, and its authority replaces the Host value.
        var originTarget = target
        if let (authority, rest) = Self.absoluteFormSplit(target) {
            guard !authority.isEmpty, authority.allSatisfy(Self.isHostByte), Self.hasValidPort(Array(authority)) else {
                throw .malformed("invalid authority in the request target")
            }
            headers.set("Host", String(decoding: authority, as: UTF8.self))
            originTarget = rest
        }
        let (path, pathSegments, query) = try Self.splitTarget(originTarget)
        let parsed = ParsedHead(
            method: method, target: String(decoding: target, as: UTF8.self), path: path,
            pathSegments: pathSegments, query: query, version: version, headers: headers)
        return Head(parsed: parsed, contentLengths: contentLengths, transferCodings: transferCodings)
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
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "#") }) else {
            throw .malformed("invalid character in the request target")
        }
        guard target.first == UInt8(ascii: "/") || absoluteFormSplit(target) != nil else {
            throw .malformed("the request target is neither origin-form (/path) nor absolute-form (http://host/path)")
        }
        return (String(decoding: method, as: UTF8.self), target, version)
    }

    /// Splits an absolute-form target `http://authority/path?query` (scheme http or https, any case) into the
    /// authority and the origin-form rest (`/` when the path is empty); nil for anything else.
    static func absoluteFormSplit(_ target: ArraySlice<UInt8>) -> (authority: ArraySlice<UInt8>, rest: ArraySlice<UInt8>)? {
        let text = target.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        let schemeLength: Int
        if text.starts(with: Array("http://".utf8)) { schemeLength = 7 }
        else if text.starts(with: Array("https://".utf8)) { schemeLength = 8 }
        else { return nil }
        let afterScheme = target.dropFirst(schemeLength)
        let authorityEnd = afterScheme.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? afterScheme.endIndex
        let authority = afterScheme[afterScheme.startIndex..<authorityEnd]
        var rest = afterScheme[authorityEnd...]
        if rest.first != UInt8(ascii: "/") { rest = ArraySlice([UInt8(ascii: "/")] + rest) }
        return (authority, rest)
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

    /// Whether `uri-host [":" port]` has at most one port, of up to five digits and at most 65535 (RFC 3986 §3.2.3;
    /// an empty port is allowed); an IPv6 literal in brackets may hold colons of its own.
    static func hasValidPort(_ value: [UInt8]) -> Bool {
        var rest = value[...]
        if rest.first == UInt8(ascii: "[") {
            guard let close = rest.firstIndex(of: UInt8(ascii: "]")) else { return false }
            rest = rest[(close + 1)...]
            if rest.isEmpty { return true }
            guard rest.first == UInt8(ascii: ":") else { return false }
        } else {
            guard !rest.contains(UInt8(ascii: "[")), !rest.contains(UInt8(ascii: "]")) else { return false }
            let colons = rest.filter { $0 == UInt8(ascii: ":") }.count
            if colons == 0 { return true }
            guard colons == 1, let colon = rest.firstIndex(of: UInt8(ascii: ":")) else { return false }
            rest = rest[colon...]
        }
        let port = rest.dropFirst()
        guard port.count <= 5, port.allSatisfy({ (0x30...0x39).contains($0) }) else { return false }
        return port.isEmpty || port.reduce(0) { $0 * 10 + Int($1 - 0x30) } <= 65535
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
