import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MockServer
import Testing

/// The `MockServer` library as a Swift test suite would use it (README, "In a Swift test"): only its public API,
/// plain URLSession, nothing of this repository's test helpers except where the fixtures are.
@Suite struct LibraryUsageTests {
    @Test func aSwiftTestStartsTheMockInProcessAndUsesIt() async throws {
        var configuration = MockServerConfiguration.ephemeral  // port 0, in memory, no log
        configuration.fixturesDirectory = Paths.fixtures.path  // a package that copies fixtures/ points here
        let mock = try MockServer(configuration: configuration)
        try mock.start()
        defer { mock.stop() }

        // The well-known admin token of the default application.
        let admin = try #require(mock.wellKnownToken())
        var request = URLRequest(url: URL(string: "\(mock.baseURL)/api/roles?api-version=2022-07-31")!)
        request.setValue(admin, forHTTPHeaderField: "Authorization")
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(FileManager.default.fileExists(atPath: mock.certificatePath), "for https clients to trust")

        // An application of its own for this test, isolated from the others, reached through its Host.
        let app = try mock.createApplication(subdomain: "library-test")
        #expect(app.url == "http://library-test.localhost:\(mock.port)")
        var users = URLRequest(url: URL(string: "\(mock.baseURL)/api/users?api-version=2022-07-31")!)
        users.setValue(app.adminToken, forHTTPHeaderField: "Authorization")
        users.setValue("library-test.localhost", forHTTPHeaderField: "Host")
        let (body, usersResponse) = try await URLSession.shared.data(for: users)
        #expect((usersResponse as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: body, as: UTF8.self))")

        // Time travel, the journal, and a reset.
        try mock.setClockOffset(seconds: 86_400)
        #expect(mock.clockOffsetSeconds == 86_400)
        let last = try #require(mock.journal.entries(limit: 1).first)
        #expect(last.outcome.operationID == "Users_List" && last.status == 200)
        try mock.resetApplication("library-test")
        try mock.deleteApplication("library-test")
        #expect(mock.applications().count == 1)
        #expect(mock.isHealthy)
    }
}
