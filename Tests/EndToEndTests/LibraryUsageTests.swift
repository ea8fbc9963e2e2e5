import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MockServer
import Testing

@Test func myClientListsRoles() async throws {
    let mock = try MockServer(configuration: .ephemeral)  // port 0, in memory, no log
    try mock.start()
    defer { mock.stop() }

    var request = URLRequest(url: URL(string: "\(mock.baseURL)/api/roles?api-version=2022-07-31")!)
    request.setValue(mock.wellKnownToken(), forHTTPHeaderField: "Authorization")
    let (_, response) = try await URLSession.shared.data(for: request)
    #expect((response as? HTTPURLResponse)?.statusCode == 200)

    // An application of this test's own, reached with its Host header.
    let app = try mock.createApplication(subdomain: "my-test")
    var users = URLRequest(url: URL(string: "\(mock.baseURL)/api/users?api-version=2022-07-31")!)
    users.setValue(app.adminToken, forHTTPHeaderField: "Authorization")
    users.setValue("my-test.localhost", forHTTPHeaderField: "Host")
    let (_, usersResponse) = try await URLSession.shared.data(for: users)
    #expect((usersResponse as? HTTPURLResponse)?.statusCode == 200)

    try mock.setClockOffset(seconds: 86_400)                       // a day later
    #expect(mock.journal.entries(limit: 1).first?.status == 200)  // who called, and why it was allowed
    try mock.resetApplication(app.id)                              // back to the fixture
}
