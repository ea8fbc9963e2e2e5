import Foundation
import Synchronization
import Testing

@testable import Central
@testable import MockServer

/// Several applications in one server, picked by `Host`, and the control plane under `/_mock/`.
@Suite struct MultiApplicationTests {
    static let v = "api-version=2022-07-31"

    @Test func twoApplicationsAreIsolatedFromEachOther() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let created = try client.request("POST", "/_mock/apps", body: #"{"subdomain":"team-a"}"#)
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.json["id"]?.stringValue)
        let token = try #require(created.json["adminToken"]?.stringValue)
        #expect(created.json["url"] == .string("http://team-a.localhost:\(server.port)"))
        let admin = try #require(server.wellKnownToken())
        #expect(token != admin, "each application signs with its own key")

        let user = #"{"type":"email","email":"ann@contoso.com","roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}"#
        #expect(try client.request("PUT", "/api/users/ann?\(Self.v)", token: token, body: user, host: "team-a.localhost:\(server.port)").status == 200)
        #expect(try client.request("PUT", "/api/organizations/north?\(Self.v)", token: token, body: #"{"displayName":"North"}"#, host: "team-a.localhost").status == 200)
        // The default application sees none of it, by IP, bare localhost or its own subdomain.
        for host in ["127.0.0.1", "localhost:1234", "iotc-mock.localhost", "[::1]:8765", "\(server.application.id).localhost"] {
            #expect(try client.request("GET", "/api/users/ann?\(Self.v)", token: admin, host: host).status == 404, "\(host)")
            #expect(try client.request("GET", "/api/organizations/north?\(Self.v)", token: admin, host: host).status == 404, "\(host)")
        }
        // The app GUID picks it as well as the subdomain, in any case.
        #expect(try client.request("GET", "/api/users/ann?\(Self.v)", token: token, host: "\(id.uppercased()).example.test").status == 200)
        #expect(try client.request("GET", "/api/users/ann?\(Self.v)", token: token, host: "TEAM-A.azureiotcentral.com").status == 200)
        // Tokens of one application do not open the other.
        let crossed = try client.request("GET", "/api/roles?\(Self.v)", token: token)
        expectEnvelope(crossed, status: 401, code: "Unauthenticated")
        #expect(crossed.header("x-iotc-mock-reason")?.contains("the token is for the application '\(id)'") == true)
        #expect(try client.request("GET", "/api/roles?\(Self.v)", token: admin, host: "team-a.localhost").status == 401)
        // An unknown application is a 404 envelope.
        let unknown = try client.request("GET", "/api/roles?\(Self.v)", token: admin, host: "nobody.localhost")
        expectEnvelope(unknown, status: 404, code: "NotFound")
        #expect(unknown.json["error"]?["message"]?.stringValue?.contains("'nobody'") == true)
    }

    @Test func applicationsAreListedCreatedFromAFixtureAndDeleted() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let made = try client.request("POST", "/_mock/apps", body: #"{"fixture":"spec-examples"}"#)
        #expect(made.status == 201)
        let subdomain = try #require(made.json["subdomain"]?.stringValue)
        #expect(subdomain.hasPrefix("app-") && subdomain.count == 12)
        let token = try #require(made.json["adminToken"]?.stringValue)
        let organizations = try client.request("GET", "/api/organizations?\(Self.v)", token: token, host: "\(subdomain).localhost")
        #expect(organizations.json["value"]?.arrayValue?.count == 3, "the spec-examples fixture's organizations")
        let list = try client.request("GET", "/_mock/apps")
        #expect(list.json["value"]?.arrayValue?.map { $0["default"] } == [.bool(true), .bool(false)])

        #expect(try client.request("POST", "/_mock/apps", body: #"{"subdomain":"\#(subdomain)"}"#).status == 409)
        for bad in [#"{"subdomain":"-x"}"#, #"{"subdomain":"a.b"}"#, #"{"subdomain":"83f94f28-4f76-40b6-b518-13b8f67f42c5"}"#, #"{"subdomain":5}"#, #"{"color":"red"}"#, "[]"] {
            #expect(try client.request("POST", "/_mock/apps", body: bad).status == 400, "\(bad)")
        }
        #expect(try client.request("POST", "/_mock/apps", body: #"{"fixture":"../roles"}"#).status == 404)
        #expect(try client.request("DELETE", "/_mock/apps/\(server.application.id)").status == 409, "the default app stays")
        #expect(try client.request("DELETE", "/_mock/apps/\(subdomain)").status == 204)
        #expect(try client.request("GET", "/api/organizations?\(Self.v)", token: token, host: "\(subdomain).localhost").status == 404)
        #expect(try client.request("DELETE", "/_mock/apps/\(subdomain)").status == 404)
        #expect(try client.request("GET", "/_mock/apps").json["value"]?.arrayValue?.count == 1)
    }

    @Test func resetRestoresTheFixtureAndRevokesTokensCreatedSince() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let made = try client.request("PUT", "/api/apiTokens/since?\(Self.v)", token: admin, body: #"{"roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}"#)
        let since = try #require(made.json["token"]?.stringValue)
        #expect(try client.request("PUT", "/api/users/ann?\(Self.v)", token: admin, body: #"{"type":"email","email":"ann@contoso.com","roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}"#).status == 200)
        #expect(try client.request("PUT", "/api/organizations/north?\(Self.v)", token: admin, body: #"{"displayName":"North"}"#).status == 200)
        #expect(try client.request("DELETE", "/api/apiTokens/iotc-mock-admin?\(Self.v)", token: admin).status == 204)
        #expect(server.wellKnownToken() == nil)

        let reset = try client.request("POST", "/_mock/apps/iotc-mock/reset")
        #expect(reset.status == 200)
        #expect(reset.json["adminToken"] == .string(admin), "the fixture's token is back, with the same string")
        let revoked = try client.request("GET", "/api/roles?\(Self.v)", token: since)
        #expect(revoked.status == 401)
        #expect(revoked.header("x-iotc-mock-reason")?.contains("no API token with id 'since'") == true)
        let users = try client.request("GET", "/api/users?\(Self.v)", token: admin)
        #expect(users.json["value"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["iotc-mock-owner"])
        #expect(try client.request("GET", "/api/organizations?\(Self.v)", token: admin).text == #"{"value":[]}"#)
        #expect(try client.request("POST", "/_mock/apps/nope/reset").status == 404)
    }

    @Test func healthIsNotReadyBeforeStartReadyAfterAndNotReadyWhileStopping() throws {
        var configuration = MockServerConfiguration.ephemeral
        configuration.fixturesDirectory = Paths.fixtures.path
        let server = try MockServer(configuration: configuration)
        #expect(!server.isHealthy)
        try server.start()
        #expect(server.isHealthy)
        let client = try RawHTTPClient(port: server.port)
        let health = try client.request("GET", "/_mock/health")
        #expect(health.status == 200)
        #expect(health.json["status"] == .string("ok"))
        #expect(try client.request("HEAD", "/_mock/health").status == 200)
        #expect(try client.request("POST", "/_mock/health").status == 405)
        server.stop()
        #expect(!server.isHealthy)
    }

    @Test func concurrentDeletesOfOneApplicationAnswer204Once() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        #expect(try client.request("POST", "/_mock/apps", body: #"{"subdomain":"gone"}"#).status == 201)
        let statuses = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let status = (try? RawHTTPClient(port: server.port).request("DELETE", "/_mock/apps/gone").status) ?? 0
            statuses.withLock { $0.append(status) }
        }
        #expect(statuses.withLock { $0.sorted() } == [204, 404, 404, 404, 404, 404, 404, 404])
        // Control operations other than the journal take no query parameters.
        #expect(try client.request("DELETE", "/_mock/faults?id=1").status == 400)
        #expect(try client.request("POST", "/_mock/apps?subdomain=zz").status == 400)
        let entra = try client.request("PUT", "/_mock/entra")
        #expect(entra.status == 405)
        #expect(entra.header("Allow") == "GET")
        #expect(try client.request("GET", "/_mock/entra/726878f1-1cb5-489c-a4f1-581d7b3c5984/users").header("Allow") == "POST")
    }

    @Test func theControlPlaneNeedsTheKeyWhenOneIsSetButHealthNever() throws {
        let server = try startServer { $0.controlKey = "s3cret" }
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        #expect(try client.request("GET", "/_mock/health").status == 200)
        let missing = try client.request("GET", "/_mock/apps")
        #expect(missing.status == 401)
        #expect(missing.json["error"]?["code"] == .string("Unauthenticated"))
        #expect(try client.request("GET", "/_mock/apps", headers: [("x-iotc-mock-key", "wrong")]).status == 401)
        #expect(try client.request("GET", "/_mock/apps", headers: [("x-iotc-mock-key", "s3cret")]).status == 200)
        #expect(try client.request("GET", "/_mock/entra", headers: [("x-iotc-mock-key", "s3cret")]).status == 200)
        #expect(try client.request("GET", "/_mock/nothing", headers: [("x-iotc-mock-key", "s3cret")]).status == 404)
        // Two key headers are refused whichever comes first.
        #expect(try client.request("GET", "/_mock/apps", headers: [("x-iotc-mock-key", "s3cret"), ("x-iotc-mock-key", "bad")]).status == 401)
        #expect(try client.request("GET", "/_mock/apps", headers: [("x-iotc-mock-key", "bad"), ("x-iotc-mock-key", "s3cret")]).status == 401)
    }
}

