import Foundation
import Testing

@testable import MockServer
import Entra
import HTTP

/// Drop-in mode (a second port, the real host names in the certificate) and the sign-in endpoints of Entra ID and
/// Resource Manager over real sockets. The unchanged Azure tools themselves run in `make test-azure-tools`.
@Suite struct DropInTests {
    static let tenant = "726878f1-1cb5-489c-a4f1-581d7b3c5984"

    func dropInServer() throws -> MockServer {
        try startServer { $0.dropIn = true; $0.dropInPort = 0 }
    }

    @Test func dropInModeListensOnItsOwnPortAndSaysWhichInTheReadyLine() throws {
        let server = try dropInServer()
        defer { server.stop() }
        let line = server.readyLine()
        let field = try #require(line.split(separator: " ").first { $0.hasPrefix("drop-in-port=") })
        let port = try #require(Int(field.dropFirst("drop-in-port=".count)))
        #expect(port > 0 && port != server.port)
        #expect(line.hasSuffix("token=\(server.wellKnownToken() ?? "")"))
        let client = try RawHTTPClient(port: port)
        let response = try client.request("GET", "/api/roles?api-version=2022-07-31", token: server.wellKnownToken(), host: "iotc-mock.azureiotcentral.com")
        #expect(response.status == 200)
        // Off by default: no field, no second port.
        let plain = try startServer()
        defer { plain.stop() }
        #expect(!plain.readyLine().contains("drop-in-port="))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "curl is not installed"),
          arguments: ["login.microsoftonline.com", "management.azure.com", "iotc-mock.azureiotcentral.com", "83f94f28-4f76-40b6-b518-13b8f67f42c5.azureiotcentral.com"])
    func curlTrustsTheRealHostNamesInDropInMode(_ host: String) throws {
        let server = try dropInServer()
        defer { server.stop() }
        let port = try #require(Int(server.readyLine().split(separator: " ").first { $0.hasPrefix("drop-in-port=") }?.split(separator: "=").last ?? ""))
        let path = host.hasPrefix("login") ? "/\(Self.tenant)/v2.0/.well-known/openid-configuration"
            : host.hasPrefix("management") ? "/metadata/endpoints?api-version=2022-09-01" : "/api/roles?api-version=2022-07-31"
        let r = try curl([
            "--cacert", server.certificatePath, "--resolve", "\(host):\(port):127.0.0.1", "-H", "Authorization: \(server.wellKnownToken() ?? "")",
            "-w", "\n%{http_code}", "https://\(host):\(port)\(path)",
        ])
        #expect(r.status == 0 && r.output.hasSuffix("\n200"), "\(r.output)")
        // Without drop-in mode the certificate does not name them.
        let plain = try startServer()
        defer { plain.stop() }
        let refused = try curl(["--cacert", plain.certificatePath, "--resolve", "\(host):\(plain.port):127.0.0.1", "https://\(host):\(plain.port)\(path)"])
        #expect(refused.status == 60, "\(refused.output)")
    }

