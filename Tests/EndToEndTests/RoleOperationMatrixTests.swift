import Foundation
import Testing

@testable import Central
@testable import MockServer

/// Every operation of the catalog × each of the six built-in roles, over real HTTP: application roles unscoped,
/// organization roles on an organization. The expected table is written here from the words of "Manage users and roles in IoT Central",
/// not derived from `fixtures/roles.json`, so a wrong permission in the data makes this test fail.
@Suite struct RoleOperationMatrixTests {
    /// The operation's resource group and action, e.g. ("Devices", "GetProperties").
    static func parts(_ operationID: String) -> (group: String, action: String) {
        let split = operationID.split(separator: "_", maxSplits: 1).map(String.init)
        return (split[0], split.count > 1 ? split[1] : "")
    }

    static func isRead(_ action: String) -> Bool { action.hasPrefix("Get") || action.hasPrefix("List") }

    /// Operators work with devices, device groups and jobs, read templates, dashboards, manifests and
    /// organizations, and run queries; they never change templates or administer the app.
    static func operatorMay(_ operationID: String) -> Bool {
        let (group, action) = parts(operationID)
        if ["Devices", "DeviceGroups", "Jobs", "ScheduledJobs"].contains(group) || operationID == "Query_Run" { return true }
        if ["DeviceTemplates", "Dashboards", "DeploymentManifests", "Organizations"].contains(group) { return isRead(action) }
        return false
    }

    /// What each built-in role may do, by display name.
    static func expectedAllowed(role: String, operationID: String) -> Bool {
        let (group, action) = parts(operationID)
        switch role {
        case "Administrator":
            return true
        case "Builder":  // everything except administration (users, roles, API tokens, organizations, settings) and data export changes
            if ["Users", "ApiTokens", "Roles"].contains(group) { return false }
            if ["Organizations", "Destinations", "Exports", "ContinuousDataExports", "EnrollmentGroups", "FileUploads"].contains(group) { return isRead(action) }
            return true
        case "Operator", "Org Operator":
            return operatorMay(operationID)
        case "Org Admin":  // an operator of its subtree that also manages its users, organizations and dashboards
            return operatorMay(operationID) || ["Users", "Organizations", "Dashboards"].contains(group) || operationID.hasPrefix("Roles_")
        case "Org Viewer":
            return (operatorMay(operationID) && isRead(action)) || operationID == "Query_Run"
        default:
            Issue.record("unknown role \(role)")
            return false
        }
    }

    static let roles: [(name: String, id: String, organization: String?)] = [
        ("Administrator", "ca310b8d-2f4a-44e0-a36e-957c202cd8d4", nil),
        ("Builder", "344138e9-8de4-4497-8c54-5237e96d6aaf", nil),
        ("Operator", "ae2c9854-393b-4f97-8c42-479d70ce626e", nil),
        ("Org Admin", "c495eb57-eb18-489e-9802-62c474e5645c", "matrix-org"),
        ("Org Operator", "b4935647-30e4-4ed3-9074-dcac66c2f8ef", "matrix-org"),
        ("Org Viewer", "84cc62c1-dabe-49d3-b16e-8b291232b285", "matrix-org"),
    ]

