import Foundation
import Testing
import MockServer

/// Runs the README's curl walk-through, as a reader would paste it, against a live server.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "curl is not installed (make test installs it)"))
struct ReadmeWalkthroughTests {
    /// The first ```sh block under the heading `heading`.
    static func walkthrough(_ heading: String = "## Walk-through with curl") throws -> String {
        let readme = try String(contentsOf: Paths.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: heading).dropFirst().first)
        let block = try #require(section.components(separatedBy: "```sh\n").dropFirst().first?.components(separatedBy: "```").first)
        return block
    }

    /// Runs `script` with bash against `server`; returns its exit status and standard output.
    static func run(_ script: String, against server: MockServer) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script.replacingOccurrences(of: "http://127.0.0.1:8765", with: server.baseURL)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test func theREADMEWalkthroughGivesTheAnswersItPromises() throws {
        let server = try startServer()
        defer { server.stop() }
        let (status, text) = try Self.run(try Self.walkthrough(), against: server)
        #expect(status == 0)
        #expect(text.contains(#""displayName":"Org Viewer""#), "roles: \(text)")
        #expect(text.contains("HTTP/1.1 403 Forbidden"))
        #expect(text.contains(#""code":"Forbidden""#))
        let codes = text.split(separator: "\n").filter { ["403", "204", "401"].contains($0) }
        #expect(codes == ["403", "204", "401"], "status lines: \(codes)")
        #expect(text.contains(#""id":"alice","type":"email","roles":[{"role":"344138e9-8de4-4497-8c54-5237e96d6aaf"}],"email":"alice@contoso.com""#))
    }

    @Test func theREADMEOrganizationsWalkthroughGivesTheAnswersItPromises() throws {
        let server = try startServer()
        defer { server.stop() }
        let (status, text) = try Self.run(try Self.walkthrough("## Organizations and scoped roles"), against: server)
        #expect(status == 0)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.count == 3 } == ["200", "200", "200", "200", "403", "200", "403", "200", "200", "200", "403", "403"], "\(text)")
        #expect(lines.contains("['thermostat-1']"), "\(text)")
        #expect(text.contains(#"{"value":[{"id":"washington","displayName":"Washington","parent":"us"},{"id":"seattle","displayName":"Seattle","parent":"washington"}]}"#), "\(text)")
    }

    /// The devices section continues the organizations one (same shell: BASE, V and ADMIN come from there).
    @Test func theREADMEDevicesWalkthroughGivesTheAnswersItPromises() throws {
        let server = try startServer()
        defer { server.stop() }
        let script = try Self.walkthrough("## Organizations and scoped roles") + Self.walkthrough("## Devices: properties, telemetry and commands")
            + Self.walkthrough("### Jobs run on the mock's clock, and query")
        let (status, text) = try Self.run(script, against: server)
        #expect(status == 0)
        let lines = text.split(separator: "\n").map(String.init)
        let properties = try #require(lines.first { $0.hasPrefix(#"{"firmware":"1.0.2""#) }, "\(text)")
        #expect(properties.contains(#""thermostat1":{"__t":"c","targetTemperature":21,"$metadata":{"targetTemperature":{"lastUpdateTime":"#), "\(properties)")
        #expect(lines.contains { $0.hasPrefix(#"{"timestamp":""#) && $0.hasSuffix(#"","value":20.5}"#) }, "\(text)")
        #expect(lines.contains(#"{"$metadata":{"targetTemperature":{"desiredValue":23}}}"#), "\(text)")
        #expect(lines.contains { $0.contains(#""request":{"delay":5},"response":{"ok":true},"responseCode":200}"#) }, "\(text)")
        // The job, created running, is completed five mock seconds later; the query reads the last telemetry.
        #expect(lines.contains { $0.contains(#""status":"running""#) && $0.contains(#""id":"set-target""#) }, "\(text)")
        #expect(lines.contains { $0.contains(#""status":"completed""#) && $0.contains(#""total":1,"pending":0,"completed":1,"failed":0"#) }, "\(text)")
        #expect(lines.contains(#"{"results":[{"$id":"sensor-1","t":20.5}]}"#), "\(text)")
    }

    @Test func theREADMEShowsTheLibraryUsageTestVerbatim() throws {
        let readme = try String(contentsOf: Paths.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let test = try String(contentsOf: Paths.repository.appendingPathComponent("Tests/EndToEndTests/LibraryUsageTests.swift"), encoding: .utf8)
        #expect(readme.contains("```swift\n" + test + "```"))
    }
}
