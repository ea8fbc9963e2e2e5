import Foundation
import Testing

/// Runs the README's curl walk-through, as a reader would paste it, against a live server.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "curl is not installed (make test installs it)"))
struct ReadmeWalkthroughTests {
    /// The first ```sh block under "## Walk-through with curl".
    static func walkthrough() throws -> String {
        let readme = try String(contentsOf: Paths.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Walk-through with curl").dropFirst().first)
        let block = try #require(section.components(separatedBy: "```sh\n").dropFirst().first?.components(separatedBy: "```").first)
        return block
    }

    @Test func theREADMEWalkthroughGivesTheAnswersItPromises() throws {
        let server = try startServer()
        defer { server.stop() }
        let script = try Self.walkthrough().replacingOccurrences(of: "http://127.0.0.1:8765", with: server.baseURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains(#""displayName":"Org Viewer""#), "roles: \(text)")
        #expect(text.contains("HTTP/1.1 403 Forbidden"))
        #expect(text.contains(#""code":"Forbidden""#))
        let codes = text.split(separator: "\n").filter { ["403", "204", "401"].contains($0) }
        #expect(codes == ["403", "204", "401"], "status lines: \(codes)")
        #expect(text.contains(#""id":"alice","type":"email","roles":[{"role":"344138e9-8de4-4497-8c54-5237e96d6aaf"}],"email":"alice@contoso.com""#))
    }
}
