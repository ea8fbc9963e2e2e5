import Foundation
import Testing

@testable import Central

/// `iotc-mock health`, `iotc-mock app ...` and the request log of the real binary.
@Suite struct CommandLineTests {
    /// Runs the binary to completion; returns its exit status, standard output and standard error.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = Paths.binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("IOTC_MOCK_") }
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
    }

    /// A port nothing listens on (bound and released).
    static func unusedPort() throws -> Int {
        let server = try startServer()
        let port = server.port
        server.stop()
        return port
    }

    @Test func healthExitsNonZeroBeforeTheServerIsUpAndZeroAfter() throws {
        let port = try Self.unusedPort()
        let before = try Self.run(["health", "--url", "http://127.0.0.1:\(port)"])
        #expect(before.status == 1)
        #expect(before.err.contains("not ready at http://127.0.0.1:\(port)"))

        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let mock = try MockProcess(dataDirectory: data)
        defer { mock.terminate() }
        let serverPort = try #require(mock.port)
        let after = try Self.run(["health"], environment: ["IOTC_MOCK_URL": "http://127.0.0.1:\(serverPort)"])
        #expect(after.status == 0, "\(after.err)")
        #expect(after.out.contains(#""status":"ok""#))
        #expect(try Self.run(["health", "--wait", "2"], environment: ["IOTC_MOCK_PORT": String(serverPort)]).status == 0)
        #expect(try Self.run(["health"], environment: ["IOTC_MOCK_PORT": String(serverPort), "IOTC_MOCK_WAIT": "x"]).status == 64)
    }

    @Test func appCommandsCreateListResetAndDeleteApplications() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let mock = try MockProcess(dataDirectory: data)
        defer { mock.terminate() }
        let url = "http://127.0.0.1:\(try #require(mock.port))"

        let created = try Self.run(["app", "create", "--url", url, "--subdomain", "cli-a"])
        #expect(created.status == 0, "\(created.err)")
        let json = try JSONValue.parse(Array(created.out.utf8))
        #expect(json["subdomain"] == .string("cli-a"))
        #expect(json["adminToken"]?.stringValue?.hasPrefix("SharedAccessSignature sr=") == true)
        #expect(try Self.run(["app", "create", "--url", url], environment: ["IOTC_MOCK_APP_SUBDOMAIN": "cli-b", "IOTC_MOCK_APP_FIXTURE": "spec-examples"]).status == 0)
        #expect(json["port"] == .null)
        let ported = try Self.run(["app", "create", "--url", url, "--subdomain", "cli-port", "--port", "0"])
        let port = try #require(try JSONValue.parse(Array(ported.out.utf8))["port"]?.intValue, "\(ported.out)\(ported.err)")
        #expect(try RawHTTPClient(port: port).request("GET", "/_mock/apps/cli-port").status == 200)
        #expect(try Self.run(["app", "create", "--url", url, "--port", "70000"]).status == 64)
        #expect(try Self.run(["app", "delete", "--url", url, "cli-port"]).status == 0)

        let list = try Self.run(["app", "list", "--url", url])
        let subdomains = try JSONValue.parse(Array(list.out.utf8))["value"]?.arrayValue?.compactMap { $0["subdomain"]?.stringValue }
        #expect(subdomains == ["iotc-mock", "cli-a", "cli-b"])
        #expect(try Self.run(["app", "reset", "--url", url, "cli-b"]).status == 0)
        #expect(try Self.run(["app", "delete", "--url", url, "cli-a"]).status == 0)
        let again = try Self.run(["app", "delete", "--url", url, "cli-a"])
        #expect(again.status == 1)
        #expect(again.err.contains("404"))
        #expect(try Self.run(["app", "create", "--url", url, "--subdomain", "bad.name"]).status == 1)
        // The argument is one path segment on the wire, whatever it holds.
        #expect(try Self.run(["app", "create", "--url", url, "--subdomain", "a"]).status == 0)
        #expect(try Self.run(["app", "delete", "--url", url, "a?b"]).status == 1)
        #expect(try Self.run(["app", "delete", "--url", url, "a HTTP/1.1\r\nX-Injected: yes"]).status == 1)
        let remaining = try JSONValue.parse(Array(try Self.run(["app", "list", "--url", url]).out.utf8))["value"]?.arrayValue?.compactMap { $0["subdomain"]?.stringValue }
        #expect(remaining?.contains("a") == true)
    }

    @Test func twoServersOnOneDataFolderSeeEachOthersApplications() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try MockProcess(dataDirectory: data)
        defer { first.terminate() }
        let second = try MockProcess(dataDirectory: data)
        defer { second.terminate() }
        let one = try RawHTTPClient(port: try #require(first.port)), two = try RawHTTPClient(port: try #require(second.port))
        let made = try one.request("POST", "/_mock/apps", body: #"{"subdomain":"shared"}"#)
        let token = try #require(made.json["adminToken"]?.stringValue)
        #expect(try two.request("GET", "/api/roles?api-version=2022-07-31", token: token, host: "shared.localhost").status == 200)
        #expect(try two.request("GET", "/_mock/apps").json["value"]?.arrayValue?.count == 2)
        #expect(try two.request("DELETE", "/_mock/apps/shared").status == 204)
        #expect(try one.request("POST", "/_mock/apps/shared/reset").status == 404)
        #expect(try one.request("GET", "/_mock/apps").json["value"]?.arrayValue?.count == 1)
    }

    @Test func applicationsMadeAtRunTimeAreInTheCertificateAfterARestart() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try MockProcess(dataDirectory: data)
        #expect(try Self.run(["app", "create", "--url", "http://127.0.0.1:\(try #require(first.port))", "--subdomain", "cli-tls"]).status == 0)
        first.terminate()
        let second = try MockProcess(dataDirectory: data)
        defer { second.terminate() }
        let certificate = try #require(second.field("certificate"))
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", certificate, "https://cli-tls.localhost:\(try #require(second.port))/_mock/health"]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        let code = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        #expect(code == "200")
    }

    @Test(arguments: [("json", 3), ("text", 3), ("quiet", 0)])
    func theServerLogsOneLinePerRequestUnlessQuiet(format: String, lines: Int) throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-log-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let process = Process()
        process.executableURL = Paths.binary
        let formatArguments = format == "quiet" ? ["--quiet"] : ["--log-format", format]
        process.arguments = ["--port", "0", "--in-memory", "--fixtures", Paths.fixtures.path] + formatArguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("IOTC_MOCK_") }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        defer { terminateWithin10Seconds(process) }
        let ready = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        let port = try #require(ready.split(separator: " ").first { $0.hasPrefix("url=") }.flatMap { URL(string: String($0.dropFirst(4)))?.port })
        let token = try #require(ready.components(separatedBy: " token=").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        let client = try RawHTTPClient(port: port)
        #expect(try client.request("GET", "/api/roles?api-version=2022-07-31", token: token).status == 200)
        #expect(try client.request("GET", "/api/users?api-version=2022-07-31", token: "Basic x").status == 401)
        let garbage = try RawHTTPClient(port: port)
        garbage.send("NOT HTTP\r\n\r\n")
        #expect(try garbage.readResponse().status == 400)
        terminateWithin10Seconds(process)

        let text = try String(contentsOf: log, encoding: .utf8)
        // Lines about the certificate made at start come first, in the same format; then one per request.
        let notices = text.split(separator: "\n").filter { $0.hasPrefix("iotc-mock: ") || $0.contains(#""notice":"#) }
        #expect(format == "quiet" ? notices.isEmpty : notices.contains { $0.contains("TLS certificate for localhost") }, "\(text)")
        let logged = text.split(separator: "\n").filter { !$0.isEmpty && !notices.contains($0) }
        #expect(logged.count == lines, "\(text)")
        switch format {
        case "json":
            let first = try JSONValue.parse(Array(logged[0].utf8))
            #expect(first["method"] == .string("GET") && first["path"] == .string("/api/roles") && first["status"] == .number(200))
            #expect(first["principal"] == .string("apiToken:iotc-mock-admin") && first["subdomain"] == .string("iotc-mock"))
            #expect(first["durationMs"]?.stringValue == nil && first["durationMs"] != nil)
            #expect(first["principalName"] == .string("API token 'iotc-mock-admin'") && first["trace"] == nil, "the log line leaves the trace to the journal")
            let second = try JSONValue.parse(Array(logged[1].utf8))
            #expect(second["reason"]?.stringValue?.contains("'Basic'") == true)
            let third = try JSONValue.parse(Array(logged[2].utf8))
            #expect(third["method"] == .string("-") && third["status"] == .number(400))
        case "text":
            #expect(logged[0].contains(#"GET /api/roles app=iotc-mock principal=apiToken:iotc-mock-admin caller="API token 'iotc-mock-admin'" status=200 operation=Roles_List ms="#))
            #expect(logged[1].contains(#"status=401 operation=Users_List reason="the scheme 'Basic' is neither"#))
        default:
            break
        }
    }

    @Test func helpListsEveryOptionWithItsEnvironmentVariable() throws {
        let help = try Self.run(["serve", "--help"]).out
        for variable in ["IOTC_MOCK_HOST", "IOTC_MOCK_PORT", "IOTC_MOCK_DATA_DIR", "IOTC_MOCK_IN_MEMORY", "IOTC_MOCK_FIXTURES", "IOTC_MOCK_FIXTURE",
                         "IOTC_MOCK_TLS_CERT", "IOTC_MOCK_TLS_KEY", "IOTC_MOCK_TLS_NAMES", "IOTC_MOCK_TOKEN_LIFETIME", "IOTC_MOCK_MAX_ROLE_ASSIGNMENTS",
                         "IOTC_MOCK_CONTROL_KEY", "IOTC_MOCK_THROTTLE", "IOTC_MOCK_QUIET", "IOTC_MOCK_LOG_FORMAT"] {
            #expect(help.contains(variable), "\(variable) missing from serve --help")
        }
        #expect(try Self.run(["health", "--help"]).out.contains("IOTC_MOCK_WAIT"))
        #expect(try Self.run(["app", "create", "--help"]).out.contains("IOTC_MOCK_URL"))
        #expect(try Self.run(["--log-format", "xml"]).status != 0)
        #expect(try Self.run(["--control-key", ""]).status == 64)
        #expect(try Self.run(["--control-key", " padded "]).status == 64)
    }
}
