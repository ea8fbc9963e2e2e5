import Foundation
import Testing

@testable import Central
@testable import MockServer

/// Every operation of the catalog in every api-version, over HTTP: where the version has it, the request passes
/// the version check (and, without an `Authorization` header, stops at 401); where it does not, it is 404 like any
/// absent operation, before authentication.
@Suite struct APIVersionTests {
    static func concretePath(_ template: String) -> String {
        var path = template
        while let open = path.firstIndex(of: "{"), let close = path[open...].firstIndex(of: "}") {
            path.replaceSubrange(open...close, with: "x1")
        }
        return path
    }

    @Test(arguments: APIVersion.allCases)
    func everyOperationIsThereExactlyInItsVersions(_ version: APIVersion) throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        var listed = 0, unlisted = 0
        for operation in OperationCatalog.operations {
            let body = ["PUT", "PATCH", "POST"].contains(operation.method) ? "{}" : nil
            let response = try client.request(
                operation.method, "/api\(Self.concretePath(operation.path))?api-version=\(version.rawValue)", body: body)
            if operation.versions.contains(version) {
                listed += 1
                #expect(response.status == 401, "\(operation.operationID) in \(version.rawValue): \(response.status) \(response.text)")
            } else {
                unlisted += 1
                #expect(response.status == 404, "\(operation.operationID) in \(version.rawValue): \(response.status) \(response.text)")
                #expect(response.json["error"]?["message"]?.stringValue?.contains("does not exist in api-version \(version.rawValue)") == true,
                        "\(operation.operationID): \(response.text)")
            }
        }
        let counts: [APIVersion: Int] = [
            .v1_0: 53, .v1_1_preview: 88, .v1_2_preview: 92, .v2021_04_30_preview: 71, .v2022_05_31: 67,
            .v2022_06_30_preview: 114, .v2022_07_31: 96, .v2022_10_31_preview: 120,
        ]
        #expect(listed == counts[version] && listed + unlisted == 130)
    }

    @Test func aPathWithoutOperationsInTheVersionIs404NotMethodNotAllowed() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        // Organizations do not exist in 1.0, with any method.
        expectEnvelope(try client.request("DELETE", "/api/organizations?api-version=1.0", token: admin), status: 404, code: "NotFound")
        expectEnvelope(try client.request("GET", "/api/organizations?api-version=1.0", token: admin), status: 404, code: "NotFound")
        // Where the path exists, another method is 405 naming that version's methods.
        let other = try client.request("DELETE", "/api/organizations?api-version=2022-07-31", token: admin)
        #expect(other.status == 405 && other.header("Allow") == "GET")
        // Data export is in 2022-06-30-preview: past the version check, the body is checked (422 names the field).
        let export = try client.request("PUT", "/api/dataExport/destinations/x?api-version=2022-06-30-preview", token: admin, body: "{}")
        #expect(export.status == 422 && export.text.contains("'displayName' is required"), "\(export.text)")
        // Device group deletion is not in 1.0: 404, not 501.
        expectEnvelope(try client.request("DELETE", "/api/deviceGroups/x?api-version=1.0", token: admin), status: 404, code: "NotFound")
    }
}

/// Small routing and authentication answers, as the real service gives them.
@Suite struct RoutingFidelityTests {
    @Test func anEmptyPathSegmentMatchesNoRouteButATrailingSlashDoes() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        expectEnvelope(try client.request("GET", "/api//users?api-version=2022-07-31", token: admin), status: 404, code: "NotFound")
        expectEnvelope(try client.request("GET", "/api/users//?api-version=2022-07-31", token: admin), status: 404, code: "NotFound")
        #expect(try client.request("GET", "/api/users/?api-version=2022-07-31", token: admin).status == 200)
        #expect(try client.request("GET", "/api/users?api-version=2022-07-31", token: admin).status == 200)
    }

    @Test(arguments: ["Bearer ", "Bearer", "bearer   ", "SharedAccessSignature "])
    func aSchemeWithoutATokenSaysTheTokenIsMissing(_ header: String) throws {
        let server = try startServer()
        defer { server.stop() }
        let response = try RawHTTPClient(port: server.port).request("GET", "/api/users?api-version=2022-07-31", headers: [("Authorization", header)])
        expectEnvelope(response, status: 401, code: "Unauthenticated")
        #expect(response.header("x-iotc-mock-reason")?.contains("carries no token after it") == true, "\(response.header("x-iotc-mock-reason") ?? "")")
    }
}
