import Foundation
import Storage
import Testing

@testable import Central

/// A CentralService on an in-memory store seeded from a repository fixture, called without HTTP.
struct Harness {
    let store: CentralStore
    let service: CentralService
    let application: Application
    let adminToken: String

    init(fixture: String = "default", pageSize: Int = 100, maxRoleAssignments: Int = 200) throws {
        let loaded = try Fixture.load(directory: FixturePaths.directory, name: fixture)
        store = try CentralStore(database: SQLiteDatabase(path: nil))
        try store.insert(loaded, now: 0)
        service = CentralService(store: store, pageSize: pageSize, maxRoleAssignments: maxRoleAssignments)
        application = loaded.application
        adminToken = loaded.tokenString(loaded.apiTokens[0].id) ?? ""
    }

    func call(
        _ method: String, _ path: String, version: String? = "2022-07-31", token: String?, body: String? = nil,
        contentType: String? = nil, query: [(String, String)] = []
    ) -> (status: Int, json: JSONValue, response: CentralResponse) {
        var q = query.map { (name: $0.0, value: $0.1) }
        if let version { q.insert((name: "api-version", value: version), at: 0) }
        let request = CentralRequest(
            method: method, pathSegments: path.split(separator: "/").map(String.init), query: q,
            authorization: token.map { [$0] } ?? [], contentType: contentType, baseURL: "http://mock.test",
            body: Array((body ?? "").utf8))
        let response = service.handle(request, application: application)
        let json = (try? JSONValue.parse(response.body)) ?? .null
        return (response.status, json, response)
    }

    /// Creates an API token with `roleID` through the API and returns its string.
    func makeToken(_ id: String, role: String, organization: String? = nil) throws -> String {
        let assignment = organization.map { #"{"role":"\#(role)","organization":"\#($0)"}"# } ?? #"{"role":"\#(role)"}"#
        let r = call("PUT", "apiTokens/\(id)", token: adminToken, body: #"{"roles":[\#(assignment)]}"#)
        try #require(r.status == 200, "token creation failed: \(r.json)")
        return try #require(r.json["token"]?.stringValue)
    }

    func userCount() -> Int { call("GET", "users", token: adminToken).json["value"]?.arrayValue?.count ?? -1 }
}

enum RoleID {
    static let administrator = "ca310b8d-2f4a-44e0-a36e-957c202cd8d4"
    static let builder = "344138e9-8de4-4497-8c54-5237e96d6aaf"
    static let operator_ = "ae2c9854-393b-4f97-8c42-479d70ce626e"
    static let orgAdmin = "c495eb57-eb18-489e-9802-62c474e5645c"
    static let orgOperator = "b4935647-30e4-4ed3-9074-dcac66c2f8ef"
    static let orgViewer = "84cc62c1-dabe-49d3-b16e-8b291232b285"
    /// Custom roles of the default fixture.
    static let supportLead = "5d7d1b0e-3c2a-4f61-9a55-6c0f3b1d8e21"
    static let siteTechnician = "9b4f2c61-7e8d-4a3b-b1c5-2f6e0d9a7c43"
}

@Suite struct AuthenticationTests {
    @Test(arguments: [
        nil, "Basic dXNlcjpwYXNz", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig", "Token abc", "SharedAccessSignature",
        "SharedAccessSignature sr=x&sig=y", "garbage",
    ] as [String?])
    func missingOrForeignOrMalformedHeadersGetTheExact401Body(_ header: String?) throws {
        let h = try Harness()
        let r = h.call("GET", "roles", token: header)
        #expect(r.status == 401)
        #expect(r.json["error"]?["code"] == .string("Unauthenticated"))
        let requestID = try #require(r.json["error"]?["requestId"]?.stringValue)
        let time = try #require(r.json["error"]?["time"]?.stringValue)
        #expect(r.json["error"]?["message"] == .string(
            "The provided authentication token is invalid. You can contact support at https://aka.ms/iotcentral-support. Please include the following information. Request ID: \(requestID), Time: \(time)."))
        #expect(r.response.header("x-ms-error-code") == "Unauthenticated")
        #expect(r.response.header("x-ms-request-id") == requestID)
        #expect(time.hasSuffix(" GMT") && time.count == 29)
    }

    @Test func theFixtureAdminTokenIsAccepted() throws {
        let h = try Harness()
        #expect(h.call("GET", "roles", token: h.adminToken).status == 200)
    }

