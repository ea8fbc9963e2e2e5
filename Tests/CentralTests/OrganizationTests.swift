import Foundation
import Testing

@testable import Central

/// `/api/organizations` (the 2022-07-31 spec) against the spec-examples fixture: us > washington > seattle.
@Suite struct OrganizationTests {
    static func ids(_ json: JSONValue) -> [String] { (json["value"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue } }

    @Test func organizationsAreListedCreatedReadPatchedAndDeleted() throws {
        let h = try Harness(fixture: "spec-examples")
        let list = h.call("GET", "organizations", token: h.adminToken)
        #expect(list.status == 200)
        #expect(Self.ids(list.json) == ["us", "washington", "seattle"])
        #expect(list.json["value"]?.arrayValue?.first?["parent"] == nil, "a child of the root has no parent field")

        let created = h.call("PUT", "organizations/oregon", token: h.adminToken, body: #"{"displayName":"Oregon","parent":"us","id":"ignored"}"#)
        #expect(created.status == 200)
        #expect(created.json == .object([("id", .string("oregon")), ("displayName", .string("Oregon")), ("parent", .string("us"))]))
        #expect(h.call("GET", "organizations/oregon", token: h.adminToken).json["displayName"] == .string("Oregon"))

        let renamed = h.call("PATCH", "organizations/oregon", token: h.adminToken, body: #"{"displayName":"State of Oregon"}"#,
                             contentType: "application/merge-patch+json")
        #expect(renamed.status == 200)
        #expect(renamed.json["parent"] == .string("us"), "a patch without parent keeps it")
        let moved = h.call("PATCH", "organizations/oregon", token: h.adminToken, body: #"{"parent":null}"#, contentType: "application/merge-patch+json")
        #expect(moved.status == 200)
        #expect(moved.json["parent"] == nil)
        #expect(moved.json["displayName"] == .string("State of Oregon"))
        let reparented = h.call("PATCH", "organizations/seattle", token: h.adminToken, body: #"{"parent":"oregon"}"#)
        #expect(reparented.json["parent"] == .string("oregon"))

        #expect(h.call("DELETE", "organizations/washington", token: h.adminToken).status == 204)
        #expect(h.call("GET", "organizations/washington", token: h.adminToken).status == 404)
        #expect(h.call("DELETE", "organizations/washington", token: h.adminToken).status == 404)
    }

    @Test(arguments: ["a", "-ab", "ab-", "AB", "a_b", "a.b", String(repeating: "a", count: 49), "caf%C3%A9"])
    func anInvalidOrganizationIdIsRefusedWith422(_ id: String) throws {
        let h = try Harness(fixture: "spec-examples")
        let r = h.call("PUT", "organizations/\(id)", token: h.adminToken, body: #"{"displayName":"X"}"#)
        #expect(r.status == 422)
        #expect(Self.ids(h.call("GET", "organizations", token: h.adminToken).json).count == 3)
    }

    @Test(arguments: ["a1", "9-z", String(repeating: "a", count: 48)])
    func aValidOrganizationIdIsAccepted(_ id: String) throws {
        let h = try Harness(fixture: "spec-examples")
        #expect(h.call("PUT", "organizations/\(id)", token: h.adminToken, body: #"{"displayName":"X"}"#).status == 200)
    }

    @Test(arguments: [#""before\u0000after""#, #""  ""#, #""tab\there""#, #""\#(String(repeating: "x", count: 201))""#, #""""#])
    func aDisplayNameThatIsBlankTooLongOrHasControlCharactersIsRefused(_ name: String) throws {
        let h = try Harness(fixture: "spec-examples")
        #expect(h.call("PUT", "organizations/odd", token: h.adminToken, body: #"{"displayName":\#(name)}"#).status == 422)
        #expect(h.call("PATCH", "organizations/us", token: h.adminToken, body: #"{"displayName":\#(name)}"#).status == 422)
        #expect(h.call("GET", "organizations/us", token: h.adminToken).json["displayName"] == .string("United States"))
        #expect(h.call("PUT", "organizations/odd", token: h.adminToken, body: #"{"displayName":"Ünïcode ✓ \#(String(repeating: "y", count: 190))"}"#).status == 200)
    }

    @Test func theParentMustExistAndADisplayNameIsRequired() throws {
        let h = try Harness(fixture: "spec-examples")
        let r = h.call("PUT", "organizations/portland", token: h.adminToken, body: #"{"displayName":"Portland","parent":"oregon"}"#)
        #expect(r.status == 400 && r.json["error"]?["code"] == .string("InvalidBody"))
        #expect(r.json["error"]?["message"]?.stringValue?.hasPrefix("The parent organization 'oregon' does not exist.") == true)
        #expect(h.call("PUT", "organizations/portland", token: h.adminToken, body: #"{"parent":"us"}"#).status == 422)
        #expect(h.call("PUT", "organizations/portland", token: h.adminToken, body: #"{"displayName":5}"#).status == 422)
        #expect(h.call("PUT", "organizations/portland", token: h.adminToken, body: #"[1]"#).status == 422)
        #expect(h.call("PUT", "organizations/portland", token: h.adminToken, body: #"{"#).status == 400)
        #expect(h.call("GET", "organizations/portland", token: h.adminToken).status == 404)
    }

    @Test(arguments: [
        ("PATCH", "us", #"{"parent":"seattle"}"#),       // into its own grandchild
        ("PATCH", "us", #"{"parent":"washington"}"#),    // into its own child
        ("PATCH", "seattle", #"{"parent":"seattle"}"#),  // under itself
        ("PUT", "washington", #"{"displayName":"W","parent":"seattle"}"#),
    ])
    func reparentingIntoItsOwnSubtreeIsRefused(method: String, id: String, body: String) throws {
        let h = try Harness(fixture: "spec-examples")
        let before = h.call("GET", "organizations", token: h.adminToken).json
        let r = h.call(method, "organizations/\(id)", token: h.adminToken, body: body)
        #expect(r.status == 422)
        #expect(r.json["error"]?["message"]?.stringValue?.contains("itself or one of its descendants") == true)
        #expect(h.call("GET", "organizations", token: h.adminToken).json == before)
    }

    @Test func deletingAnOrganizationWithChildrenUsersOrTokensIsRefused() throws {
        let h = try Harness(fixture: "spec-examples")
        let withChild = h.call("DELETE", "organizations/washington", token: h.adminToken)
        #expect(withChild.status == 422)
        #expect(withChild.json["error"]?["code"] == .string("OrganizationInUse"))
        #expect(withChild.json["error"]?["message"]?.stringValue?.contains("child organizations (seattle)") == true)

        let user = #"{"type":"email","email":"sam@contoso.com","roles":[{"role":"\#(RoleID.orgViewer)","organization":"seattle"}]}"#
        #expect(h.call("PUT", "users/sam", token: h.adminToken, body: user).status == 200)
        let withUser = h.call("DELETE", "organizations/seattle", token: h.adminToken)
        #expect(withUser.status == 422)
        #expect(withUser.json["error"]?["message"]?.stringValue?.contains("users with a role on it (sam)") == true)
        #expect(h.call("DELETE", "users/sam", token: h.adminToken).status == 204)

        _ = try h.makeToken("seattle-ops", role: RoleID.orgOperator, organization: "seattle")
        let withToken = h.call("DELETE", "organizations/seattle", token: h.adminToken)
        #expect(withToken.status == 422)
        #expect(withToken.json["error"]?["message"]?.stringValue?.contains("API tokens with a role on it (seattle-ops)") == true)
        #expect(h.call("DELETE", "apiTokens/seattle-ops", token: h.adminToken).status == 204)

        #expect(h.call("DELETE", "organizations/seattle", token: h.adminToken).status == 204)
        #expect(h.call("DELETE", "organizations/washington", token: h.adminToken).status == 204)
        #expect(Self.ids(h.call("GET", "organizations", token: h.adminToken).json) == ["us"])
    }

    @Test(arguments: [("1.0", 404), ("2021-04-30-preview", 404), ("1.1-preview", 200), ("2022-05-31", 200), ("2022-10-31-preview", 200)])
    func organizationsExistFrom1_1PreviewOnButNotIn2021_04_30Preview(version: String, status: Int) throws {
        let h = try Harness(fixture: "spec-examples")
        #expect(h.call("GET", "organizations", version: version, token: h.adminToken).status == status)
    }

    @Test func organizationListsArePaged() throws {
        let h = try Harness(fixture: "spec-examples", pageSize: 2)
        let first = h.call("GET", "organizations", token: h.adminToken)
        #expect(Self.ids(first.json) == ["us", "washington"])
        let next = try #require(first.json["nextLink"]?.stringValue)
        let skip = try #require(next.components(separatedBy: "$skiptoken=").last)
        let second = h.call("GET", "organizations", token: h.adminToken, query: [("$skiptoken", skip)])
        #expect(Self.ids(second.json) == ["seattle"])
        #expect(second.json["nextLink"] == nil)
    }
}

/// Fixtures must name only roles and organizations they define.
@Suite struct FixtureReferenceTests {
    static func load(users: String, organizations: String = "[]") throws(Fixture.LoadError) -> Fixture {
        let roles = (try? JSONValue.parse(Array((try? Data(contentsOf: FixturePaths.directory.appendingPathComponent("roles.json"))) ?? Data()))) ?? .null
        let app = #"{"application":{"id":"11111111-2222-3333-4444-555555555555","subdomain":"x","displayName":"X","signingKey":"d3hiJpkmgiR+j3uPyoL2nuCvLnagz5bdB40kN4K8s1Y="},"organizations":\#(organizations),"users":\#(users)}"#
        return try Fixture(name: "mine", rolesJSON: roles, appJSON: (try? JSONValue.parse(Array(app.utf8))) ?? .null)
    }

    @Test(arguments: [
        (#"[{"id":"u","type":"email","email":"u@x.io","roles":[{"role":"00000000-0000-0000-0000-000000000000"}]}]"#, "which no fixture defines"),
        (#"[{"id":"u","type":"email","email":"u@x.io","roles":[{"role":"84cc62c1-dabe-49d3-b16e-8b291232b285"}]}]"#, "without an organization"),
        (#"[{"id":"u","type":"email","email":"u@x.io","roles":[{"role":"84cc62c1-dabe-49d3-b16e-8b291232b285","organization":"nope"}]}]"#, "does not define"),
        (#"[{"id":"u","type":"email","email":"u@x.io","roles":[{"role":"ca310b8d-2f4a-44e0-a36e-957c202cd8d4","organization":"nope"}]}]"#, "on an organization"),
        (#"[{"id":"u","type":"email","email":"u@x.io","roles":[]}]"#, "at least one role"),
    ])
    func aFixtureWithABrokenRoleReferenceIsRefused(users: String, message: String) {
        do {
            _ = try Self.load(users: users)
            Issue.record("loaded")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func aFixtureOrganizationNeedsItsParent() {
        #expect(throws: Fixture.LoadError.self) { try Self.load(users: "[]", organizations: #"[{"id":"a1","displayName":"A","parent":"zz"}]"#) }
        #expect(throws: Never.self) { try Self.load(users: "[]", organizations: #"[{"id":"zz","displayName":"Z"},{"id":"a1","displayName":"A","parent":"zz"}]"#) }
    }
}

/// Organization scope ("Manage users and roles in IoT Central"): an organization role applies to its organization and descendants only.
@Suite struct OrganizationScopeTests {
    /// spec-examples plus us > oregon, so washington has a sibling.
    static func harness() throws -> (Harness, orgAdmin: String) {
        let h = try Harness(fixture: "spec-examples")
        #expect(h.call("PUT", "organizations/oregon", token: h.adminToken, body: #"{"displayName":"Oregon","parent":"us"}"#).status == 200)
        let token = try h.makeToken("wa-admin", role: RoleID.orgAdmin, organization: "washington")
        return (h, token)
    }

    @Test func anOrgAdminSeesItsSubtreeOnlyNeverASiblingOrAnAncestor() throws {
        let (h, orgAdmin) = try Self.harness()
        #expect(OrganizationTests.ids(h.call("GET", "organizations", token: orgAdmin).json) == ["washington", "seattle"])
        #expect(h.call("GET", "organizations/seattle", token: orgAdmin).status == 200)
        let sibling = h.call("GET", "organizations/oregon", token: orgAdmin)
        #expect(sibling.status == 403)
        #expect(sibling.json["error"]?["message"]?.stringValue?.contains("outside the organization 'washington' and below") == true)
        #expect(h.call("GET", "organizations/us", token: orgAdmin).status == 403)
        #expect(h.call("GET", "organizations/nowhere", token: orgAdmin).status == 404)
    }

    @Test func anOrgAdminMayRenameItsOwnOrganizationWithPutOrPatchButNotMoveIt() throws {
        let (h, orgAdmin) = try Self.harness()
        #expect(h.call("PUT", "organizations/washington", token: orgAdmin, body: #"{"displayName":"W2","parent":"us"}"#).status == 200)
        #expect(h.call("PATCH", "organizations/washington", token: orgAdmin, body: #"{"displayName":"W3","parent":"us"}"#).status == 200)
        #expect(h.call("PUT", "organizations/washington", token: orgAdmin, body: #"{"displayName":"W4","parent":"oregon"}"#).status == 403)
        #expect(h.call("PUT", "organizations/washington", token: orgAdmin, body: #"{"displayName":"W5"}"#).status == 403, "not to the root")
        #expect(h.call("GET", "organizations/washington", token: h.adminToken).json["displayName"] == .string("W3"))
    }

    @Test func aDeepTreeIsListedForAnOrgAdminInOnePass() throws {
        let h = try Harness(fixture: "spec-examples")
        var organizations = [Organization(id: "d0", displayName: "d0")]
        for i in 1..<3000 { organizations.append(Organization(id: "d\(i)", displayName: "d\(i)", parent: "d\(i - 1)")) }
        let tree = OrganizationTree(organizations)
        #expect(tree.subtrees(of: ["d2990"]) == Set((2990..<3000).map { "d\($0)" }))
        #expect(tree.subtrees(of: ["d0", "d5", "nowhere"]).count == 3000)
        #expect(tree.lineage(of: "d2999").count == 3000)
        for organization in organizations.prefix(300) { try h.store.save(organization, appID: h.application.id) }
        let token = try h.makeToken("deep", role: RoleID.orgAdmin, organization: "d100")
        let page = h.call("GET", "organizations", token: token)
        #expect(OrganizationTests.ids(page.json).first == "d100")
        #expect(page.json["value"]?.arrayValue?.count == 100)
    }

    @Test func anOrgAdminChangesOrganizationsInsideItsSubtreeOnly() throws {
        let (h, orgAdmin) = try Self.harness()
        #expect(h.call("PUT", "organizations/tacoma", token: orgAdmin, body: #"{"displayName":"Tacoma","parent":"washington"}"#).status == 200)
        #expect(h.call("PUT", "organizations/bellevue", token: orgAdmin, body: #"{"displayName":"Bellevue"}"#).status == 403, "not at the root")
        #expect(h.call("PUT", "organizations/salem", token: orgAdmin, body: #"{"displayName":"Salem","parent":"oregon"}"#).status == 403)
        #expect(h.call("PUT", "organizations/oregon", token: orgAdmin, body: #"{"displayName":"Mine","parent":"washington"}"#).status == 403)
        #expect(h.call("PATCH", "organizations/seattle", token: orgAdmin, body: #"{"parent":"oregon"}"#).status == 403)
        #expect(h.call("PATCH", "organizations/tacoma", token: orgAdmin, body: #"{"parent":"seattle"}"#).status == 200)
        #expect(h.call("PATCH", "organizations/oregon", token: orgAdmin, body: #"{"displayName":"Mine"}"#).status == 403)
        #expect(h.call("DELETE", "organizations/oregon", token: orgAdmin).status == 403)
        #expect(h.call("DELETE", "organizations/tacoma", token: orgAdmin).status == 204)
        #expect(h.call("GET", "organizations/oregon", token: h.adminToken).json["displayName"] == .string("Oregon"))
    }

    @Test func anOrgAdminManagesTheUsersOfItsSubtreeOnly() throws {
        let (h, orgAdmin) = try Self.harness()
        func user(_ role: String, _ organization: String?) -> String {
            let assignment = organization.map { #"{"role":"\#(role)","organization":"\#($0)"}"# } ?? #"{"role":"\#(role)"}"#
            return #"{"type":"email","email":"\#(UUID().uuidString)@contoso.com","roles":[\#(assignment)]}"#
        }
        #expect(h.call("PUT", "users/app-op", token: h.adminToken, body: user(RoleID.operator_, nil)).status == 200)
        #expect(h.call("PUT", "users/or-op", token: h.adminToken, body: user(RoleID.orgOperator, "oregon")).status == 200)

        #expect(h.call("PUT", "users/sea-viewer", token: orgAdmin, body: user(RoleID.orgViewer, "seattle")).status == 200)
        #expect(h.call("PUT", "users/wa-admin2", token: orgAdmin, body: user(RoleID.orgAdmin, "washington")).status == 200)
        let upward = h.call("PUT", "users/us-viewer", token: orgAdmin, body: user(RoleID.orgViewer, "us"))
        #expect(upward.status == 403)
        #expect(h.call("PUT", "users/or-viewer", token: orgAdmin, body: user(RoleID.orgViewer, "oregon")).status == 403)
        let admin = h.call("PUT", "users/boss", token: orgAdmin, body: user(RoleID.administrator, nil))
        #expect(admin.status == 403)
        #expect(admin.json["error"]?["message"]?.stringValue?.contains("granting the role 'Administrator' on the whole application") == true)

        #expect(OrganizationTests.ids(h.call("GET", "users", token: orgAdmin).json) == ["sea-viewer", "wa-admin2"])
        #expect(h.call("GET", "users/sea-viewer", token: orgAdmin).status == 200)
        #expect(h.call("GET", "users/app-op", token: orgAdmin).status == 403)
        #expect(h.call("GET", "users/or-op", token: orgAdmin).status == 403)
        #expect(h.call("PATCH", "users/or-op", token: orgAdmin, body: #"{"roles":[{"role":"\#(RoleID.orgViewer)","organization":"seattle"}]}"#).status == 403)
        #expect(h.call("DELETE", "users/app-op", token: orgAdmin).status == 403)
        #expect(h.call("DELETE", "users/sea-viewer", token: orgAdmin).status == 204)
        #expect(OrganizationTests.ids(h.call("GET", "users", token: h.adminToken).json) == ["iotc-mock-owner", "app-op", "or-op", "wa-admin2"])
    }

    @Test func orgRolesNeedAnOrganizationAndAppRolesRefuseOne() throws {
        let h = try Harness(fixture: "spec-examples")
        let orgRoleWithout = h.call("PUT", "users/a", token: h.adminToken, body: #"{"type":"email","email":"a@contoso.com","roles":[{"role":"\#(RoleID.orgViewer)"}]}"#)
        #expect(orgRoleWithout.status == 422)
        let appRoleWith = h.call("PUT", "apiTokens/a", token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.operator_)","organization":"seattle"}]}"#)
        #expect(appRoleWith.status == 422)
    }
}
