import Foundation
import Synchronization
import Testing

@testable import Central
@testable import MockServer

/// Applications with a port of their own: `POST /_mock/apps {"port": 0}`, the fixture's `application.port`, and
/// absolute URLs that keep the port the client used.
@Suite struct ApplicationPortTests {
    static let v = "api-version=2022-07-31"
    static let operatorRole = "ae2c9854-393b-4f97-8c42-479d70ce626e"

    @Test func anApplicationWithItsOwnPortIsServedThereWhateverTheHost() throws {
        let server = try startServer(pageSize: 2)
        defer { server.stop() }
        let control = try RawHTTPClient(port: server.port)
        let made = try control.request("POST", "/_mock/apps", body: #"{"subdomain":"own","port":0}"#)
        #expect(made.status == 201, "\(made.text)")
        let port = try #require(made.json["port"]?.intValue)
        #expect(port != server.port)
        #expect(made.json["url"] == .string("http://127.0.0.1:\(port)"))
        #expect(made.json["httpsUrl"] == .string("https://localhost:\(port)"))
        let token = try #require(made.json["adminToken"]?.stringValue)

        let own = try RawHTTPClient(port: port)
        for id in ["u1", "u2"] {
            let user = #"{"type":"email","email":"\#(id)@contoso.com","roles":[{"role":"\#(Self.operatorRole)"}]}"#
            #expect(try own.request("PUT", "/api/users/\(id)?\(Self.v)", token: token, body: user).status == 200)
        }
        // Any Host reaches the application on its own port, and every nextLink keeps that port.
        for host in ["127.0.0.1", "localhost", "iotc-mock.localhost", "nobody.example"] {
            let page = try own.request("GET", "/api/users?\(Self.v)", token: token, host: host)
            #expect(page.status == 200, "\(host): \(page.text)")
            let next = try #require(page.json["nextLink"]?.stringValue)
            #expect(next.hasPrefix("http://\(host):\(port)/api/users?"), "\(next)")
        }
        // The default application's token is refused there: it is another application.
        #expect(try own.request("GET", "/api/roles?\(Self.v)", token: server.wellKnownToken()).status == 401)
        // The server's own port still serves it by Host, and the default application by IP.
        #expect(try control.request("GET", "/api/users/u1?\(Self.v)", token: token, host: "own.localhost").status == 200)
        #expect(try control.request("GET", "/api/users/u1?\(Self.v)", token: server.wellKnownToken()).status == 404)
        // The control plane and Entra answer on it too.
        #expect(try own.request("GET", "/_mock/health").status == 200)
        #expect(try control.request("GET", "/_mock/apps/own").json["port"]?.intValue == port)

        #expect(try control.request("DELETE", "/_mock/apps/own").status == 204)
        #expect(throws: RawHTTPClient.ClientError.self) { try RawHTTPClient(port: port) }
    }

    @Test func aDeleteThroughTheApplicationsOwnPortIsAnswered() throws {
        let server = try startServer()
        defer { server.stop() }
        let made = try RawHTTPClient(port: server.port).request("POST", "/_mock/apps", body: #"{"port":0}"#)
        let port = try #require(made.json["port"]?.intValue)
        let id = try #require(made.json["id"]?.stringValue)
        #expect(try RawHTTPClient(port: port).request("DELETE", "/_mock/apps/\(id)").status == 204)
    }

    @Test func badOrTakenPortsAreRefusedAndLeaveNoApplication() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        for body in [#"{"port":-1}"#, #"{"port":65536}"#, #"{"port":"80"}"#, #"{"port":1.5}"#] {
            let answer = try client.request("POST", "/_mock/apps", body: body)
            #expect(answer.status == 400, "\(body): \(answer.text)")
        }
        let taken = try client.request("POST", "/_mock/apps", body: #"{"subdomain":"clash","port":\#(server.port)}"#)
        #expect(taken.status == 409, "\(taken.text)")
        #expect(taken.json["error"]?["message"]?.stringValue?.contains("address already in use") == true)
        #expect(try client.request("GET", "/_mock/apps/clash").status == 404)
        #expect(try client.request("GET", "/_mock/apps").json["value"]?.arrayValue?.count == 1)
    }

    @Test func aFixtureCanGiveItsApplicationsAPortOfTheirOwn() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-fixtures-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var fixture = try String(contentsOf: Paths.fixtures.appendingPathComponent("default.json"), encoding: .utf8)
        fixture = fixture.replacingOccurrences(of: #""subdomain": "iotc-mock","#, with: #""subdomain": "iotc-mock", "port": 0,"#)
        #expect(fixture.contains(#""port": 0"#))
        try fixture.write(to: folder.appendingPathComponent("ported.json"), atomically: true, encoding: .utf8)
        // Only the new fixture is in the folder: roles.json and entra.json come from the built-in files.
        let server = try startServer { $0.fixturesDirectory = folder.path }
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let made = try client.request("POST", "/_mock/apps", body: #"{"fixture":"ported","subdomain":"ported"}"#)
        let port = try #require(made.json["port"]?.intValue, "\(made.text)")
        let token = try #require(made.json["adminToken"]?.stringValue)
        #expect(try RawHTTPClient(port: port).request("GET", "/api/roles?\(Self.v)", token: token).status == 200)
        // The body's port wins over the fixture's; null is "the fixture's".
        let plain = try client.request("POST", "/_mock/apps", body: #"{"fixture":"ported","port":null}"#)
        #expect(plain.json["port"]?.intValue != nil)
    }

    @Test func aPersistentApplicationListensAgainAfterARestart() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-ports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try MockProcess(dataDirectory: data)
        let made = try RawHTTPClient(port: try #require(first.port)).request("POST", "/_mock/apps", body: #"{"subdomain":"kept","port":0}"#)
        let token = try #require(made.json["adminToken"]?.stringValue)
        first.terminate()
        let second = try MockProcess(dataDirectory: data)
        defer { second.terminate() }
        let info = try RawHTTPClient(port: try #require(second.port)).request("GET", "/_mock/apps/kept")
        let port = try #require(info.json["port"]?.intValue, "\(info.text)")
        #expect(try RawHTTPClient(port: port).request("GET", "/api/roles?\(Self.v)", token: token).status == 200)
    }

    @Test func httpsURLsNameOnlyWhatTheCertificateCarries() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let main = try client.request("GET", "/_mock/apps/iotc-mock")
        #expect(main.json["httpsUrl"] == .string("https://iotc-mock.localhost:\(server.port)"))
        let later = try client.request("POST", "/_mock/apps", body: #"{"subdomain":"later"}"#)
        #expect(later.json["httpsUrl"] == .null, "made after the start: not in the certificate")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "curl is not installed"))
    func anotherLoopbackAddressIsInTheCertificateAndTheURLs() throws {
        let server = try startServer { $0.host = "127.0.0.2" }
        defer { server.stop() }
        #expect(server.httpsURL == "https://127.0.0.2:\(server.port)")
        let health = try curl(["--cacert", server.certificatePath, "-w", "\n%{http_code}", "\(server.httpsURL)/_mock/health"])
        #expect(health.status == 0 && health.output.hasSuffix("\n200"), "\(health.output)")
        let made = try RawHTTPClient(port: server.port, host: "127.0.0.2").request("POST", "/_mock/apps", body: #"{"port":0}"#)
        let httpsURL = try #require(made.json["httpsUrl"]?.stringValue)
        #expect(httpsURL.hasPrefix("https://127.0.0.2:"))
        let own = try curl(["--cacert", server.certificatePath, "-w", "\n%{http_code}", "\(httpsURL)/_mock/health"])
        #expect(own.status == 0 && own.output.hasSuffix("\n200"), "\(own.output)")
    }

    @Test func concurrentCreationsStopAtTheApplicationLimit() throws {
        let server = try startServer()
        defer { server.stop() }
        let made = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: MockServer.maxApplications + 20) { _ in
            if (try? server.createApplication()) != nil { made.add(1, ordering: .relaxed) }
        }
        #expect(made.load(ordering: .relaxed) == MockServer.maxApplications - 1)
        #expect(server.applications().count == MockServer.maxApplications)
    }

    @Test func aStoredPortThatIsTakenAtRestartLeavesTheServerUpWithAWarning() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-taken-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let persistent: (inout MockServerConfiguration) -> Void = { $0.inMemory = false; $0.dataDirectory = data.path }
        let probe = try startServer()
        let port = probe.port  // free once the probe stops
        probe.stop()
        let first = try startServer(configure: persistent)
        let made = try first.createApplication(subdomain: "kept", port: port)
        first.stop()
        // Another process (here another server) has the port now.
        let squatter = try startServer { $0.port = port }
        defer { squatter.stop() }
        var configuration = MockServerConfiguration()
        configuration.port = 0
        configuration.inMemory = false
        configuration.dataDirectory = data.path
        configuration.fixturesDirectory = Paths.fixtures.path
        let second = try MockServer(configuration: configuration)
        let warnings = try second.start()
        defer { second.stop() }
        #expect(warnings.count == 1 && warnings[0].contains("application kept") && warnings[0].contains("port \(port)"), "\(warnings)")
        let token = try #require(made.adminToken)
        let byHost = try RawHTTPClient(port: second.port).request("GET", "/api/roles?\(Self.v)", token: token, host: "kept.localhost")
        #expect(byHost.status == 200)
    }

    @Test(arguments: [
        (nil as String?, "127.0.0.1", 8765, false, "http://127.0.0.1:8765"),
        ("localhost", "127.0.0.1", 8765, false, "http://localhost:8765"),
        ("localhost:9", "127.0.0.1", 8765, true, "https://localhost:9"),
        ("[::1]", "::1", 8765, false, "http://[::1]:8765"),
        ("[::1]:7", "::1", 8765, false, "http://[::1]:7"),
        ("example.test", "0.0.0.0", 80, false, "http://example.test"),
        ("example.test", "0.0.0.0", 443, true, "https://example.test"),
        ("example.test", "0.0.0.0", 443, false, "http://example.test:443"),
        (nil, "0.0.0.0", 8765, false, "http://127.0.0.1:8765"),
        (nil, "::", 8765, true, "https://[::1]:8765"),
    ])
    func baseURLsKeepTheHostAndPortTheClientUsed(host: String?, listening: String, port: Int, tls: Bool, expected: String) {
        #expect(MockServer.baseURL(host: host, listening: listening, port: port, tls: tls) == expected)
    }
}