/// Clock, journal, throttling and faults.
@Suite struct ControlPlaneTests {
    static let v = "api-version=2022-07-31"
    static let operatorRole = "ae2c9854-393b-4f97-8c42-479d70ce626e"

    @Test func aClockStepExpiresAPITokensAndBearerTokensAndTheNextBearerTokenIsFresh() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let expiry = Timestamp.iso8601(milliseconds: Timestamp.nowMilliseconds() + 3_600_000)
        let made = try client.request("PUT", "/api/apiTokens/hour?\(Self.v)", token: admin, body: #"{"roles":[{"role":"\#(Self.operatorRole)"}],"expiry":"\#(expiry)"}"#)
        let hour = try #require(made.json["token"]?.stringValue)
        let sp = #"{"type":"servicePrincipal","tenantId":"726878f1-1cb5-489c-a4f1-581d7b3c5984","objectId":"02a70a2d-68af-45ae-b566-7556a18f5405","roles":[{"role":"\#(Self.operatorRole)"}]}"#
        #expect(try client.request("PUT", "/api/users/ci?\(Self.v)", token: admin, body: sp).status == 200)
        let entra = try #require(server.entra)
        let before = try #require(entra.issueToken(for: "iotc-mock-ci")).token
        #expect(try client.request("GET", "/api/jobs?\(Self.v)", token: hour).status == 200)
        #expect(try client.request("GET", "/api/jobs?\(Self.v)", token: "Bearer \(before)").status == 200)

        let stepped = try client.request("POST", "/_mock/clock", body: #"{"offsetSeconds":7200}"#)
        #expect(stepped.json["offsetSeconds"] == .number(7200))
        #expect(try client.request("GET", "/_mock/clock").json["offsetSeconds"] == .number(7200))
        let expired = try client.request("GET", "/api/jobs?\(Self.v)", token: hour)
        expectEnvelope(expired, status: 401, code: "Unauthenticated")
        #expect(expired.header("x-iotc-mock-reason")?.contains("expired at \(expiry)") == true)
        let staleBearer = try client.request("GET", "/api/jobs?\(Self.v)", token: "Bearer \(before)")
        #expect(staleBearer.status == 401)
        #expect(staleBearer.header("x-iotc-mock-reason")?.contains("expired") == true)
        // A token fetched after the step, over the real token endpoint, is fresh by the shifted clock.
        let form = "grant_type=client_credentials&client_id=bfa26516-349e-48e7-acdc-5207da73e9bb&client_secret=iotc-mock-ci-secret&scope=https%3A%2F%2Fapps.azureiotcentral.com%2F.default"
        let issued = try client.request(
            "POST", "/726878f1-1cb5-489c-a4f1-581d7b3c5984/oauth2/v2.0/token", body: form, headers: [])
        let fresh = try #require(issued.json["access_token"]?.stringValue, "\(issued.text)")
        #expect(try client.request("GET", "/api/jobs?\(Self.v)", token: "Bearer \(fresh)").status == 200)
        #expect((try? server.entra?.verify(fresh, now: Timestamp.nowMilliseconds() / 1000)) == nil, "issued at the shifted time, so not yet valid by the system clock")

        #expect(try client.request("POST", "/_mock/clock", body: #"{"offsetSeconds":0}"#).status == 200)
        #expect(try client.request("GET", "/api/jobs?\(Self.v)", token: hour).status == 200, "stepping back revives it")
        for bad in [#"{"offsetSeconds":"1"}"#, #"{"offsetSeconds":1.5}"#, #"{"offsetSeconds":6000000000}"#, #"{}"#, "nope"] {
            #expect(try client.request("POST", "/_mock/clock", body: bad).status == 400, "\(bad)")
        }
    }

    @Test func theJournalKeepsTheLastRequestsWithWhoAndWhy() throws {
        let server = try startServer { $0.journalCapacity = 5 }
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let made = try client.request("PUT", "/api/apiTokens/op?\(Self.v)", token: admin, body: #"{"roles":[{"role":"\#(Self.operatorRole)"}]}"#)
        let op = try #require(made.json["token"]?.stringValue)
        for _ in 0..<4 { _ = try client.request("GET", "/api/roles?\(Self.v)", token: admin) }
        let denied = try client.request("GET", "/api/users?\(Self.v)", token: op)
        #expect(denied.status == 403)
        _ = try client.request("GET", "/api/users?\(Self.v)", token: "SharedAccessSignature nonsense")

        let journal = try client.request("GET", "/_mock/journal")
        #expect(journal.json["capacity"] == .number(5))
        let entries = try #require(journal.json["value"]?.arrayValue)
        #expect(entries.count == 5, "bounded: the 6 oldest of 11 requests are gone")
        #expect(entries.map { $0["status"] } == [.number(200), .number(200), .number(200), .number(403), .number(401)])
        let forbidden = entries[3]
        #expect(forbidden["principal"] == .string("apiToken:op"))
        #expect(forbidden["operationId"] == .string("Users_List"))
        #expect(forbidden["permission"] == .string("users.view"))
        #expect(forbidden["decision"] == .string("denied"))
        #expect(forbidden["reason"]?.stringValue == denied.header("x-iotc-mock-reason"))
        #expect(forbidden["requestId"]?.stringValue == denied.header("x-ms-request-id"))
        #expect(forbidden["application"] == .string(server.application.id))
        #expect(entries[4]["decision"] == .string("unauthenticated"))
        #expect(entries[4]["reason"]?.stringValue?.contains("malformed") == true)
        #expect(entries[0]["decision"] == .string("allowed"))

        let onlyDenied = try client.request("GET", "/_mock/journal?status=403")
        #expect(onlyDenied.json["value"]?.arrayValue?.count == 1)
        #expect(try client.request("GET", "/_mock/journal?app=iotc-mock&limit=2").json["value"]?.arrayValue?.count == 2)
        #expect(try client.request("GET", "/_mock/journal?app=nobody").status == 404)
        #expect(try client.request("GET", "/_mock/journal?status=abc").status == 400)
        #expect(try client.request("DELETE", "/_mock/journal").status == 204)
        #expect(try client.request("GET", "/_mock/journal").json["value"]?.arrayValue?.isEmpty == true)
    }

    @Test func everyRefusalSaysWhyInAHeader() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let cases: [(String?, String)] = [
            (nil, "no Authorization header"),
            ("Basic YTpi", "the scheme 'Basic' is neither"),
            ("Bearer not-a-jwt", "the bearer token is not valid"),
            (admin.replacingOccurrences(of: "skn=iotc-mock-admin", with: "skn=ghost"), "no API token with id 'ghost'"),
            (admin.replacingOccurrences(of: "se=4102444799000", with: "se=4102444799001"), "does not match"),
        ]
        for (header, reason) in cases {
            let r = try client.request("GET", "/api/roles?\(Self.v)", token: header)
            #expect(r.status == 401)
            #expect(r.header("x-iotc-mock-reason")?.contains(reason) == true, "\(header ?? "none"): \(r.header("x-iotc-mock-reason") ?? "-")")
            #expect(r.json["error"]?["message"]?.stringValue?.hasPrefix("The provided authentication token is invalid.") == true, "the envelope keeps the real wording")
        }
        let made = try client.request("PUT", "/api/apiTokens/op?\(Self.v)", token: admin, body: #"{"roles":[{"role":"\#(Self.operatorRole)"}]}"#)
        let op = try #require(made.json["token"]?.stringValue)
        let denied = try client.request("POST", "/api/deviceTemplates/t1?\(Self.v)", token: op, body: "{}")
        #expect(denied.status == 405)
        let forbidden = try client.request("PUT", "/api/deviceTemplates/t1?\(Self.v)", token: op, body: "{}")
        #expect(forbidden.status == 403)
        #expect(forbidden.header("x-iotc-mock-reason") == "DeviceTemplates_Create needs the permission 'deviceTemplates.manage' on the whole application, which none of the caller's role assignments grants: Operator on the application lacks it.")
        #expect(try client.request("GET", "/api/roles?\(Self.v)", token: admin).header("x-iotc-mock-reason") == nil)

        // The mock Entra ID's refusals carry the same header, with Entra's own description.
        let form = "grant_type=client_credentials&client_id=bfa26516-349e-48e7-acdc-5207da73e9bb&client_secret=wrong&scope=https%3A%2F%2Fapps.azureiotcentral.com%2F.default"
        let refused = try client.request("POST", "/726878f1-1cb5-489c-a4f1-581d7b3c5984/oauth2/v2.0/token", body: form)
        #expect(refused.status == 401)
        #expect(refused.header("x-iotc-mock-reason")?.hasPrefix("AADSTS7000215") == true)
        #expect(try client.request("GET", "/_mock/journal?status=401&limit=1").json["value"]?.arrayValue?.first?["reason"]?.stringValue?.hasPrefix("AADSTS7000215") == true)
    }

    @Test func throttlingGives429PastTheLimitPerApplicationAndRecovers() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let other = try client.request("POST", "/_mock/apps", body: #"{"subdomain":"other"}"#)
        let otherToken = try #require(other.json["adminToken"]?.stringValue)
        #expect(try client.request("GET", "/_mock/throttling").json["enabled"] == .bool(false))
        let enabled = try client.request("POST", "/_mock/throttling", body: #"{"enabled":true}"#)
        #expect(enabled.json == .object([("enabled", .bool(true)), ("requestsPerSecond", .number(20))]))

        var statuses: [Int] = []
        var retryAfter: String?
        for _ in 0..<30 {
            let r = try client.request("GET", "/api/roles?\(Self.v)", token: admin)
            statuses.append(r.status)
            if r.status == 429 {
                retryAfter = r.header("Retry-After")
                #expect(r.json["error"]?["code"] == .string("TooManyRequests"))
            }
        }
        #expect(statuses.prefix(20).allSatisfy { $0 == 200 }, "\(statuses)")
        #expect(statuses.filter { $0 == 429 }.count >= 5, "\(statuses)")
        #expect(retryAfter == "1")
        #expect(try client.request("GET", "/api/roles?\(Self.v)", token: otherToken, host: "other.localhost").status == 200, "per application")
        Thread.sleep(forTimeInterval: 1.05)  // the Retry-After the server asked for
        #expect(try client.request("GET", "/api/roles?\(Self.v)", token: admin).status == 200, "recovered")
        #expect(try client.request("POST", "/_mock/throttling", body: #"{"enabled":false}"#).status == 200)
        for _ in 0..<40 { #expect(try client.request("GET", "/api/roles?\(Self.v)", token: admin).status == 200) }
        #expect(try client.request("POST", "/_mock/throttling", body: #"{"enabled":"yes"}"#).status == 400)
    }

    @Test func theTokenBucketRefillsAtTheRate() {
        let now = Mutex<UInt64>(0)
        let limiter = RateLimiter(monotonicNanoseconds: { now.withLock { $0 } })
        #expect(limiter.admit("a") == nil, "off by default")
        limiter.requestsPerSecond = 20
        for _ in 0..<20 { #expect(limiter.admit("a") == nil) }
        #expect(limiter.admit("a") == 1)
        #expect(limiter.admit("b") == nil, "each application has its own bucket")
        now.withLock { $0 += 50_000_000 }  // 50 ms: one request's worth
        #expect(limiter.admit("a") == nil)
        #expect(limiter.admit("a") == 1)
        now.withLock { $0 += 10_000_000_000 }  // a long pause refills to the rate, not beyond
        for _ in 0..<20 { #expect(limiter.admit("a") == nil) }
        #expect(limiter.admit("a") != nil)
        // A time older than the bucket's (a thread that read the clock before another took the lock) refills nothing.
        now.withLock { $0 -= 1_000_000_000 }
        #expect(limiter.admit("a") == 1)
        limiter.requestsPerSecond = nil
        #expect(limiter.configuredRate == 20, "turning it off keeps the rate")
        limiter.requestsPerSecond = 5
        #expect(limiter.configuredRate == 5)
    }

    @Test func controlPathsIgnoreCaseAnd405NamesTheMethods() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        #expect(try client.request("GET", "/_MOCK/HEALTH").status == 200)
        #expect(try client.request("GET", "/_mock/Apps").status == 200)
        #expect(try client.request("POST", "/_mock/apps/iotc-mock/Reset").status == 200)
        let wrong = try client.request("PUT", "/_mock/apps")
        #expect(wrong.status == 405)
        #expect(wrong.header("Allow") == "GET, POST")
        let health = try client.request("GET", "/_mock/health")
        #expect(health.json["pid"] == .number(Double(getpid())))
        #expect(health.json["version"] == .string(MockServer.version))
        for bad in ["/_mock/journal?stauts=403", "/_mock/journal?Limit=1"] {
            #expect(try client.request("GET", bad).status == 400, "\(bad)")
        }
        #expect(try client.request("DELETE", "/_mock/journal?status=403").status == 400)
        // Host names with an empty label name no application.
        for host in [".localhost", "a..localhost", "..", "1.2.3"] {
            expectEnvelope(try client.request("GET", "/api/roles?api-version=2022-07-31", token: server.wellKnownToken(), host: host), status: 404, code: "NotFound")
        }
    }

    @Test func theClockStaysBetween2000And2200() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let now = Timestamp.nowMilliseconds() / 1000
        #expect(try client.request("POST", "/_mock/clock", body: #"{"offsetSeconds":\#(946_684_800 - now - 10)}"#).status == 400)
        #expect(try client.request("POST", "/_mock/clock", body: #"{"offsetSeconds":\#(7_258_118_400 - now + 10)}"#).status == 400)
        #expect(try client.request("POST", "/_mock/clock", body: #"{"offsetSeconds":\#(946_684_800 - now + 100)}"#).status == 200)
        let admin = try #require(server.wellKnownToken())
        let made = try client.request("PUT", "/api/apiTokens/y2k?api-version=2022-07-31", token: admin, body: #"{"roles":[{"role":"\#(Self.operatorRole)"}]}"#)
        let token = try #require(made.json["token"]?.stringValue)
        #expect(try client.request("GET", "/api/jobs?api-version=2022-07-31", token: token).status == 200, "a token made in 2000 works")
    }

    @Test func injectedFaultsFireExactlyNTimes() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let added = try client.request("POST", "/_mock/faults", body: #"{"method":"GET","path":"/api/users","status":503,"count":3}"#)
        #expect(added.status == 201)
        #expect(added.json["remaining"] == .number(3))
        #expect(try client.request("POST", "/_mock/faults", body: #"{"path":"/api/apiTokens/*","status":500}"#).status == 201)

        #expect(try client.request("GET", "/api/roles?\(Self.v)", token: admin).status == 200, "another path")
        #expect(try client.request("PUT", "/api/users/x?\(Self.v)", token: admin, body: "{}").status == 422, "another method")
        for _ in 0..<3 {
            let r = try client.request("GET", "/api/users?\(Self.v)", token: admin)
            expectEnvelope(r, status: 503, code: "ServiceUnavailable")
            #expect(r.header("x-iotc-mock-reason")?.hasPrefix("injected fault #1") == true)
        }
        #expect(try client.request("GET", "/api/users?\(Self.v)", token: admin).status == 200, "the fourth passes")
        #expect(try client.request("GET", "/_mock/faults").json["value"]?.arrayValue?.count == 1)
        #expect(try client.request("DELETE", "/api/apiTokens/nope?\(Self.v)", token: admin).status == 500)
        #expect(try client.request("DELETE", "/api/apiTokens/nope?\(Self.v)", token: admin).status == 404)
        #expect(try client.request("GET", "/_mock/journal?status=503").json["value"]?.arrayValue?.count == 3)

        // Entra paths fail in the OAuth shape.
        #expect(try client.request("POST", "/_mock/faults", body: #"{"path":"/726878f1-1cb5-489c-a4f1-581d7b3c5984/*","status":503,"count":1}"#).status == 201)
        let entra = try client.request("GET", "/726878f1-1cb5-489c-a4f1-581d7b3c5984/v2.0/.well-known/openid-configuration")
        #expect(entra.status == 503)
        #expect(entra.json["error"] == .string("temporarily_unavailable"))
        #expect(entra.header("x-iotc-mock-reason")?.hasPrefix("injected fault #3") == true)
        #expect(entra.header("Retry-After") == "1")
        #expect(try client.request("GET", "/726878f1-1cb5-489c-a4f1-581d7b3c5984/v2.0/.well-known/openid-configuration").status == 200)

        #expect(try client.request("POST", "/_mock/faults", body: #"{"path":"/api/roles","status":429,"retryAfterSeconds":7}"#).status == 201)
        let throttled = try client.request("GET", "/api/roles?\(Self.v)", token: admin)
        #expect(throttled.status == 429)
        #expect(throttled.header("Retry-After") == "7")
        for bad in [#"{"path":"/api/users?api-version=2022-07-31","status":503}"#, #"{"path":"/_mock/*","status":503}"#,
                    #"{"path":"/726878f1-1cb5-489c-a4f1-581d7b3c5984/*","status":503,"app":"iotc-mock"}"#, #"{"path":"/api/users","status":503,"retryAfterSeconds":-1}"#,
                    #"{"path":"api/users","status":503}"#, #"{"path":"/api/users","status":200}"#, #"{"path":"/api/users","status":503,"count":0}"#, #"{"status":503}"#, #"{"path":"/a","status":503,"method":"G T"}"#] {
            #expect(try client.request("POST", "/_mock/faults", body: bad).status == 400, "\(bad)")
        }
        #expect(try client.request("DELETE", "/_mock/faults").status == 204)
        #expect(try client.request("GET", "/_mock/faults").json["value"]?.arrayValue?.isEmpty == true)
    }
}
