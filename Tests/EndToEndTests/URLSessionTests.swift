import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import MockServer

/// Swift's URLSession over https. On Linux it trusts only the system store, so the test does what the README tells
/// a user to do: `update-ca-certificates` with the mock's certificate; it undoes it afterwards. It changes the
/// machine's trust store, so it runs only as root in CI (CI=true) or when IOTC_MOCK_TEST_SYSTEM_TRUST=1.
/// Whether the test may change the system trust store.
let systemTrustTestAllowed: Bool = {
    let environment = ProcessInfo.processInfo.environment
    return getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/update-ca-certificates")
        && (environment["CI"] == "true" || environment["IOTC_MOCK_TEST_SYSTEM_TRUST"] == "1")
}()

@Suite(.serialized, .enabled(if: systemTrustTestAllowed, "changes the system trust store: runs as root with CI=true or IOTC_MOCK_TEST_SYSTEM_TRUST=1"))
struct URLSessionTests {

    func updateTrustStore() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/update-ca-certificates")
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
    }

    func get(_ url: URL, token: String) async throws -> Int {
        var request = URLRequest(url: url)
        request.setValue(token, forHTTPHeaderField: "Authorization")
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (_, response) = try await session.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? -1
    }

    @Test func urlSessionTrustsTheGeneratedCertificateOnceItIsInTheSystemStore() async throws {
        let server = try startServer()
        defer { server.stop() }
        let token = try #require(server.wellKnownToken())
        let url = try #require(URL(string: "https://localhost:\(server.port)/api/roles?api-version=2022-07-31"))

        await #expect(throws: (any Error).self, "without trust the handshake must fail") { _ = try await get(url, token: token) }

        let installed = URL(fileURLWithPath: "/usr/local/share/ca-certificates/iotc-mock-test-\(getpid()).crt")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: server.certificatePath), to: installed)
        defer {
            try? FileManager.default.removeItem(at: installed)
            try? updateTrustStore()
        }
        try updateTrustStore()
        #expect(try await get(url, token: token) == 200)
    }
}