    @Test func resourceManagerPathsAreRoutedBeforeTenantsOnEveryPort() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let subscriptions = try client.request("GET", "/subscriptions?api-version=2022-12-01")
        #expect(subscriptions.status == 401 && subscriptions.header("x-ms-error-code") == "AuthenticationFailed")
        #expect(subscriptions.header("x-iotc-mock-reason") == "Authentication failed. The 'Authorization' header is missing.")
        let token = try #require(server.entra?.issueToken(for: "iotc-mock-ci", resource: .resourceManager)?.token)
        let listed = try client.request("GET", "/subscriptions?api-version=2022-12-01", headers: [("Authorization", "Bearer \(token)")])
        #expect(listed.status == 200 && listed.text.contains("5b6a2c1e-7f3d-4e8a-9c21-0d4f6e8b3a17"))
        // `az cloud register` joins its endpoint and the path with a double slash.
        let metadata = try client.request("GET", "//metadata/endpoints?api-version=2022-09-01", host: "localhost:\(server.port)")
        #expect(metadata.status == 200 && metadata.text.contains("\"loginEndpoint\":\"http://localhost:\(server.port)\""))
        // A Resource Manager word is never a tenant; a tenant path is still Entra's.
        let notTenant = try client.request("GET", "/subscriptions/v2.0/.well-known/openid-configuration")
        #expect(notTenant.status == 404 && notTenant.header("x-ms-error-code") == "NotFound")
        #expect(try client.request("GET", "/\(Self.tenant)/v2.0/.well-known/openid-configuration").status == 200)
        #expect(try client.request("GET", "/common/discovery/instance?api-version=1.1&authorization_endpoint=https%3A%2F%2Flocalhost%2Fcommon%2Foauth2%2Fv2.0%2Fauthorize").status == 200)
    }

    @Test func theDropInPortNeedsDropInModeAndABusyPortFailsTheStart() throws {
        let refused = try CommandLineTests.run(["--in-memory", "--port", "0", "--drop-in-port", "8443"])
        #expect(refused.status == 64 && refused.err.contains("--drop-in-port applies to drop-in mode only"))
        let first = try dropInServer()
        defer { first.stop() }
        let busy = try #require(Int(first.readyLine().split(separator: " ").first { $0.hasPrefix("drop-in-port=") }?.split(separator: "=").last ?? ""))
        #expect(throws: MockServer.StartError.self) { try startServer { $0.dropIn = true; $0.dropInPort = busy } }
    }

    @Test func aSignedBearerTokenWithAHugeExpiryDoesNotCrashTheServer() throws {
        let server = try startServer()
        defer { server.stop() }
        let entra = try #require(server.entra)
        let now = Int64(Date().timeIntervalSince1970)
        let claims = AccessTokenClaims(
            aud: "https://apps.azureiotcentral.com", iss: "https://sts.windows.net/\(Self.tenant)/", iat: now, nbf: now, exp: 10_000_000_000_000_000,
            tid: Self.tenant, oid: "02a70a2d-68af-45ae-b566-7556a18f5405", sub: "x", idtyp: "app")
        let token = try #require(JSONWebToken.sign(claims, with: entra.signingKey))
        let client = try RawHTTPClient(port: server.port)
        let response = try client.request("GET", "/api/roles?api-version=2022-07-31", headers: [("Authorization", "Bearer \(token)")])
        #expect(response.status == 403)  // valid, but no user of the application
        #expect(try client.request("GET", "/_mock/health").status == 200)
    }

    @Test func dropInWithAnOwnCertificateThatLacksTheNamesWarns() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-own-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        // A certificate of the mock's own authority for localhost only, used as the user's own.
        let issued = try CertificateAuthority.issue(in: folder.path)
        try Data(issued.chainPEM).write(to: folder.appendingPathComponent("own.pem"))
        try Data(issued.privateKeyPEM).write(to: folder.appendingPathComponent("own-key.pem"))
        var configuration = MockServerConfiguration.ephemeral
        configuration.fixturesDirectory = Paths.fixtures.path
        configuration.dropIn = true
        configuration.dropInPort = 0
        configuration.tlsCertificatePath = folder.appendingPathComponent("own.pem").path
        configuration.tlsPrivateKeyPath = folder.appendingPathComponent("own-key.pem").path
        let server = try MockServer(configuration: configuration)
        let warnings = try server.start()
        defer { server.stop() }
        #expect(warnings.count == 1 && warnings[0].contains("login.microsoftonline.com"), "\(warnings)")
    }

    @Test func theDropInPortVariableAloneDoesNotStopAStart() throws {
        let environment = ["IOTC_MOCK_DROP_IN_PORT": "8443"]
        let server = try MockProcess(dataDirectory: FileManager.default.temporaryDirectory, extraArguments: ["--in-memory"], environment: environment)
        defer { server.terminate() }
        #expect(server.port != nil)
    }

    @Test func resourceManagersProvidersPathAnswersInItsOwnShape() throws {
        let server = try startServer()
        defer { server.stop() }
        let response = try RawHTTPClient(port: server.port).request("GET", "/providers?api-version=2021-04-01")
        #expect(response.status == 404 && response.header("x-ms-error-code") == "NotFound" && !response.text.contains("iotcentral-support"))
    }
}
