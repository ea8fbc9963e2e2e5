import Foundation
import Testing

@testable import Central

/// The rules of "Manage users and roles in IoT Central" for whoever grants roles: only roles within one's own permissions, at least one
/// Administrator, and a cap on role assignments per application.
@Suite struct RoleAssignmentRuleTests {
    static func emailUser(_ email: String, _ assignments: [(String, String?)]) -> String {
        let roles = assignments.map { role, organization in
            organization.map { #"{"role":"\#(role)","organization":"\#($0)"}"# } ?? #"{"role":"\#(role)"}"#
        }
        return #"{"type":"email","email":"\#(email)","roles":[\#(roles.joined(separator: ","))]}"#
    }

    @Test func aCustomRoleCannotCreateAUserWithAdministrator() throws {
        let h = try Harness()  // Support Lead: users.add plus a few device permissions
        let lead = try h.makeToken("lead", role: RoleID.supportLead)
        let r = h.call("PUT", "users/boss", token: lead, body: Self.emailUser("boss@contoso.com", [(RoleID.administrator, nil)]))
        #expect(r.status == 403)
        #expect(r.json["error"]?["message"]?.stringValue?.contains("the role 'Administrator' holds permissions the caller lacks on the whole application") == true)
        #expect(h.call("PUT", "users/op", token: lead, body: Self.emailUser("op@contoso.com", [(RoleID.operator_, nil)])).status == 403)
        #expect(h.userCount() == 1, "only the fixture's owner")

        // Its own role, or an organization role within its permissions, it may give.
        #expect(h.call("PUT", "users/peer", token: lead, body: Self.emailUser("peer@contoso.com", [(RoleID.supportLead, nil)])).status == 200)
        #expect(h.call("PUT", "organizations/site-a", token: h.adminToken, body: #"{"displayName":"Site A"}"#).status == 200)
        #expect(h.call("PUT", "users/tech", token: lead, body: Self.emailUser("tech@contoso.com", [(RoleID.siteTechnician, "site-a")])).status == 200)
        #expect(h.call("PUT", "users/viewer", token: lead, body: Self.emailUser("viewer@contoso.com", [(RoleID.orgViewer, "site-a")])).status == 403,
                "Org Viewer holds deviceConnectivity.readInstance, which Support Lead lacks")
        // Nor may it raise an existing user's roles through PATCH.
        #expect(h.call("PATCH", "users/peer", token: lead, body: #"{"roles":[{"role":"\#(RoleID.administrator)"}]}"#).status == 403)
        #expect(h.call("GET", "users/peer", token: h.adminToken).json["roles"]?.arrayValue?.first?["role"] == .string(RoleID.supportLead))
    }

