import Testing

@testable import HTTP

/// Parses `text` fed in one piece; returns every request the parser hands out.
private func parseAll(_ text: String, maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1024 * 1024)
    throws(HTTPRequestError) -> [HTTPRequest]
{
    var parser = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    parser.append(Array(text.utf8))
    var requests: [HTTPRequest] = []
    while let request = try parser.nextRequest() { requests.append(request) }
    return requests
}

/// The error `text` produces, or nil if it parses.
private func parseError(_ text: String, maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1024 * 1024)
    -> HTTPRequestError?
{
    do {
        _ = try parseAll(text, maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        return nil
    } catch {
        return error
    }
}

private func isMalformed(_ error: HTTPRequestError?) -> Bool {
    if case .malformed = error { return true }
    return false
}

@Suite struct HTTPRequestParserTests {
    @Test func parsesAGetRequestIntoEveryField() throws {
        let requests = try parseAll(
            "GET /api/users/a%2Db/?api-version=2022-07-31&x=a+b%26c&flag HTTP/1.1\r\n"
                + "Host: example.com:8080\r\nX-Custom:   padded value \t\r\nAccept: */*\r\n\r\n")
        #expect(requests.count == 1)
        let r = try #require(requests.first)
        #expect(r.method == "GET")
        #expect(r.target == "/api/users/a%2Db/?api-version=2022-07-31&x=a+b%26c&flag")
        #expect(r.path == "/api/users/a%2Db/")
        #expect(r.pathSegments == ["api", "users", "a-b"])
        #expect(r.query.map(\.name) == ["api-version", "x", "flag"])
        #expect(r.query.map(\.value) == ["2022-07-31", "a b&c", ""])
        #expect(r.queryValue("x") == "a b&c")
        #expect(r.version == .http1_1)
        #expect(r.headers.fields.map(\.name) == ["Host", "X-Custom", "Accept"])
        #expect(r.headers["x-custom"] == "padded value")
        #expect(r.headers["host"] == "example.com:8080")
        #expect(r.body.isEmpty)
        #expect(r.remoteAddress == "")
    }

    /// A NUL is refused in the path but kept in a query value, which the application validates.
    @Test func aDecodedNULIsKeptInTheQuery() throws {
        let r = try #require(try parseAll("GET /?a=x%00y HTTP/1.1\r\nHost: h\r\n\r\n").first)
        #expect(r.queryValue("a") == "x\u{0}y")
    }

    @Test func parsesABodyByContentLength() throws {
        let requests = try parseAll("PUT /d HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world")
        #expect(requests.count == 1)
        #expect(requests.first?.method == "PUT")
        #expect(requests.first?.body == Array("hello world".utf8))
    }

    @Test func answersPipelinedRequestsInOrderAndKeepsLeftovers() throws {
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        parser.append(
            Array(
                ("POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                    + "GET /two HTTP/1.1\r\nHost: h\r\n\r\n" + "GET /thr").utf8))
        let first = try parser.nextRequest()
        let second = try parser.nextRequest()
        #expect(first?.pathSegments == ["one"])
        #expect(first?.body == Array("abc".utf8))
        #expect(second?.pathSegments == ["two"])
        #expect(try parser.nextRequest() == nil)
        #expect(parser.bufferedByteCount == 8)
        parser.append(Array("ee HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(try parser.nextRequest()?.pathSegments == ["three"])
        #expect(try parser.nextRequest() == nil)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func parsesARequestFedOneByteAtATime() throws {
        let text = "POST /a/b?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n12345GET / HTTP/1.0\r\n\r\n"
        var parser = HTTPRequestParser()
        var requests: [HTTPRequest] = []
        for byte in text.utf8 {
            parser.append(CollectionOfOne(byte))
            while let r = try parser.nextRequest() { requests.append(r) }
        }
        #expect(requests.count == 2)
        #expect(requests.first?.pathSegments == ["a", "b"])
        #expect(requests.first?.queryValue("q") == "1")
        #expect(requests.first?.body == Array("12345".utf8))
        #expect(requests.last?.version == .http1_0)
        #expect(requests.last?.pathSegments == [])
    }

    @Test func skipsEmptyLinesBeforeTheRequestLine() throws {
        let requests = try parseAll("\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(requests.map(\.path) == ["/x"])
    }

    @Test func splitsAndDecodesThePath() throws {
        let r = try #require(try parseAll("GET //a//caf%C3%A9/%2F/x+y/ HTTP/1.1\r\nHost: h\r\n\r\n").first)
        #expect(r.pathSegments == ["a", "café", "/", "x+y"])
        #expect(r.path == "//a//caf%C3%A9/%2F/x+y/")
    }

    @Test func splitsQueryOnAmpersandThenFirstEquals() throws {
        let r = try #require(try parseAll("GET /?a=1=2&&b=&a=3&%C3%A9=%3D HTTP/1.1\r\nHost: h\r\n\r\n").first)
        #expect(r.query.map(\.name) == ["a", "b", "a", "é"])
        #expect(r.query.map(\.value) == ["1=2", "", "3", "="])
    }

    @Test(arguments: ["h", "h:", "h:80", "h:65535", "[::1]", "[::1]:8765", "127.0.0.1:0"])
    func aHostWithAValidPortIsAccepted(_ host: String) throws {
        #expect(try parseAll("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n").first?.headers["Host"] == host)
    }

    @Test(arguments: ["h:99999", "h:65536", "h:123456", "h:8a", "h:1:2", "::1", "[::1", "[::1]x", "a]b", "h:-1"])
    func aHostWithABadPortIsRefused(_ host: String) {
        #expect(throws: HTTPRequestError.self) { try parseAll("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n") }
        #expect(throws: HTTPRequestError.self) { try parseAll("GET http://\(host)/ HTTP/1.1\r\nHost: h\r\n\r\n") }
    }

    @Test func hostIsOptionalInHTTP10() throws {
        let r = try #require(try parseAll("GET / HTTP/1.0\r\n\r\n").first)
        #expect(r.version == .http1_0)
        #expect(r.headers.fields.isEmpty)
    }

    @Test func acceptsRepeatedIdenticalContentLengths() throws {
        let r = try parseAll("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nok")
        #expect(r.first?.body == Array("ok".utf8))
    }

    @Test func acceptsAHeaderSectionOfExactlyTheLimit() throws {
        let head = "GET / HTTP/1.1\r\nHost: h\r\nX: "
        let padding = String(repeating: "a", count: 200 - head.utf8.count - 4)
        let text = head + padding + "\r\n\r\n"
        #expect(text.utf8.count == 200)
        #expect(try parseAll(text, maxHeaderBytes: 200).count == 1)
        #expect(parseError(text, maxHeaderBytes: 199) == .headerSectionTooLarge)
    }

    @Test func refusesAHeaderSectionOverTheLimitWithoutWaitingForTheEnd() {
        var parser = HTTPRequestParser()  // 16 KiB
        parser.append(Array(("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "a", count: 16 * 1024)).utf8))
        #expect(throws: HTTPRequestError.headerSectionTooLarge) { try parser.nextRequest() }
    }

    @Test func refusesA17KiBHeaderFedInPieces() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("GET / HTTP/1.1\r\nHost: h\r\n".utf8))
        #expect(try parser.nextRequest() == nil)
        var thrown: HTTPRequestError?
        for i in 0..<17 {
            parser.append(Array(("X-\(i): " + String(repeating: "b", count: 1000) + "\r\n").utf8))
            do { _ = try parser.nextRequest() } catch {
                thrown = error
                break
            }
        }
        #expect(thrown == .headerSectionTooLarge)
    }

    @Test func refusesABodyOverTheLimitBeforeItArrives() {
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2097152\r\n\r\n") == .bodyTooLarge)
        #expect(
            parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999999999\r\n\r\n")
                == .bodyTooLarge)
        #expect(
            parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", maxBodyBytes: 10) == .bodyTooLarge)
    }

    @Test func acceptsABodyOfExactlyTheLimit() throws {
        let r = try parseAll("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", maxBodyBytes: 10)
        #expect(r.first?.body.count == 10)
    }

    @Test func refusesOtherVersions() {
        #expect(parseError("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == .versionNotSupported)
        #expect(parseError("GET / HTTP/1.2\r\nHost: h\r\n\r\n") == .versionNotSupported)
        #expect(parseError("GET / HTTP/0.9\r\nHost: h\r\n\r\n") == .versionNotSupported)
    }

    @Test func decodesAChunkedBodyWithExtensionsAndTrailersThenTheNextPipelinedRequest() throws {
        let requests = try parseAll(
            "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
                + "5;name=value\r\nhello\r\n6\r\n world\r\nA \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
                + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(requests.count == 2)
        #expect(requests.first?.body == Array("hello world0123456789".utf8))
        #expect(requests.last?.path == "/next")
    }

    @Test func aChunkedBodyArrivingByteByByteGivesTheSameRequest() throws {
        var parser = HTTPRequestParser()
        var requests: [HTTPRequest] = []
        for byte in "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".utf8 {
            parser.append(CollectionOfOne(byte))
            while let request = try parser.nextRequest() { requests.append(request) }
        }
        #expect(requests.map(\.body) == [Array("abc".utf8)])
    }

    @Test func aChunkedBodyOverTheLimitIsTooLargeBeforeItArrives() {
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n", maxBodyBytes: 1024 * 1024) == .bodyTooLarge)
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n", maxBodyBytes: 10) == .bodyTooLarge)
    }

    @Test func otherTransferCodingsAreNotImplemented() {
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == .notImplemented("Transfer-Encoding gzip"))
    }

    @Test func absoluteFormTargetsRouteByTheirPathAndTheirAuthorityBecomesTheHost() throws {
        let request = try #require(try parseAll("GET HTTP://example.test:8080/api/roles?x=1 HTTP/1.1\r\nHost: other\r\n\r\n").first)
        #expect(request.pathSegments == ["api", "roles"])
        #expect(request.queryValue("x") == "1")
        #expect(request.headers["Host"] == "example.test:8080")
        #expect(request.target == "HTTP://example.test:8080/api/roles?x=1")
        let bare = try #require(try parseAll("GET http://h?q=2 HTTP/1.1\r\nHost: h\r\n\r\n").first)
        #expect(bare.path == "/")
        #expect(bare.queryValue("q") == "2")
    }

    @Test func answersExpectContinueOnceWhileTheBodyIsMissing() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        #expect(try parser.nextRequest() == nil)
        let firstAsk = parser.takeContinueRequest()
        let secondAsk = parser.takeContinueRequest()
        #expect(firstAsk)
        #expect(!secondAsk)
        parser.append(Array("ok".utf8))
        #expect(try parser.nextRequest()?.body == Array("ok".utf8))
        let afterBody = parser.takeContinueRequest()
        #expect(!afterBody)
    }

    @Test func staysFailedAfterAnError() {
        var parser = HTTPRequestParser()
        parser.append(Array("BAD\r\n\r\n".utf8))
        #expect(throws: HTTPRequestError.self) { try parser.nextRequest() }
        parser.append(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(throws: HTTPRequestError.self) { try parser.nextRequest() }
    }

    struct MalformedCase: Sendable, CustomTestStringConvertible {
        var name: String
        var text: String
        var testDescription: String { name }
    }

    static let malformedCases: [MalformedCase] = [
        .init(name: "garbage request line", text: "HELLO THERE\r\n\r\n"),
        .init(name: "binary garbage", text: "\u{01}\u{02}\u{03} / HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "empty method", text: " / HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "double space", text: "GET  / HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "trailing space", text: "GET / HTTP/1.1 \r\nHost: h\r\n\r\n"),
        .init(name: "tab separator", text: "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "lowercase version", text: "GET / http/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "two-digit version", text: "GET / HTTP/10.1\r\nHost: h\r\n\r\n"),
        .init(name: "missing version", text: "GET /\r\nHost: h\r\n\r\n"),
        .init(name: "absolute-form of another scheme", text: "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "absolute-form without authority", text: "GET http:///a HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "chunk size not hex", text: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
        .init(name: "chunk size negative", text: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"),
        .init(name: "chunk data too long", text: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"),
        .init(name: "chunk size line bare LF", text: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n"),
        .init(name: "chunked not last", text: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        .init(name: "chunked twice", text: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
        .init(name: "empty transfer coding", text: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,\r\n\r\n"),
        .init(name: "bad trailer", text: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nNoColon\r\n\r\n"),
        .init(name: "asterisk-form", text: "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "fragment in target", text: "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "non-ASCII target", text: "GET /café HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "bare LF line ends", text: "GET / HTTP/1.1\nHost: h\n\n"),
        .init(name: "bare LF after headers", text: "GET / HTTP/1.1\r\nHost: h\r\n\n"),
        .init(name: "bare CR", text: "GET / HTTP/1.1\rHost: h\r\n\r\n"),
        .init(name: "header without colon", text: "GET / HTTP/1.1\r\nHost: h\r\nNoColonHere\r\n\r\n"),
        .init(name: "space before colon", text: "GET / HTTP/1.1\r\nHost : h\r\n\r\n"),
        .init(name: "empty header name", text: "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n"),
        .init(name: "non-token header name", text: "GET / HTTP/1.1\r\nHost: h\r\nX(y): v\r\n\r\n"),
        .init(name: "obs-fold with space", text: "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"),
        .init(name: "obs-fold with tab", text: "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n"),
        .init(name: "NUL in header value", text: "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n"),
        .init(name: "CTL in header value", text: "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{1B}b\r\n\r\n"),
        .init(name: "DEL in header value", text: "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{7F}b\r\n\r\n"),
        .init(name: "missing Host in 1.1", text: "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"),
        .init(name: "two Host headers", text: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        .init(name: "two Host headers in 1.0", text: "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"),
        .init(name: "Host with space", text: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
        .init(name: "Content-Length -1", text: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"),
        .init(name: "Content-Length +5", text: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello"),
        .init(name: "Content-Length 1.0", text: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1.0\r\n\r\nx"),
        .init(name: "Content-Length empty", text: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n"),
        .init(name: "Content-Length hex", text: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\n"),
        .init(name: "Content-Length empty element", text: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1,\r\n\r\nx"),
        .init(
            name: "differing Content-Lengths",
            text: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy"),
        .init(
            name: "differing Content-Length list", text: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\nxy"),
        .init(
            name: "Content-Length with Transfer-Encoding",
            text: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        .init(
            name: "Transfer-Encoding in HTTP/1.0",
            text: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        .init(name: "%00 in path", text: "GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "bad percent escape", text: "GET /a%zzb HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "truncated percent escape", text: "GET /a%4 HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "percent at the end of the query", text: "GET /?a=% HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "invalid UTF-8 in path", text: "GET /%FF%FE HTTP/1.1\r\nHost: h\r\n\r\n"),
        .init(name: "invalid UTF-8 in query name", text: "GET /?%C3=1 HTTP/1.1\r\nHost: h\r\n\r\n"),
    ]

    @Test(arguments: malformedCases)
    func refusesMalformedRequests(_ c: MalformedCase) {
        let error = parseError(c.text)
        #expect(isMalformed(error), "\(c.name): got \(String(describing: error))")
    }

    @Test(arguments: malformedCases)
    func refusesMalformedRequestsFedByteByByte(_ c: MalformedCase) {
        var parser = HTTPRequestParser()
        var error: HTTPRequestError?
        do {
            for byte in c.text.utf8 {
                parser.append(CollectionOfOne(byte))
                while try parser.nextRequest() != nil {}
            }
        } catch let e {
            error = e
        }
        #expect(isMalformed(error), "\(c.name): got \(String(describing: error))")
    }
}