    @Test func aForgedSignatureIsRejectedWith401() throws {
        let h = try Harness()
        let sig = h.adminToken.components(separatedBy: "sig=")[1].prefix(4)
        let forged = h.adminToken.replacingOccurrences(of: "sig=\(sig)", with: "sig=\(sig == "AAAA" ? "BBBB" : "AAAA")")
        #expect(h.call("GET", "roles", token: forged).status == 401)
    }

    @Test func twoAuthorizationHeadersAreRejectedWith401() throws {
        let h = try Harness()
        let request = CentralRequest(method: "GET", pathSegments: ["roles"], query: [("api-version", "2022-07-31")], authorization: [h.adminToken, h.adminToken])
        #expect(h.service.handle(request, application: h.application).status == 401)
    }

    @Test func expiredAPITokenIsRejectedWith401() throws {
        let h = try Harness()
        let token = try h.makeToken("short", role: RoleID.administrator)
        #expect(h.call("GET", "roles", token: token).status == 200)
        let expiry = try #require(SharedAccessSignature.parse(token)?.expiryMilliseconds)
        let later = CentralService(store: h.store, clock: { expiry })
        let request = CentralRequest(method: "GET", pathSegments: ["roles"], query: [("api-version", "2022-07-31")], authorization: [token])
        #expect(later.handle(request, application: h.application).status == 401)
    }

    @Test func aDeletedTokenIsRejectedAndRecreatingItsIdDoesNotReviveIt() throws {
        let h = try Harness()
        let body = #"{"roles":[{"role":"\#(RoleID.administrator)"}],"expiry":"2090-01-01T00:00:00Z"}"#
        let first = try #require(h.call("PUT", "apiTokens/again", token: h.adminToken, body: body).json["token"]?.stringValue)
        #expect(h.call("DELETE", "apiTokens/again", token: h.adminToken).status == 204)
        #expect(h.call("GET", "roles", token: first).status == 401)
        let second = try #require(h.call("PUT", "apiTokens/again", token: h.adminToken, body: body).json["token"]?.stringValue)
        #expect(second != first)
        #expect(h.call("GET", "roles", token: first).status == 401)
        #expect(h.call("GET", "roles", token: second).status == 200)
    }

    @Test func aTokenOfAnotherApplicationIsRejected() throws {
        let h = try Harness()
        let other = try Harness(fixture: "spec-examples")
        #expect(h.call("GET", "roles", token: other.adminToken).status == 401)
    }
}

