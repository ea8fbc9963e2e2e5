import Foundation
import Testing

@testable import Central

@Suite struct BadInputTests {
    static let operatorRole = #"[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]"#

    /// Each body must be refused with the given status and leave the users and tokens exactly as they were.
    @Test(arguments: [
        ("PUT", "users/u1", "{not json", 400),
        ("PUT", "users/u1", "", 400),
        ("PUT", "users/u1", "[]", 422),
        ("PUT", "users/u1", #"{"type":5,"email":"a@b.co","roles":\#(operatorRole)}"#, 422),
        ("PUT", "users/u1", #"{"type":"email","email":["a@b.co"],"roles":\#(operatorRole)}"#, 422),
        ("PUT", "users/u1", #"{"type":"email","email":"a@b.co","roles":"admin"}"#, 422),
        ("PUT", "users/u1", #"{"type":"email","email":"a@b.co","roles":[{"role":1}]}"#, 422),
        ("PUT", "users/u1", #"{"type":"robot","email":"a@b.co","roles":\#(operatorRole)}"#, 422),
        ("PUT", "users/u1", #"{"email":"a@b.co","roles":\#(operatorRole)}"#, 422),
        ("PUT", "users/u1", #"{"type":"email","email":"a@b.co","roles":[]}"#, 422),
        ("PUT", "users/u1", #"{"type":"email","email":"a@b.co"}"#, 422),
        // A missing reference is 400 (the one public report of one got 400), other validation failures 422.
        ("PUT", "users/u1", #"{"type":"email","email":"a@b.co","roles":[{"role":"00000000-0000-0000-0000-000000000000"}]}"#, 400),
        ("PUT", "users/u1", #"{"type":"email","email":"a@b.co","roles":[{"role":"84cc62c1-dabe-49d3-b16e-8b291232b285","organization":"nowhere"}]}"#, 400),
        ("PUT", "apiTokens/t1", #"{"roles":[{"role":"84cc62c1-dabe-49d3-b16e-8b291232b285","organization":"nowhere"}]}"#, 400),
        ("PUT", "apiTokens/t1", #"{"roles":[{"role":"not-a-role"}]}"#, 400),
        ("PUT", "users/u1", #"{"type":"email","roles":\#(operatorRole)}"#, 422),
        ("PUT", "users/u1", #"{"type":"email","email":"not an email","roles":\#(operatorRole)}"#, 422),
        ("PUT", "users/u1", #"{"type":"servicePrincipal","tenantId":"t","objectId":"o","roles":\#(operatorRole)}"#, 422),
        ("PUT", "users/u1", #"{"type":"servicePrincipal","objectId":"9071c899-bce0-4862-b208-75dabae226a9","roles":\#(operatorRole)}"#, 422),
        ("PUT", "users/" + String(repeating: "a", count: 49), #"{"type":"email","email":"a@b.co","roles":\#(operatorRole)}"#, 422),
        ("PUT", "users/a.b", #"{"type":"email","email":"a@b.co","roles":\#(operatorRole)}"#, 422),
        ("PUT", "users/existing", #"{"type":"email","email":"other@b.co","roles":\#(operatorRole)}"#, 422),
        ("PUT", "users/u1", #"{"type":"email","email":"EXISTING@b.co","roles":\#(operatorRole)}"#, 422),
        ("PATCH", "users/existing", #"{"email":"new@b.co"}"#, 422),
        ("PATCH", "users/existing", #"{"type":"servicePrincipal"}"#, 422),
        ("PATCH", "users/existing", #"{"roles":[]}"#, 422),
        ("PATCH", "users/existing", #"{"roles":null}"#, 422),
        ("PATCH", "users/existing", "nope", 400),
        ("PATCH", "users/missing", #"{"roles":\#(operatorRole)}"#, 404),
        ("PUT", "apiTokens/t1", #"{"roles":\#(operatorRole),"expiry":"next tuesday"}"#, 422),
        ("PUT", "apiTokens/t1", #"{"roles":\#(operatorRole),"expiry":"2001-01-01T00:00:00Z"}"#, 422),
        ("PUT", "apiTokens/t1", #"{"roles":\#(operatorRole),"expiry":12}"#, 422),
        ("PUT", "apiTokens/t1", #"{"expiry":"2090-01-01T00:00:00Z"}"#, 422),
        ("PUT", "apiTokens/t1", #"{"roles":[{"role":"c495eb57-eb18-489e-9802-62c474e5645c"}]}"#, 422),
        ("PUT", "apiTokens/t1", #"{"roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e","organization":"nowhere"}]}"#, 422),
        ("PUT", "apiTokens/iotc-mock-admin", #"{"roles":\#(operatorRole)}"#, 422),
        ("DELETE", "users/missing", "", 404),
        ("DELETE", "apiTokens/missing", "", 404),
    ] as [(String, String, String, Int)])
    func refusedAndNothingChanges(_ method: String, _ path: String, _ body: String, _ status: Int) throws {
        let h = try Harness()
        let seed = h.call("PUT", "users/existing", token: h.adminToken, body: #"{"type":"email","email":"existing@b.co","roles":\#(Self.operatorRole)}"#)
        try #require(seed.status == 200)
        let usersBefore = h.call("GET", "users", token: h.adminToken).json
        let tokensBefore = h.call("GET", "apiTokens", token: h.adminToken).json

        let r = h.call(method, path, token: h.adminToken, body: body, contentType: method == "PATCH" ? "application/merge-patch+json" : "application/json")
        #expect(r.status == status, "\(method) \(path) \(body) → \(r.status) \(r.json)")
        let message = r.json["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("You can contact support at https://aka.ms/iotcentral-support."))
        #expect(r.response.header("x-ms-error-code") == r.json["error"]?["code"]?.stringValue)

        #expect(h.call("GET", "users", token: h.adminToken).json == usersBefore)
        #expect(h.call("GET", "apiTokens", token: h.adminToken).json == tokensBefore)
    }

    @Test func errorMessagesNameTheOffendingField() throws {
        let h = try Harness()
        let r = h.call("PUT", "users/u1", token: h.adminToken, body: #"{"type":"email","email":"a@b.co","roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"},{"role":true}]}"#)
        #expect(r.json["error"]?["message"]?.stringValue?.hasPrefix("roles[1].role must be a string") == true)
    }

    @Test func anUnsupportedContentTypeIs415() throws {
        let h = try Harness()
        let r = h.call("PUT", "apiTokens/t", token: h.adminToken, body: #"{"roles":\#(Self.operatorRole)}"#, contentType: "text/plain")
        #expect(r.status == 415)
    }
}

@Suite struct UserBehaviourTests {
    @Test func patchAcceptsJSONAndMergePatchAndChangesOnlyRoles() throws {
        let h = try Harness()
        #expect(h.call("PUT", "users/sp", token: h.adminToken, body: #"{"type":"servicePrincipal","tenantId":"72F988BF-86F1-41AF-91AB-2D7CD011DB47","objectId":"9071c899-bce0-4862-b208-75dabae226a9","roles":[{"role":"\#(RoleID.operator_)"}]}"#).status == 200)
        for contentType in ["application/json", "application/merge-patch+json; charset=utf-8"] {
            let r = h.call("PATCH", "users/sp", token: h.adminToken, body: #"{"id":"ignored","type":"servicePrincipal","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","roles":[{"role":"\#(RoleID.builder)"}]}"#, contentType: contentType)
            #expect(r.status == 200)
            #expect(r.json["id"] == .string("sp"))
            #expect(r.json["roles"] == .array([.object([("role", .string(RoleID.builder))])]))
        }
        #expect(h.call("GET", "users/sp", token: h.adminToken).json["roles"]?.arrayValue?.first?["role"] == .string(RoleID.builder))
    }

    @Test func putOnAnExistingUserWithTheSameIdentityReplacesItsRoles() throws {
        let h = try Harness()
        let body = { (role: String) in #"{"type":"email","email":"bob@contoso.com","roles":[{"role":"\#(role)"}]}"# }
        #expect(h.call("PUT", "users/bob", token: h.adminToken, body: body(RoleID.operator_)).status == 200)
        #expect(h.call("PUT", "users/bob", token: h.adminToken, body: body(RoleID.builder)).status == 200)
        #expect(h.userCount() == 2, "the fixture's owner and bob")
        #expect(h.call("GET", "users/bob", token: h.adminToken).json["roles"]?.arrayValue?.first?["role"] == .string(RoleID.builder))
    }

    @Test func readOnlyFieldsInACreateBodyAreIgnored() throws {
        let h = try Harness()
        let r = h.call("PUT", "apiTokens/ro", token: h.adminToken, body: #"{"id":"other","token":"SharedAccessSignature fake","roles":[{"role":"\#(RoleID.operator_)"}]}"#)
        #expect(r.status == 200)
        #expect(r.json["id"] == .string("ro"))
        #expect(r.json["token"]?.stringValue?.hasPrefix("SharedAccessSignature sr=") == true)
        #expect(r.json["token"] != .string("SharedAccessSignature fake"))
    }

    @Test func theTokenStringIsReturnedOnlyByCreate() throws {
        let h = try Harness()
        _ = try h.makeToken("once", role: RoleID.operator_)
        #expect(h.call("GET", "apiTokens/once", token: h.adminToken).json["token"] == nil)
        for item in h.call("GET", "apiTokens", token: h.adminToken).json["value"]?.arrayValue ?? [] {
            #expect(item["token"] == nil)
        }
    }

    @Test func aNewTokenExpiresInAboutOneYearUnlessToldOtherwise() throws {
        let h = try Harness()
        let before = Timestamp.nowMilliseconds()
        let r = h.call("PUT", "apiTokens/year", token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.operator_)"}]}"#)
        let expiryText = try #require(r.json["expiry"]?.stringValue)
        let expiry = try #require(Timestamp.parseISO8601(expiryText))
        #expect(abs(expiry - before - 365 * 86_400_000) < 60_000)
        let given = h.call("PUT", "apiTokens/given", token: h.adminToken, body: #"{"roles":[{"role":"\#(RoleID.operator_)"}],"expiry":"2030-01-31T00:00:00Z"}"#)
        #expect(given.json["expiry"] == .string("2030-01-31T00:00:00.000Z"))
        #expect(given.json["token"]?.stringValue?.hasSuffix("&se=1896048000000") == true)
    }
}

@Suite struct PagingTests {
    @Test func listsArePagedWithAnAbsoluteNextLinkThatCanBeFollowed() throws {
        let h = try Harness(pageSize: 2)
        for i in 0..<5 {
            #expect(h.call("PUT", "users/u\(i)", token: h.adminToken, body: #"{"type":"email","email":"u\#(i)@b.co","roles":[{"role":"\#(RoleID.operator_)"}]}"#).status == 200)
        }
        var seen: [String] = []
        var query: [(String, String)] = []
        for _ in 0..<5 {
            let r = h.call("GET", "users", token: h.adminToken, query: query)
            #expect(r.status == 200)
            seen += (r.json["value"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
            guard let next = r.json["nextLink"]?.stringValue else { break }
            #expect(next.hasPrefix("http://mock.test/api/users?api-version=2022-07-31&"))
            let components = try #require(URLComponents(string: next))
            // Clients follow nextLink verbatim, and some add api-version again.
            query = (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }
        }
        #expect(seen == ["iotc-mock-owner", "u0", "u1", "u2", "u3", "u4"])
        #expect(h.call("GET", "users", token: h.adminToken, query: [("$skiptoken", "abc")]).status == 400)
    }

    @Test func queryParameterNamesIgnoreCase() throws {
        let h = try Harness()
        #expect(h.call("GET", "roles", version: nil, token: h.adminToken, query: [("Api-Version", "2022-07-31")]).status == 200)
        #expect(h.call("GET", "roles", version: nil, token: h.adminToken, query: [("API-VERSION", "2022-07-31"), ("api-version", "1.0")]).status == 404)
    }

    @Test func anEmptyListIsJustValue() throws {
        let h = try Harness()
        let r = h.call("GET", "organizations", token: h.adminToken)
        #expect(String(decoding: r.response.body, as: UTF8.self) == #"{"value":[]}"#)
    }

    @Test func maxPageSizeWorksOnlyInThePreviewAndOnlyFrom1To100() throws {
        let h = try Harness(pageSize: 2)
        for id in ["p1", "p2"] {  // three users in all
            let body = #"{"type":"email","email":"\#(id)@example.com","roles":[{"role":"\#(RoleID.operator_)"}]}"#
            #expect(h.call("PUT", "users/\(id)", token: h.adminToken, body: body).status == 200)
        }
        let preview = h.call("GET", "users", version: "2022-10-31-preview", token: h.adminToken, query: [("maxpagesize", "1")])
        #expect(preview.status == 200 && preview.json["value"]?.arrayValue?.count == 1)
        #expect(preview.json["nextLink"]?.stringValue?.contains("maxpagesize=1") == true)
        #expect(h.call("GET", "users", version: "2022-10-31-preview", token: h.adminToken, query: [("maxpagesize", "0")]).status == 400)
        #expect(h.call("GET", "users", version: "2022-10-31-preview", token: h.adminToken, query: [("maxpagesize", "101")]).status == 400)
        // Where the version does not declare it, it is ignored like any undeclared query parameter.
        let ga = h.call("GET", "users", version: "2022-07-31", token: h.adminToken, query: [("maxpagesize", "1")])
        #expect(ga.status == 200 && ga.json["value"]?.arrayValue?.count == 2)
        #expect(ga.json["nextLink"]?.stringValue?.contains("maxpagesize") == false)
        #expect(h.call("GET", "users", version: "2022-07-31", token: h.adminToken, query: [("maxpagesize", "junk"), ("foo", "1")]).status == 200)
    }

    /// the 2022-07-31 spec: application roles (built-in and custom) and the built-in organization roles, never custom
    /// organization roles (the default fixture's "Site Technician").
    @Test func rolesListsApplicationRolesAndBuiltInOrganizationRolesButNotCustomOrganizationRoles() throws {
        let h = try Harness()
        let ids = (h.call("GET", "roles", token: h.adminToken).json["value"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        #expect(ids == [RoleID.administrator, RoleID.builder, RoleID.operator_, RoleID.orgAdmin, RoleID.orgOperator, RoleID.orgViewer, RoleID.supportLead])
        #expect(!ids.contains(RoleID.siteTechnician))
        #expect(h.call("GET", "roles/\(RoleID.siteTechnician)", token: h.adminToken).json["displayName"] == .string("Site Technician"))
        #expect(h.call("GET", "roles/\(RoleID.orgViewer)", token: h.adminToken).json["displayName"] == .string("Org Viewer"))
        #expect(h.call("GET", "roles/nope", token: h.adminToken).status == 404)
    }
}

/// Findings of the first new-user trial, each pinned by a test.
@Suite struct NewUserTrialFindingsTests {
    let op = RoleID.operator_

    @Test func aPutThatRepeatsAnEmailInAnotherCaseAnswersWithTheStoredEmail() throws {
        let h = try Harness()
        #expect(h.call("PUT", "users/p1", token: h.adminToken, body: #"{"type":"email","email":"p1@contoso.com","roles":[{"role":"\#(op)"}]}"#).status == 200)
        let r = h.call("PUT", "users/p1", token: h.adminToken, body: #"{"type":"email","email":"P1@CONTOSO.com","roles":[{"role":"\#(RoleID.builder)"}]}"#)
        #expect(r.status == 200)
        #expect(r.json["email"] == .string("p1@contoso.com"))
        #expect(h.call("GET", "users/p1", token: h.adminToken).json == r.json)
    }

    @Test(arguments: [("ü@exämple.com", "Ü@EXÄMPLE.com"), ("strasse@b.co", "STRAßE@b.co"), ("k@b.co", "\u{212A}@b.co"), ("u\u{308}@b.co", "ü@b.co")])
    func emailUniquenessFoldsUnicodeCase(_ first: String, _ second: String) throws {
        let h = try Harness()
        #expect(h.call("PUT", "users/a", token: h.adminToken, body: #"{"type":"email","email":"\#(first)","roles":[{"role":"\#(op)"}]}"#).status == 200)
        #expect(h.call("PUT", "users/b", token: h.adminToken, body: #"{"type":"email","email":"\#(second)","roles":[{"role":"\#(op)"}]}"#).status == 422)
    }

    @Test func aRepeatedRoleAssignmentIsKeptOnce() throws {
        let h = try Harness()
        let r = h.call("PUT", "apiTokens/rep", token: h.adminToken, body: #"{"roles":[{"role":"\#(op)"},{"role":"\#(op.uppercased())"}]}"#)
        #expect(r.json["roles"] == .array([.object([("role", .string(op))])]))
    }

    @Test func repeatedPagingParametersWithDifferentValuesAreRefused() throws {
        let h = try Harness()
        #expect(h.call("GET", "users", version: "2022-10-31-preview", token: h.adminToken, query: [("maxpagesize", "5"), ("maxpagesize", "6")]).status == 400)
        #expect(h.call("GET", "users", version: "2022-10-31-preview", token: h.adminToken, query: [("maxpagesize", "5"), ("maxpagesize", "5")]).status == 200)
    }

    @Test func errorMessagesNeverEchoMoreThanAHundredCharactersOfInput() throws {
        let h = try Harness()
        let long = String(repeating: "x", count: 100_000)
        let r = h.call("PUT", "users/u", token: h.adminToken, body: #"{"type":"email","email":"\#(long)","roles":[{"role":"\#(op)"}]}"#)
        #expect(r.status == 422)
        #expect((r.json["error"]?["message"]?.stringValue?.count ?? .max) < 400)
    }

    @Test func aStoreFailureIsA500WithoutSQLAndChangesNothing() throws {
        let h = try Harness()
        try h.store.database.execute("CREATE TRIGGER refuse BEFORE INSERT ON users BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
        let r = h.call("PUT", "users/u", token: h.adminToken, body: #"{"type":"email","email":"u@b.co","roles":[{"role":"\#(op)"}]}"#)
        #expect(r.status == 500)
        #expect(r.json["error"]?["code"] == .string("InternalServerError"))
        let message = r.json["error"]?["message"]?.stringValue ?? ""
        #expect(message.hasPrefix("The mock's store could not complete the request (disk on fire); nothing was changed. You can contact support"))
        #expect(!message.contains("INSERT"))
        #expect(h.userCount() == 1, "only the fixture's owner")
    }
}