    @Test(arguments: roles.indices)
    func everyOperationIsAllowedOrDeniedAsTheRoleDescriptionsSay(_ index: Int) throws {
        let role = Self.roles[index]
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let version = "api-version=2022-10-31-preview"
        let made = try client.request("PUT", "/api/organizations/matrix-org?\(version)", token: admin, body: #"{"displayName":"Matrix"}"#)
        try #require(made.status == 200, "\(made.text)")
        let assignment = role.organization.map { #"{"role":"\#(role.id)","organization":"\#($0)"}"# } ?? #"{"role":"\#(role.id)"}"#
        let created = try client.request("PUT", "/api/apiTokens/matrix?\(version)", token: admin, body: #"{"roles":[\#(assignment)]}"#)
        let token = try #require(created.json["token"]?.stringValue, "\(created.text)")

        var checked = 0
        for operation in OperationCatalog.operations {
            let id = "m\(index)"
            var path = operation.path.replacingOccurrences(of: "{deviceTemplateId}", with: "dtmi:matrix:\(id);1")
            while let open = path.firstIndex(of: "{"), let close = path[open...].firstIndex(of: "}") {
                path.replaceSubrange(open...close, with: id)
            }
            let body: String? = switch operation.operationID {
            case "Organizations_Create": #"{"displayName":"Made by \#(role.name)","parent":"matrix-org"}"#
            case "Users_Create": #"{"type":"email","email":"\#(id)@example.com","roles":[{"role":"84cc62c1-dabe-49d3-b16e-8b291232b285","organization":"matrix-org"}]}"#
            case "ApiTokens_Create": #"{"roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}"#
            case "FileUploads_Create": #"{"connectionString":"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5","container":"uploads"}"#
            case "DeviceGroups_Create": #"{"displayName":"Group","filter":"SELECT * FROM devices"}"#
            case "DeviceTemplates_Create": #"{"@type":["ModelDefinition","DeviceModel"],"capabilityModel":{"@type":"Interface"}}"#
            case "Dashboards_Create": #"{"displayName":"Board"}"#
            case "DeploymentManifests_Create", "Devices_ApplyManifest": #"{"data":{}}"#
            case "Destinations_Create":
                #"{"displayName":"Blob","type":"blobstorage@v1","authorization":{"type":"connectionString","connectionString":"c","containerName":"x"}}"#
            case "Exports_Create": #"{"displayName":"Export","enabled":false,"source":"telemetry","destinations":[]}"#
            case "ContinuousDataExports_Create": #"{"endpoint":{"type":"StorageEndpoint","connectionString":"c","name":"x"},"enabled":false,"sources":["telemetry"]}"#
            case "EnrollmentGroups_Create": #"{"displayName":"Group","type":"iot","attestation":{"type":"symmetricKey"}}"#
            case "EnrollmentGroups_CreateX509", "EnrollmentGroups_VerifyX509": #"{"certificate":"MIIB"}"#
            case "Jobs_Create": #"{"group":"\#(id)","data":[{"type":"property","target":"dtmi:matrix:\#(id);1","path":"p","value":1}]}"#
            case "ScheduledJobs_Create":
                #"{"group":"\#(id)","schedule":{"start":"2026-01-01T00:00:00Z"},"data":[{"type":"property","target":"dtmi:matrix:\#(id);1","path":"p","value":1}]}"#
            case "Query_Run": #"{"query":"SELECT * FROM dtmi:matrix:\#(id);1"}"#
            default: ["PUT", "PATCH", "POST"].contains(operation.method) ? "{}" : nil
            }
            // Each operation in the newest version that has it (ten exist in 2021-04-30-preview only).
            let newest = operation.versions.max() ?? .v2022_10_31_preview
            let response = try client.request(operation.method, "/api\(path)?api-version=\(newest.rawValue)", token: token, body: body)
            let allowed = Self.expectedAllowed(role: role.name, operationID: operation.operationID)
            if allowed {
                #expect(response.status != 403 && response.status != 401, "\(role.name) should be allowed \(operation.operationID): \(response.text)")
                // Answered from state: done, or the item (or one it names, deleted earlier in the loop) is not there.
                let missingReference = response.status == 400 && response.text.contains("does not exist")
                #expect(response.status < 300 || response.status == 404 || missingReference, "\(role.name) \(operation.operationID): \(response.text)")
            } else {
                #expect(response.status == 403, "\(role.name) should be denied \(operation.operationID): \(response.status) \(response.text)")
                #expect(response.json["error"]?["code"] == .string("Forbidden"))
            }
            checked += 1
        }
        #expect(checked == 130)
    }

    @Test func everyOperationAuthenticatesAndChecksTheVersionBeforeItsHandler() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        expectEnvelope(try client.request("GET", "/api/jobs?api-version=2022-07-31"), status: 401, code: "Unauthenticated")
        expectEnvelope(try client.request("GET", "/api/devices?api-version=2099-01-01", token: admin), status: 404, code: "NotFound")
        expectEnvelope(try client.request("GET", "/api/dashboards?api-version=2022-07-31", token: admin), status: 404, code: "NotFound")
        let r = try client.request("GET", "/api/jobs?api-version=2022-07-31", token: admin)
        #expect(r.status == 200 && r.json["value"] == .array([]), "\(r.text)")
        expectEnvelope(try client.request("DELETE", "/api/devices?api-version=2022-07-31", token: admin), status: 405, code: "MethodNotAllowed")
        expectEnvelope(try client.request("GET", "/api/devices/d1/nothing?api-version=2022-07-31", token: admin), status: 404, code: "NotFound")
    }
}
