import Foundation
import HTTP
import Testing

@testable import MockServer

/// The control plane cannot be driven by a web page in a browser on the same machine: another origin, a DNS-rebound
/// host name, a form-encodable write and an unreadable caller address are refused without the control key; the
/// callers tests use (curl, Python, the CLI, Swift in-process) keep working.
@Suite struct ControlPlaneSafetyTests {
    static let clock = #"{"offsetSeconds":3153600000}"#

    @Test func aForeignHostNameIsRefusedForReadsAndWrites() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let rebound = try client.request("GET", "/_mock/entra", host: "rebound.evil.example")
        #expect(rebound.status == 403 && rebound.text.contains("host name 'rebound.evil.example'") && !rebound.text.contains("secret"))
        #expect(try client.request("POST", "/_mock/clock", body: Self.clock, host: "evil.example").status == 403)
        #expect(server.clockOffsetSeconds == 0)
        for host in ["127.0.0.1:\(server.port)", "localhost:\(server.port)", "iotc-mock.localhost", "[::1]:\(server.port)"] {
            #expect(try client.request("GET", "/_mock/apps", host: host).status == 200, "\(host)")
        }
        // Health answers anyone.
        #expect(try client.request("GET", "/_mock/health", host: "evil.example").status == 200)
    }

    @Test func anotherOriginIsRefusedAndTheMocksOwnIsNot() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let foreign = try client.request("POST", "/_mock/clock", body: Self.clock, headers: [("Origin", "http://evil.example")])
        #expect(foreign.status == 403 && foreign.text.contains("another origin"))
        #expect(try client.request("GET", "/_mock/apps", headers: [("Origin", "null")]).status == 403)
        #expect(try client.request("GET", "/_mock/apps", headers: [("Sec-Fetch-Site", "cross-site")]).status == 403)
        let own = try client.request("GET", "/_mock/apps", headers: [("Origin", "http://127.0.0.1:\(server.port)")], host: "127.0.0.1:\(server.port)")
        #expect(own.status == 200)
        #expect(server.clockOffsetSeconds == 0)
        // No answer invites a cross-site reader: no CORS headers anywhere, pre-flights included.
        let preflight = try client.request("OPTIONS", "/_mock/clock", headers: [("Origin", "http://evil.example"), ("Access-Control-Request-Method", "POST")])
        let api = try client.request("GET", "/api/roles?api-version=2022-07-31", token: server.wellKnownToken(), headers: [("Origin", "http://evil.example")])
        for response in [foreign, own, preflight, api] {
            #expect(!response.headers.contains { $0.0.lowercased().hasPrefix("access-control-") })
        }
    }

    @Test func writesMustBeJSONOrBodiless() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
            let r = try client.request("POST", "/_mock/clock", headers: [("Content-Type", type), ("Content-Length", String(Self.clock.utf8.count))] , rawBody: Self.clock)
            #expect(r.status == 415 && r.json["error"]?["code"] == .string("UnsupportedMediaType"), "\(type): \(r.text)")
        }
        // A second Content-Type (JSON first, a form type after) is refused too: no guessing which one counts.
        let twice = try client.request("POST", "/_mock/clock", headers: [("Content-Type", "application/json"), ("Content-Type", "text/plain"),
                                                                        ("Content-Length", String(Self.clock.utf8.count))], rawBody: Self.clock)
        #expect(twice.status == 415 && twice.text.contains("Send Content-Type once"), "\(twice.text)")
        #expect(server.clockOffsetSeconds == 0)
        #expect(try client.request("POST", "/_mock/clock", body: #"{"offsetSeconds":60}"#).status == 200)
        #expect(try client.request("POST", "/_mock/apps/iotc-mock/reset").status == 200, "a bodiless write needs no Content-Type")
        try server.setClockOffset(seconds: 0)
    }

    @Test func theControlKeyWaivesTheBrowserRules() throws {
        let server = try startServer { $0.controlKey = "k3y" }
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let r = try client.request("POST", "/_mock/clock", headers: [("x-iotc-mock-key", "k3y"), ("Origin", "http://evil.example"),
                                                                    ("Content-Type", "text/plain"), ("Content-Length", "19")],
                                   rawBody: #"{"offsetSeconds":0}"#, host: "ci-runner.internal")
        #expect(r.status == 200, "\(r.text)")
    }

    @Test func aCallerWhoseAddressIsUnknownIsRefused() throws {
        let server = try startServer()
        defer { server.stop() }
        var headers = HTTPHeaders()
        headers.add("Host", "127.0.0.1")
        let request = HTTPRequest(method: "GET", target: "/_mock/apps", path: "/_mock/apps", pathSegments: ["_mock", "apps"], query: [],
                                  version: .http1_1, headers: headers, body: [], remoteAddress: "")
        #expect(server.respond(to: request).status == 403)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "curl is not installed"))
    func curlAndTheCommandLineKeepWorking() throws {
        let server = try startServer()
        defer { server.stop() }
        let made = try curl(["-X", "POST", "-H", "Content-Type: application/json", "-d", #"{"subdomain":"by-curl"}"#, "-w", "\n%{http_code}",
                             "http://127.0.0.1:\(server.port)/_mock/apps"])
        #expect(made.output.hasSuffix("\n201"), "\(made.output)")
        let reset = try curl(["-X", "POST", "-w", "%{http_code}", "-o", "/dev/null", "http://localhost:\(server.port)/_mock/apps/by-curl/reset"])
        #expect(reset.output == "200")
        let cli = try CommandLineTests.run(["app", "list", "--url", "http://127.0.0.1:\(server.port)"])
        #expect(cli.status == 0 && cli.out.contains("by-curl"), "\(cli.err)")
    }
}
