import Foundation
import Testing

@testable import Central
@testable import MockServer

/// Bad input at the HTTP level, through a live in-process server: each gets a clear error in the IoT Central
/// envelope and changes nothing.
@Suite struct HTTPEndToEndTests {
    static let v = "api-version=2022-07-31"

    /// The users and tokens of the app, to compare before and after.
    func state(_ server: MockServer) throws -> String {
        let admin = server.wellKnownToken() ?? ""
        let client = try RawHTTPClient(port: server.port)
        return try client.request("GET", "/api/users?\(Self.v)", token: admin).text + client.request("GET", "/api/apiTokens?\(Self.v)", token: admin).text
    }

    @Test(arguments: [
        ("garbage request line", "HELLO\r\n\r\n", 400),
        ("header without colon", "GET /api/roles?api-version=2022-07-31 HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", 400),
        ("negative Content-Length", "PUT /api/users/u?api-version=2022-07-31 HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        ("NUL in path", "GET /api/users/a%00b?api-version=2022-07-31 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("2 MiB body", "PUT /api/users/u?api-version=2022-07-31 HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n", 413),
        ("17 KiB header", "GET /api/roles HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 17 * 1024))\r\n\r\n", 431),
    ] as [(String, String, Int)])
    func malformedRequestsGetAnEnvelopeAndTheConnectionCloses(_ name: String, _ raw: String, _ status: Int) throws {
        let server = try startServer()
        defer { server.stop() }
        let before = try state(server)
        let client = try RawHTTPClient(port: server.port)
        client.send(raw)
        let response = try client.readResponse()
        #expect(response.status == status, "\(name): \(response.statusLine) \(response.text)")
        #expect(response.json["error"]?["code"]?.stringValue != nil, "\(name): not an envelope: \(response.text)")
        #expect(response.header("x-ms-request-id") != nil)
        #expect(response.header("x-ms-error-code") == response.json["error"]?["code"]?.stringValue)
        #expect(client.isClosedByPeer(), "\(name): the connection must close")
        #expect(try state(server) == before)
    }

    @Test func twoMiBOfBodyActuallySentIsRefusedWithoutHarm() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let body = "{\"type\":\"email\",\"email\":\"" + String(repeating: "a", count: 2 * 1024 * 1024) + "@b.co\",\"roles\":[]}"
        let response = try client.request("PUT", "/api/users/big?\(Self.v)", token: server.wellKnownToken(), body: body)
        #expect(response.status == 413)
        let check = try RawHTTPClient(port: server.port)
        #expect(try check.request("GET", "/api/users/big?\(Self.v)", token: server.wellKnownToken()).status == 404)
    }

    @Test func keepAliveServesSeveralRequestsAndEveryResponseHasARequestID() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = server.wellKnownToken()
        var ids = Set<String>()
        for path in ["/api/roles?\(Self.v)", "/api/roles/?\(Self.v)", "/api/users?\(Self.v)", "/api/nothing?\(Self.v)", "/?\(Self.v)"] {
            let r = try client.request("GET", path, token: admin)
            ids.insert(try #require(r.header("x-ms-request-id")))
        }
        #expect(ids.count == 5)
    }

