import Foundation
import Testing

@testable import Central

/// Requests and answers follow each api-version's own models (the per-version specs of
/// Azure/azure-rest-api-specs): what an older version cannot express is refused in requests and left out of answers.
@Suite struct VersionModelTests {
    static let group = #"{"type":"adGroup","tenantId":"726878f1-1cb5-489c-a4f1-581d7b3c5984","objectId":"2ab9a930-754c-455c-a645-d29f86c7016d","roles":[{"role":"\#(RoleID.operator_)"}]}"#
    static let scoped = #"{"roles":[{"role":"\#(RoleID.orgViewer)","organization":"washington"}]}"#

    @Test func version10HasNoADGroupUsersInRequestsOrAnswers() throws {
        let h = try Harness(fixture: "spec-examples")
        #expect(h.call("PUT", "users/group", version: "1.0", token: h.adminToken, body: Self.group).status == 422)
        #expect(h.call("GET", "users/group", token: h.adminToken).status == 404, "nothing stored by the refused request")
        #expect(h.call("PUT", "users/group", version: "1.1-preview", token: h.adminToken, body: Self.group).status == 200)
        // 1.0 cannot express it: not listed, and as good as absent for get, update and delete.
        let ids = (h.call("GET", "users", version: "1.0", token: h.adminToken).json["value"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        #expect(!ids.contains("group") && !ids.isEmpty)
        #expect(h.call("GET", "users/group", version: "1.0", token: h.adminToken).status == 404)
        #expect(h.call("PATCH", "users/group", version: "1.0", token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.builder)"}]}"#).status == 404)
        #expect(h.call("DELETE", "users/group", version: "1.0", token: h.adminToken).status == 404)
        #expect(h.call("GET", "users/group", version: "2022-07-31", token: h.adminToken).json["type"] == .string("adGroup"))
    }

    @Test(arguments: ["1.0", "2021-04-30-preview"])
    func versionsWithoutOrganizationsRefuseThemAndLeaveThemOutOfAnswers(_ version: String) throws {
        let h = try Harness(fixture: "spec-examples")
        #expect(h.call("PUT", "apiTokens/scoped", version: version, token: h.adminToken, body: Self.scoped).status == 422)
        #expect(h.call("GET", "apiTokens/scoped", token: h.adminToken).status == 404, "nothing stored by the refused request")
        #expect(h.call("PUT", "apiTokens/scoped", version: "2022-07-31", token: h.adminToken, body: Self.scoped).status == 200)
        // A token with organization roles only has no roles the version can show: as good as absent there.
        #expect(h.call("GET", "apiTokens/scoped", version: version, token: h.adminToken).status == 404)
        let listed = (h.call("GET", "apiTokens", version: version, token: h.adminToken).json["value"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        #expect(!listed.contains("scoped") && !listed.isEmpty)
        #expect(h.call("DELETE", "apiTokens/scoped", version: version, token: h.adminToken).status == 404)
        let new = h.call("GET", "apiTokens/scoped", version: "2022-07-31", token: h.adminToken)
        #expect(new.json["roles"]?.arrayValue?.first?["organization"] == .string("washington"))
        // `organization: null` is no string either.
        let nullOrganization = #"{"roles":[{"role":"\#(RoleID.operator_)","organization":null}]}"#
        #expect(h.call("PUT", "apiTokens/nul", version: "2022-07-31", token: h.adminToken, body: nullOrganization).status == 422)
    }

    @Test func aWriteInAVersionWithoutOrganizationsKeepsTheOrganizationRolesItCannotSee() throws {
        let h = try Harness(fixture: "spec-examples")
        let mixed = #"{"type":"email","email":"bob@example.com","roles":[{"role":"\#(RoleID.operator_)"},{"role":"\#(RoleID.orgViewer)","organization":"washington"}]}"#
        #expect(h.call("PUT", "users/bob", token: h.adminToken, body: mixed).status == 200)
        let old = h.call("GET", "users/bob", version: "1.0", token: h.adminToken)
        #expect(old.json["roles"] == .array([.object([("role", .string(RoleID.operator_))])]))
        // The 1.0 client writes back what it sees, with a change; the organization role it never saw stays.
        #expect(h.call("PUT", "users/bob", version: "1.0", token: h.adminToken,
                       body: #"{"type":"email","email":"bob@example.com","roles":[{"role":"\#(RoleID.builder)"}]}"#).status == 200)
        #expect(h.call("PATCH", "users/bob", version: "1.0", token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.builder)"}]}"#).status == 200)
        let now = h.call("GET", "users/bob", version: "2022-07-31", token: h.adminToken).json["roles"]?.arrayValue ?? []
        #expect(now.count == 2 && now.contains(.object([("role", .string(RoleID.builder))])))
        #expect(now.contains { $0["organization"] == .string("washington") })
    }

    @Test func version20210430PreviewNamesUserTypesByTheirDefinitions() throws {
        let h = try Harness()
        let body = #"{"type":"EmailUser","email":"eu@example.com","roles":[{"role":"\#(RoleID.operator_)"}]}"#
        for version in ["2021-04-30-preview", "preview"] {
            let made = h.call("PUT", "users/eu", version: version, token: h.adminToken, body: body)
            #expect(made.status == 200 && made.json["type"] == .string("EmailUser"), "\(version): \(made.json)")
        }
        #expect(h.call("PUT", "users/short", version: "2021-04-30-preview", token: h.adminToken,
                       body: #"{"type":"email","email":"s@example.com","roles":[{"role":"\#(RoleID.operator_)"}]}"#).status == 422)
        #expect(h.call("GET", "users/eu", version: "2022-07-31", token: h.adminToken).json["type"] == .string("email"))
        #expect(h.call("PUT", "users/eu2", version: "2022-07-31", token: h.adminToken, body: body).status == 422, "EmailUser is no type in 2022-07-31")
    }

    @Test func idsAndEmailsMadeInOneVersionStayUsableInAnother() throws {
        let h = try Harness()
        let user = #"{"type":"email","email":"spaced@example.com","roles":[{"role":"\#(RoleID.operator_)"}]}"#
        #expect(h.call("PUT", "users/a b", version: "1.0", token: h.adminToken, body: user).status == 200)
        #expect(h.call("PUT", "users/a b", version: "2022-07-31", token: h.adminToken, body: user).status == 200, "an existing id keeps working")
        let plain = #"{"type":"email","email":"plain","roles":[{"role":"\#(RoleID.operator_)"}]}"#
        #expect(h.call("PUT", "users/plain", version: "2022-07-31", token: h.adminToken, body: plain).status == 200)
        #expect(h.call("PUT", "users/plain", version: "1.0", token: h.adminToken, body: plain).status == 200, "an existing email is not re-checked")
        for id in [".", ".."] {
            #expect(h.call("PUT", "users/\(id)", version: "1.0", token: h.adminToken, body: user).status == 422, "\(id)")
        }
        #expect(!Validation.isUnlimitedID("a/b") && Validation.isUnlimitedID("a b"))
        for email in ["c\u{00A0}d@x.com", "cd@x.com\u{0085}", "\u{0085}", "x\u{3000}y", "x\u{2028}y"] {
            let body = #"{"type":"email","email":"\#(email)","roles":[{"role":"\#(RoleID.operator_)"}]}"#
            #expect(h.call("PUT", "users/u\(email.unicodeScalars.count)x", version: "2022-07-31", token: h.adminToken, body: body).status == 422,
                    "\(email.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test(arguments: [("1.0", false), ("1.1-preview", false), ("2021-04-30-preview", false), ("1.2-preview", true), ("2022-07-31", true)])
    func usersUpdateTakesMergePatchFrom12Preview(version: String, mergePatch: Bool) throws {
        let h = try Harness()
        let body = #"{"roles":[{"role":"\#(RoleID.builder)"}]}"#
        let r = h.call("PATCH", "users/iotc-mock-owner", version: version, token: h.adminToken, body: body, contentType: "application/merge-patch+json")
        #expect(r.status == (mergePatch ? 422 : 415), "\(r.json)")  // 422 where accepted: the last Administrator stays one
        #expect(h.call("PATCH", "users/iotc-mock-owner", version: version, token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.administrator)"}]}"#).status == 200)
    }

    @Test(arguments: [("1.0", 200), ("1.1-preview", 200), ("2021-04-30-preview", 200), ("1.2-preview", 422), ("2022-05-31", 422), ("2022-10-31-preview", 422)])
    func userAndOrganizationIDLimitsStartIn12Preview(version: String, status: Int) throws {
        let h = try Harness()
        let type = User.Kind.email.name(in: APIVersion(named: version) ?? .v1_0)
        let user = #"{"type":"\#(type)","email":"long@example.com","roles":[{"role":"\#(RoleID.operator_)"}]}"#
        let longID = String(repeating: "u", count: 60)
        #expect(h.call("PUT", "users/\(longID)", version: version, token: h.adminToken, body: user).status == status)
        #expect(h.call("PUT", "users/Dotted.Name", version: version, token: h.adminToken,
                       body: #"{"type":"\#(type)","email":"dot@example.com","roles":[{"role":"\#(RoleID.operator_)"}]}"#).status == status)
        if version != "1.0" && version != "2021-04-30-preview" {  // versions with organizations
            #expect(h.call("PUT", "organizations/Upper_Case", version: version, token: h.adminToken, body: #"{"displayName":"U"}"#).status == status)
        }
        #expect(h.call("PUT", "users/bad\u{01}id", version: version, token: h.adminToken, body: user).status == 422, "control characters never")
    }

    @Test(arguments: [("1.0", 422), ("1.1-preview", 422), ("2021-04-30-preview", 422), ("1.2-preview", 200), ("2022-07-31", 200)])
    func emailHasItsFormatInSomeVersionsOnly(version: String, status: Int) throws {
        let h = try Harness()
        let type = User.Kind.email.name(in: APIVersion(named: version) ?? .v1_0)
        let body = #"{"type":"\#(type)","email":"operator-without-domain","roles":[{"role":"\#(RoleID.operator_)"}]}"#
        let r = h.call("PUT", "users/plain", version: version, token: h.adminToken, body: body)
        #expect(r.status == status && (status == 200 || r.json["error"]?["message"]?.stringValue?.contains("not a valid email address") == true), "\(r.json)")
        #expect(h.call("PUT", "users/spaced", version: version, token: h.adminToken,
                       body: #"{"type":"\#(type)","email":"a b@c.d","roles":[{"role":"\#(RoleID.operator_)"}]}"#).status == 422)
    }
}
