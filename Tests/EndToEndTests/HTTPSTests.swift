import Foundation
import Testing

@testable import MockServer

/// curl, a real third-party client, over https with the certificate the server generated.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "curl is not installed (make test installs it)"))
struct HTTPSTests {
    @Test(arguments: ["127.0.0.1", "localhost", "iotc-mock.localhost", "83f94f28-4f76-40b6-b518-13b8f67f42c5.localhost"])
    func curlVerifiesTheGeneratedCertificate(_ host: String) throws {
        let server = try startServer()
        defer { server.stop() }
        let admin = try #require(server.wellKnownToken())
        let r = try curl([
            "--cacert", server.certificatePath, "--resolve", "\(host):\(server.port):127.0.0.1",
            "-H", "Authorization: \(admin)", "-w", "\n%{http_code} %{http_version}",
            "https://\(host):\(server.port)/api/roles?api-version=2022-07-31",
        ])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.hasSuffix("\n200 1.1"), "\(r.output)")
    }

    @Test func curlRefusesTheServerWithoutTheCertificate() throws {
        let server = try startServer()
        defer { server.stop() }
        let r = try curl(["--cacert", "/dev/null", "https://localhost:\(server.port)/api/roles?api-version=2022-07-31"])
        #expect(r.status == 60 || r.status == 77, "curl exit \(r.status): \(r.output)")  // peer certificate cannot be verified
    }

    @Test func theReadyLineNamesTheHTTPSURLAndTheCertificate() throws {
        let server = try startServer()
        defer { server.stop() }
        #expect(server.readyLine().contains(" https-url=https://127.0.0.1:\(server.port) certificate=\(server.certificatePath) "))
        #expect(FileManager.default.fileExists(atPath: server.certificatePath))
    }
}