@Suite struct AuthorizationTests {
    @Test(arguments: [RoleID.builder, RoleID.operator_])
    func builderAndOperatorMayNotManageAPITokensOrUsers(_ role: String) throws {
        let h = try Harness()
        let token = try h.makeToken("limited", role: role)
        let denied: [(String, String, String?)] = [
            ("GET", "apiTokens", nil), ("GET", "apiTokens/iotc-mock-admin", nil),
            ("PUT", "apiTokens/x", #"{"roles":[{"role":"\#(RoleID.operator_)"}]}"#), ("DELETE", "apiTokens/iotc-mock-admin", nil),
            ("GET", "users", nil), ("GET", "users/u", nil), ("PUT", "users/u", #"{"type":"email","email":"a@b.co","roles":[{"role":"\#(RoleID.operator_)"}]}"#),
            ("PATCH", "users/u", #"{"roles":[]}"#), ("DELETE", "users/u", nil),
        ]
        for (method, path, body) in denied {
            let r = h.call(method, path, token: token, body: body)
            #expect(r.status == 403, "\(method) \(path) gave \(r.status)")
            #expect(r.json["error"]?["code"] == .string("Forbidden"))
            #expect(r.response.header("x-ms-error-code") == "Forbidden")
        }
        #expect(h.call("GET", "apiTokens/iotc-mock-admin", token: h.adminToken).status == 200, "a denied DELETE must change nothing")
    }

    @Test func permissionsComeFromRoleDataSoACustomRoleGrantsWhatItLists() throws {
        let h = try Harness(fixture: "spec-examples")
        let token = try h.makeToken("custom", role: "c7be2c6b-797e-4551-bb24-33709f6b2e20")  // users.view, customRoles.view
        #expect(h.call("GET", "users", token: token).status == 200)
        #expect(h.call("GET", "roles", token: token).status == 200)
        #expect(h.call("GET", "apiTokens", token: token).status == 403)
        #expect(h.call("DELETE", "users/x", token: token).status == 403)
    }

    @Test func aWriteToAnApplicationDeletedMeanwhileIsA404NotA500() throws {
        let h = try Harness()
        #expect(h.call("GET", "roles", token: h.adminToken).status == 200)  // caches the principal and the roles
        #expect(try h.store.deleteApplication(id: h.application.id))
        let r = h.call("PUT", "apiTokens/late", token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.operator_)"}]}"#)
        #expect(r.status == 404)
        #expect(r.json["error"]?["message"]?.stringValue?.hasPrefix("The application was deleted while the request ran") == true)
    }

    @Test func organizationScopedPrincipalsCannotUseTheAPITokenEndpoints() throws {
        let h = try Harness(fixture: "spec-examples")
        let r = h.call("PUT", "apiTokens/orgadmin", token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.orgAdmin)","organization":"seattle"}]}"#)
        let token = try #require(r.json["token"]?.stringValue)
        let denied = h.call("GET", "apiTokens", token: token)
        #expect(denied.status == 403)
        let message = denied.json["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("ApiTokens_List needs the permission 'apiTokens.view' on the whole application") && message.contains("Org Admin on 'seattle' lacks it"), "\(message)")
        #expect(h.call("PUT", "apiTokens/x", token: token, body: #"{"roles":[{"role":"\#(RoleID.orgViewer)","organization":"seattle"}]}"#).status == 403)
        #expect(h.call("GET", "users", token: token).status == 200, "Org Admin may list the users of its organization")
    }

    @Test func authenticationComesBeforeAuthorizationAndApiVersionBeforeBoth() throws {
        let h = try Harness()
        #expect(h.call("GET", "users", token: "Basic x").status == 401)
        #expect(h.call("GET", "users", version: nil, token: nil).status == 404)
    }
}

@Suite struct APIVersionTests {
    @Test(arguments: ["2022-07-31", "2022-05-31", "2022-10-31-preview", "1.0", "1.1-preview", "1.2-preview", "2021-04-30-preview", "2022-06-30-preview"])
    func documentedVersionsAreAccepted(_ version: String) throws {
        let h = try Harness()
        #expect(h.call("GET", "roles", version: version, token: h.adminToken).status == 200)
    }

    @Test func anUnknownVersionGetsNotFoundWithTheDocumentedMessage() throws {
        let h = try Harness()
        let r = h.call("GET", "roles", version: "2099-01-01", token: h.adminToken)
        #expect(r.status == 404)
        #expect(r.json["error"]?["code"] == .string("NotFound"))
        let message = try #require(r.json["error"]?["message"]?.stringValue)
        #expect(message.hasPrefix("\"2099-01-01\" is not a valid API version. You can contact support at https://aka.ms/iotcentral-support."))
    }

    @Test func aMissingVersionGetsNotFound() throws {
        let h = try Harness()
        let r = h.call("GET", "roles", version: nil, token: h.adminToken)
        #expect(r.status == 404)
        #expect(r.response.header("x-ms-error-code") == "NotFound")
    }

    @Test func aRepeatedIdenticalVersionIsAcceptedAndDifferingOnesAreNot() throws {
        let h = try Harness()
        #expect(h.call("GET", "roles", token: h.adminToken, query: [("api-version", "2022-07-31")]).status == 200)
        #expect(h.call("GET", "roles", token: h.adminToken, query: [("api-version", "1.0")]).status == 404)
    }

    @Test func version1_0HasNoGroupUsersAndNoOrganizations() throws {
        let h = try Harness(fixture: "spec-examples")
        let group = #"{"type":"adGroup","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","objectId":"9071c899-bce0-4862-b208-75dabae226a9","roles":[{"role":"\#(RoleID.operator_)"}]}"#
        #expect(h.call("PUT", "users/g", version: "1.0", token: h.adminToken, body: group).status == 422)
        #expect(h.call("PUT", "users/g", version: "2022-07-31", token: h.adminToken, body: group).status == 200)
        let org = #"{"roles":[{"role":"\#(RoleID.orgAdmin)","organization":"seattle"}]}"#
        #expect(h.call("PUT", "apiTokens/o", version: "1.0", token: h.adminToken, body: org).status == 422)
    }
}