    @Test func aTrailingSlashIsAccepted() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        #expect(try client.request("GET", "/api/roles/?\(Self.v)", token: server.wellKnownToken()).status == 200)
        #expect(try client.request("GET", "/api/apiTokens/iotc-mock-admin/?\(Self.v)", token: server.wellKnownToken()).status == 200)
    }

    @Test func twoContentTypeHeadersAreRefusedLikeOneListingBoth() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let body = #"{"roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}"#
        let r = try client.request("PUT", "/api/apiTokens/t?\(Self.v)", token: server.wellKnownToken(), body: body, headers: [("Content-Type", "text/plain")])
        expectEnvelope(r, status: 415, code: "UnsupportedMediaType")
        #expect(try client.request("GET", "/api/apiTokens/t?\(Self.v)", token: server.wellKnownToken()).status == 404)
    }

    @Test func unknownPathsAndMethodsGetEnvelopes() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        expectEnvelope(try client.request("GET", "/api/widgets?\(Self.v)", token: server.wellKnownToken()), status: 404, code: "NotFound")
        expectEnvelope(try client.request("GET", "/api/devices/d1/widgets?\(Self.v)", token: server.wellKnownToken()), status: 404, code: "NotFound")
        expectEnvelope(try client.request("GET", "/favicon.ico"), status: 404, code: "NotFound")
        let r = try client.request("POST", "/api/users?\(Self.v)", token: server.wellKnownToken(), body: "{}")
        expectEnvelope(r, status: 405, code: "MethodNotAllowed")
        #expect(r.header("Allow") == "GET")
    }

    @Test func missingAuthorizationOverHTTPGetsTheExact401() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        for token in [nil, "Basic dXNlcjpwYXNz", "Bearer abc.def.ghi", "Token x"] as [String?] {
            let r = try client.request("GET", "/api/roles?\(Self.v)", token: token)
            expectEnvelope(r, status: 401, code: "Unauthenticated")
            #expect(r.json["error"]?["message"]?.stringValue?.hasPrefix("The provided authentication token is invalid. You can contact support") == true)
        }
    }

    @Test func listsPageOverHTTPWithANextLinkOnThisServer() throws {
        let server = try startServer(pageSize: 1)
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = server.wellKnownToken()
        #expect(try client.request("PUT", "/api/apiTokens/second?\(Self.v)", token: admin, body: #"{"roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}"#).status == 200)
        let first = try client.request("GET", "/api/apiTokens?\(Self.v)", token: admin)
        let next = try #require(first.json["nextLink"]?.stringValue)
        // The Host header named no port: the link carries the port the connection arrived on.
        #expect(next.hasPrefix("http://127.0.0.1:\(server.port)/api/apiTokens?api-version=2022-07-31&$skiptoken="))
        let withPort = try client.request("GET", "/api/apiTokens?\(Self.v)", token: admin, host: "localhost:9999")
        #expect(withPort.json["nextLink"]?.stringValue?.hasPrefix("http://localhost:9999/api/apiTokens?") == true)
        let target = try #require(URLComponents(string: next).map { $0.percentEncodedPath + "?" + ($0.percentEncodedQuery ?? "") })
        let second = try client.request("GET", target + "&api-version=2022-07-31", token: admin)
        #expect(second.json["value"]?.arrayValue?.first?["id"] == .string("second"))
        #expect(second.json["nextLink"] == nil)
    }

    @Test func concurrentWritersDoNotLoseOrCorruptData() async throws {
        let server = try startServer()
        defer { server.stop() }
        let admin = try #require(server.wellKnownToken())
        let port = server.port
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<16 {
                group.addTask {
                    let client = try RawHTTPClient(port: port)
                    return try client.request("PUT", "/api/users/u\(i)?api-version=2022-07-31", token: admin,
                        body: #"{"type":"email","email":"same@contoso.com","roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}"#).status
                }
            }
            var statuses: [Int] = []
            for try await status in group { statuses.append(status) }
            #expect(statuses.filter { $0 == 200 }.count == 1, "exactly one user may own the email: \(statuses)")
            #expect(statuses.filter { $0 == 422 }.count == 15)
        }
        let client = try RawHTTPClient(port: port)
        #expect(try client.request("GET", "/api/users?\(Self.v)", token: admin).json["value"]?.arrayValue?.count == 2, "the owner and the one winner")
    }
}

@Suite struct QueryEdgeCaseTests {
    /// Found by schemathesis: a NUL in a query value is data, so the answer is the version check's 404.
    @Test func aNULInTheApiVersionIsAnInvalidVersionNotABrokenRequest() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        expectEnvelope(try client.request("GET", "/api/roles?api-version=%00", token: server.wellKnownToken()), status: 404, code: "NotFound")
    }
}

@Suite struct ConnectionLimitTests {
    @Test func pastTheConnectionLimitTheAnswerIs503InTheEnvelopeWithARequestID() throws {
        let server = try startServer(maxConnections: 1)
        defer { server.stop() }
        let first = try RawHTTPClient(port: server.port)
        #expect(try first.request("GET", "/api/roles?api-version=2022-07-31", token: server.wellKnownToken()).status == 200)
        let second = try RawHTTPClient(port: server.port)
        let response = try second.readResponse()
        expectEnvelope(response, status: 503, code: "ServiceUnavailable")
        #expect(response.header("Retry-After") == "1")
    }
}

@Suite struct HTTP10Tests {
    /// HTTP/1.0 needs no Host; the nextLink then names the address the server is bound to.
    @Test func anHTTP10RequestWithoutHostGetsANextLinkWithTheBoundPort() throws {
        let server = try startServer(pageSize: 1)
        defer { server.stop() }
        let admin = try #require(server.wellKnownToken())
        let client = try RawHTTPClient(port: server.port)
        #expect(try client.request("PUT", "/api/apiTokens/two?api-version=2022-07-31", token: admin, body: #"{"roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}"#).status == 200)
        let old = try RawHTTPClient(port: server.port)
        old.send("GET /api/apiTokens?api-version=2022-07-31 HTTP/1.0\r\nAuthorization: \(admin)\r\n\r\n")
        let response = try old.readResponse()
        #expect(response.status == 200)
        #expect(response.json["nextLink"]?.stringValue?.hasPrefix("http://127.0.0.1:\(server.port)/api/apiTokens?") == true)
    }
}

@Suite struct PathCaseTests {
    @Test func theApiPrefixIgnoresCaseLikeTheRestOfThePath() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        #expect(try client.request("GET", "/API/ROLES?api-version=2022-07-31", token: server.wellKnownToken()).status == 200)
    }
}

@Suite struct UserIdOverHTTPTests {
    /// `%2F` decodes to a `/` inside the id segment, which the userId pattern refuses (422), rather than
    /// routing to another path.
    @Test func aUserIdWithAnEncodedSlashIsRefusedAndNothingIsStored() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = server.wellKnownToken()
        let body = #"{"type":"email","email":"a@b.co","roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}"#
        expectEnvelope(try client.request("PUT", "/api/users/a%2Fb?api-version=2022-07-31", token: admin, body: body), status: 422, code: "InvalidBody")
        #expect(try client.request("GET", "/api/users/a?api-version=2022-07-31", token: admin).status == 404)
        #expect(try client.request("GET", "/api/users?api-version=2022-07-31", token: admin).json["value"]?.arrayValue?.count == 1)
    }
}
