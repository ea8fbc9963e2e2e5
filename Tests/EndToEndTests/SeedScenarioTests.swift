import Foundation
import Testing

@testable import Central

/// The `iotc-mock` binary run as a user runs it: a child process on port 0 with a data folder.
final class MockProcess {
    let process = Process()
    let output = Pipe()
    private(set) var readyLine = ""

    /// Starts the binary (`--quiet`: its output pipe is read only up to the ready line, and a request log would
    /// fill it); unless `waitForReady` is false, also waits for its ready line.
    init(dataDirectory: URL, extraArguments: [String] = [], environment: [String: String] = [:], waitForReady: Bool = true) throws {
        process.executableURL = Paths.binary
        process.arguments = ["--port", "0", "--quiet", "--data-dir", dataDirectory.path, "--fixtures", Paths.fixtures.path] + extraArguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        if waitForReady { readReadyLine() }
    }

    /// Reads the first line the process prints (the ready line, or its error), after any warnings.
    func readReadyLine() {
        let handle = output.fileHandleForReading
        repeat {
            var line: [UInt8] = []
            while true {
                let byte = handle.readData(ofLength: 1)
                guard let b = byte.first else { break }
                if b == 10 { break }
                line.append(b)
            }
            readyLine = String(decoding: line, as: UTF8.self)
        } while readyLine.hasPrefix("iotc-mock: warning: ")
    }

    /// The value of `key=` in the ready line; `token` runs to the end of the line.
    func field(_ key: String) -> String? {
        guard let range = readyLine.range(of: " \(key)=") else { return nil }
        let rest = readyLine[range.upperBound...]
        return key == "token" ? String(rest) : rest.split(separator: " ").first.map(String.init)
    }

    var port: Int? { field("url").flatMap { URL(string: $0)?.port } }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() { terminateWithin10Seconds(process) }
}

/// SIGTERM, then SIGKILL if the process has not exited within 10 s (a test must never hang).
func terminateWithin10Seconds(_ process: Process) {
    process.terminate()
    let deadline = Date().addingTimeInterval(10)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    #expect(process.terminationReason == .exit, "iotc-mock did not exit on SIGTERM")
}

@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: Paths.binary.path), "build the iotc-mock binary first (make test does)"))
struct SeedScenarioTests {
    static let operatorRole = "ae2c9854-393b-4f97-8c42-479d70ce626e"