    @Test func aCustomRoleCannotDemoteOrRemoveAUserWithMorePermissionsThanItsOwn() throws {
        let h = try Harness()
        let lead = try h.makeToken("lead", role: RoleID.supportLead)
        #expect(h.call("PUT", "users/second", token: h.adminToken, body: Self.emailUser("second@contoso.com", [(RoleID.administrator, nil)])).status == 200)
        let demoted = h.call("PATCH", "users/second", token: lead, body: #"{"roles":[{"role":"\#(RoleID.supportLead)"}]}"#)
        #expect(demoted.status == 403)
        #expect(demoted.json["error"]?["message"]?.stringValue?.contains("the user 'second' has the role 'Administrator' on the whole application") == true)
        #expect(h.call("PUT", "users/second", token: lead, body: Self.emailUser("second@contoso.com", [(RoleID.supportLead, nil)])).status == 403)
        #expect(h.call("GET", "users/second", token: h.adminToken).json["roles"]?.arrayValue?.first?["role"] == .string(RoleID.administrator))
        // A peer with the same role it may change.
        #expect(h.call("PUT", "users/peer", token: h.adminToken, body: Self.emailUser("peer@contoso.com", [(RoleID.supportLead, nil)])).status == 200)
        #expect(h.call("PATCH", "users/peer", token: lead, body: #"{"roles":[{"role":"\#(RoleID.supportLead)"}]}"#).status == 200)
    }

    @Test func anAdministratorMayGrantAnyRoleAndTokensFollowTheSameRule() throws {
        let h = try Harness(fixture: "spec-examples")
        #expect(h.call("PUT", "users/a", token: h.adminToken, body: Self.emailUser("a@contoso.com", [(RoleID.administrator, nil), (RoleID.orgAdmin, "seattle")])).status == 200)
        let orgAdmin = try h.makeToken("wa", role: RoleID.orgAdmin, organization: "washington")
        #expect(h.call("PUT", "apiTokens/x", token: orgAdmin, body: #"{"roles":[{"role":"\#(RoleID.orgViewer)","organization":"seattle"}]}"#).status == 403)
    }

    /// The fixtures' owner (`iotc-mock-owner`, Administrator) plays the user who created the app.
    @Test func theLastAdministratorCannotBeDeletedOrDemoted() throws {
        let h = try Harness()
        let deleted = h.call("DELETE", "users/iotc-mock-owner", token: h.adminToken)
        #expect(deleted.status == 422)
        #expect(deleted.json["error"]?["code"] == .string("LastAdministrator"))
        let demoted = h.call("PATCH", "users/iotc-mock-owner", token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.operator_)"}]}"#)
        #expect(demoted.status == 422)
        #expect(demoted.json["error"]?["code"] == .string("LastAdministrator"))
        let replaced = h.call("PUT", "users/iotc-mock-owner", token: h.adminToken, body: Self.emailUser("owner@iotc-mock.example", [(RoleID.builder, nil)]))
        #expect(replaced.status == 422)
        #expect(h.call("GET", "users/iotc-mock-owner", token: h.adminToken).json["roles"]?.arrayValue?.first?["role"] == .string(RoleID.administrator))

        // With a second Administrator (an Entra group counts as one user) the owner may go, and then the group may not.
        let group = #"{"type":"adGroup","tenantId":"726878f1-1cb5-489c-a4f1-581d7b3c5984","objectId":"2ab9a930-6f6d-4d0e-8b8e-3b1a2c4d5e6f","roles":[{"role":"\#(RoleID.administrator)"}]}"#
        #expect(h.call("PUT", "users/admins", token: h.adminToken, body: group).status == 200)
        #expect(h.call("PATCH", "users/iotc-mock-owner", token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.operator_)"}]}"#).status == 200)
        #expect(h.call("DELETE", "users/iotc-mock-owner", token: h.adminToken).status == 204)
        let last = h.call("DELETE", "users/admins", token: h.adminToken)
        #expect(last.status == 422)
        #expect(last.json["error"]?["message"]?.stringValue?.hasPrefix("The user 'admins' is the last user with the Administrator role") == true)
        #expect(h.userCount() == 1)
    }

    @Test func anOrganizationScopedAdministratorDoesNotCountAsTheApplicationsAdministrator() throws {
        let h = try Harness(fixture: "spec-examples")
        #expect(h.call("PUT", "users/b", token: h.adminToken, body: Self.emailUser("b@contoso.com", [(RoleID.orgAdmin, "seattle")])).status == 200)
        #expect(h.call("DELETE", "users/iotc-mock-owner", token: h.adminToken).status == 422)
        #expect(h.call("DELETE", "users/b", token: h.adminToken).status == 204)
    }

    @Test func roleAssignmentsPerApplicationAreCappedAndAGroupCountsOnce() throws {
        let h = try Harness(fixture: "spec-examples", maxRoleAssignments: 4)  // the owner holds one
        #expect(h.call("PUT", "users/a", token: h.adminToken, body: Self.emailUser("a@contoso.com", [(RoleID.operator_, nil), (RoleID.orgViewer, "seattle")])).status == 200)
        let group = #"{"type":"adGroup","tenantId":"726878f1-1cb5-489c-a4f1-581d7b3c5984","objectId":"2ab9a930-6f6d-4d0e-8b8e-3b1a2c4d5e6f","roles":[{"role":"\#(RoleID.builder)"}]}"#
        #expect(h.call("PUT", "users/group", token: h.adminToken, body: group).status == 200)
        let over = h.call("PUT", "users/c", token: h.adminToken, body: Self.emailUser("c@contoso.com", [(RoleID.operator_, nil)]))
        #expect(over.status == 422)
        #expect(over.json["error"]?["code"] == .string("RoleAssignmentLimit"))
        #expect(over.json["error"]?["message"]?.stringValue?.contains("at most 4 role assignments") == true)
        #expect(h.call("PATCH", "users/a", token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.operator_)"}, {"role":"\#(RoleID.builder)"}, {"role":"\#(RoleID.orgViewer)","organization":"seattle"}]}"#).status == 422)
        #expect(h.call("PATCH", "users/a", token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.operator_)"}]}"#).status == 200, "lowering is always allowed")
        #expect(h.call("PUT", "users/c", token: h.adminToken, body: Self.emailUser("c@contoso.com", [(RoleID.operator_, nil)])).status == 200)
        #expect(h.userCount() == 4)
    }
}