    @Test func seedScenarioThenRestartFindsTheStateIntact() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-e2e-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }

        let first = try MockProcess(dataDirectory: data)
        #expect(first.readyLine.hasPrefix("iotc-mock ready url=http://127.0.0.1:"))
        let admin = try #require(first.field("token"))
        let readme = try String(contentsOf: Paths.repository.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains(admin), "the README must print the well-known admin token")
        #expect(first.field("application") == "83f94f28-4f76-40b6-b518-13b8f67f42c5")
        let port = try #require(first.port)
        let client = try RawHTTPClient(port: port)
        let v = "api-version=2022-07-31"

        let roles = try client.request("GET", "/api/roles?\(v)", token: admin)
        #expect(roles.status == 200)
        #expect(roles.json["value"]?.arrayValue?.count == 7, "six built-in roles and the custom application role Support Lead")

        let created = try client.request("PUT", "/api/apiTokens/operator-token?\(v)", token: admin, body: #"{"roles":[{"role":"\#(Self.operatorRole)"}]}"#)
        #expect(created.status == 200)
        let operatorToken = try #require(created.json["token"]?.stringValue)

        expectEnvelope(try client.request("GET", "/api/users?\(v)", token: operatorToken), status: 403, code: "Forbidden")
        expectEnvelope(
            try client.request("PUT", "/api/apiTokens/sneaky?\(v)", token: operatorToken, body: #"{"roles":[{"role":"ca310b8d-2f4a-44e0-a36e-957c202cd8d4"}]}"#),
            status: 403, code: "Forbidden")
        #expect(try client.request("DELETE", "/api/apiTokens/operator-token?\(v)", token: admin).status == 204)
        expectEnvelope(try client.request("GET", "/api/roles?\(v)", token: operatorToken), status: 401, code: "Unauthenticated")

        // State that must survive: a user, and a token created just before the crash.
        #expect(try client.request("PUT", "/api/users/alice?\(v)", token: admin, body: #"{"type":"email","email":"alice@contoso.com","roles":[{"role":"\#(Self.operatorRole)"}]}"#).status == 200)
        let kept = try client.request("PUT", "/api/apiTokens/kept?\(v)", token: admin, body: #"{"roles":[{"role":"\#(Self.operatorRole)"}]}"#)
        #expect(kept.status == 200)
        let keptToken = try #require(kept.json["token"]?.stringValue)
        first.kill9()  // the writes above were acknowledged: they must be on disk

        let second = try MockProcess(dataDirectory: data)
        defer { second.terminate() }
        #expect(second.field("token") == admin)
        let again = try RawHTTPClient(port: try #require(second.port))
        let users = try again.request("GET", "/api/users?\(v)", token: admin)
        #expect(users.json["value"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["iotc-mock-owner", "alice"])
        let tokens = try again.request("GET", "/api/apiTokens?\(v)", token: admin)
        #expect(tokens.json["value"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["iotc-mock-admin", "kept"])
        #expect(try again.request("GET", "/api/apiTokens/operator-token?\(v)", token: admin).status == 404)
        expectEnvelope(try again.request("GET", "/api/roles?\(v)", token: operatorToken), status: 401, code: "Unauthenticated")
        #expect(try again.request("GET", "/api/roles?\(v)", token: keptToken).status == 403)
    }

    /// Found by a new-user trial: two servers started together on a fresh folder raced over its schema.
    @Test func twoServersStartingTogetherOnAFreshFolderBothStart() throws {
        for _ in 0..<3 {
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-pair-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: data) }
            let first = try MockProcess(dataDirectory: data, waitForReady: false)
            let second = try MockProcess(dataDirectory: data, waitForReady: false)
            first.readReadyLine()
            second.readReadyLine()
            defer { first.terminate(); second.terminate() }
            #expect(first.readyLine.hasPrefix("iotc-mock ready "), "\(first.readyLine)")
            #expect(second.readyLine.hasPrefix("iotc-mock ready "), "\(second.readyLine)")
        }
    }

    @Test func theTokenCommandPrintsAnAzStyleTokenThatTheRunningServerAccepts() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-token-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let server = try MockProcess(dataDirectory: data)
        defer { server.terminate() }
        let admin = try #require(server.field("token"))
        let (status, output) = try runToExitCapturingOutput(["token", "--data-dir", data.path, "--fixtures", Paths.fixtures.path, "--user", "admin@iotc-mock.example"])
        #expect(status == 0, "\(output)")
        let json = try JSONValue.parse(Array(output.utf8))
        let token = try #require(json["accessToken"]?.stringValue)
        #expect(json["tokenType"] == .string("Bearer"))
        #expect(json["tenant"] == .string("726878f1-1cb5-489c-a4f1-581d7b3c5984"))
        #expect(json["expiresOn"]?.stringValue?.count == 26)
        let client = try RawHTTPClient(port: try #require(server.port))
        let v = "api-version=2022-07-31"
        expectEnvelope(try client.request("GET", "/api/roles?\(v)", token: "Bearer \(token)"), status: 403, code: "Forbidden")
        #expect(try client.request("PUT", "/api/users/admin?\(v)", token: admin, body: #"{"type":"email","email":"Admin@IOTC-mock.example","roles":[{"role":"ca310b8d-2f4a-44e0-a36e-957c202cd8d4"}]}"#).status == 200)
        #expect(try client.request("GET", "/api/roles?\(v)", token: "Bearer \(token)").status == 200)
        expectEnvelope(try client.request("GET", "/api/roles?\(v)", token: "Bearer \(token)x"), status: 401, code: "Unauthenticated")
        let (badStatus, _) = try runToExitCapturingOutput(["token", "--data-dir", data.path, "--fixtures", Paths.fixtures.path, "--user", "nobody@nowhere"])
        #expect(badStatus != 0)
        // A folder without a server store would get a fresh key whose tokens the server refuses: an error instead.
        let (noStore, _) = try runToExitCapturingOutput(["token", "--data-dir", data.path + "-missing", "--fixtures", Paths.fixtures.path, "--user", "admin@iotc-mock.example"])
        #expect(noStore != 0)
        #expect(!FileManager.default.fileExists(atPath: data.path + "-missing"))

        // The signing key lives in the data folder: after a restart the same token still works.
        server.terminate()
        let again = try MockProcess(dataDirectory: data)
        defer { again.terminate() }
        let restarted = try RawHTTPClient(port: try #require(again.port))
        #expect(try restarted.request("GET", "/api/roles?\(v)", token: "Bearer \(token)").status == 200)
    }

    /// Runs the binary to completion and returns its exit status and standard output.
    func runToExitCapturingOutput(_ arguments: [String]) throws -> (Int32, String) {
        let (status, output, _) = try runBinary(arguments)
        return (status, output)
    }

    @Test func inMemoryWritesNothingToDisk() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-mem-\(UUID().uuidString)")
        let server = try MockProcess(dataDirectory: data, extraArguments: ["--in-memory"])
        defer { server.terminate() }
        #expect(server.readyLine.contains(" token=SharedAccessSignature sr="))
        #expect(!FileManager.default.fileExists(atPath: data.path))
    }

    @Test func environmentVariablesConfigureTheServer() throws {
        let process = Process()
        let output = Pipe()
        process.executableURL = Paths.binary
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["IOTC_MOCK_PORT": "0", "IOTC_MOCK_IN_MEMORY": "1", "IOTC_MOCK_FIXTURES": Paths.fixtures.path, "IOTC_MOCK_FIXTURE": "spec-examples"]) { $1 }
        process.standardOutput = output
        try process.run()
        defer { terminateWithin10Seconds(process) }
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), let b = byte.first, b != 10 { line.append(b) }
        let text = String(decoding: line, as: UTF8.self)
        #expect(text.contains(" subdomain=appsubdomain "))
        #expect(!text.contains("127.0.0.1:8765"))
    }

    /// Runs the binary to completion and returns its exit status and standard error.
    /// Runs the binary to completion and returns its exit status and standard error.
    func runToExit(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let (status, _, error) = try runBinary(arguments, environment: environment)
        return (status, error)
    }

    /// Runs the binary to completion: exit status, standard output, standard error (both read to the end).
    func runBinary(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = Paths.binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Both outputs are a few lines, far below a pipe's buffer, so reading one after the other cannot block.
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, out, err)
    }

    @Test func aTypoInABooleanVariableIsAnErrorNotSilentlyOff() throws {
        let (status, message) = try runToExit([], environment: ["IOTC_MOCK_IN_MEMORY": "ture"])
        #expect(status != 0)
        #expect(message.contains("IOTC_MOCK_IN_MEMORY must be"))
    }

    @Test func aDataFolderThatIsAFileGivesAPlainMessage() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-file-\(UUID().uuidString)")
        try Data().write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, message) = try runToExit(["--port", "0", "--data-dir", file.path, "--fixtures", Paths.fixtures.path])
        #expect(status == 1)
        #expect(message.hasPrefix("iotc-mock: the data folder \(file.path) is a file, not a folder; "), "\(message)")
        #expect(!message.contains("NSCocoaErrorDomain"))
    }

    @Test func aBadFlagValueExitsWithAMessage() throws {
        let process = Process()
        process.executableURL = Paths.binary
        process.arguments = ["--port", "70000", "--in-memory"]
        let error = Pipe()
        process.standardError = error
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message.contains("65535"))
    }
}
