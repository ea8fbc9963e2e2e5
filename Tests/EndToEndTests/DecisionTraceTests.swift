import Foundation
import Testing

@testable import Central
@testable import MockServer

/// Every decision carries its evidence: the journal keeps a trace per request (credential, matched users, each
/// role assignment's verdict), reasons name the roles, the journal is kept per application and filtered, and
/// what-if answers without running anything.
@Suite struct DecisionTraceTests {
    static let v = "api-version=2022-07-31"
    static let operatorRole = "ae2c9854-393b-4f97-8c42-479d70ce626e"
    static let adminRole = "ca310b8d-2f4a-44e0-a36e-957c202cd8d4"

    static func token(_ client: RawHTTPClient, _ admin: String, id: String, role: String = operatorRole) throws -> String {
        let made = try client.request("PUT", "/api/apiTokens/\(id)?\(v)", token: admin, body: #"{"roles":[{"role":"\#(role)"}]}"#)
        return try #require(made.json["token"]?.stringValue)
    }

    @Test func anOperatorDenialNamesTheTokenItsRoleAndThePermission() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let operatorToken = try Self.token(client, try #require(server.wellKnownToken()), id: "walkthrough-operator")
        let denied = try client.request("GET", "/api/users?\(Self.v)", token: operatorToken)
        #expect(denied.status == 403)
        let reason = try #require(denied.header("x-iotc-mock-reason"))
        #expect(reason == "Users_List needs the permission 'users.view', which none of the caller's role assignments grants: Operator on the application lacks it.")
        let journal = try client.request("GET", "/_mock/journal?decision=denied&app=iotc-mock")
        let entry = try #require(journal.json["value"]?.arrayValue?.last)
        #expect(entry["principalName"] == .string("API token 'walkthrough-operator'") && entry["subdomain"] == .string("iotc-mock"))
        let trace = try #require(entry["trace"])
        #expect(trace["credential"]?["tokenId"] == .string("walkthrough-operator"))
        #expect(trace["credential"]?["expires"]?.stringValue != nil)
        #expect(trace["permission"] == .string("users.view") && trace["operationId"] == .string("Users_List"))
        let assignment = try #require(trace["assignments"]?.arrayValue?.first)
        #expect(assignment["roleName"] == .string("Operator") && assignment["grants"] == .bool(false) && assignment["verdict"] == .string("lacks users.view"))
        #expect(entry["reason"] == .string(reason))
    }

    @Test func anAllowedRequestSaysWhichAssignmentGrantedIt() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        #expect(try client.request("GET", "/api/users?\(Self.v)", token: server.wellKnownToken()).status == 200)
        let entry = try #require(try client.request("GET", "/_mock/journal?decision=allowed").json["value"]?.arrayValue?.last)
        #expect(entry["reason"] == .string("Users_List needs 'users.view': granted by Administrator on the application."), "\(entry)")
        #expect(entry["trace"]?["assignments"]?.arrayValue?.first?["grants"] == .bool(true))
    }

    @Test func aBearerCallerShowsItsPrincipalNameAndMatchedUser() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let user = #"{"type":"email","email":"operator@iotc-mock.example","roles":[{"role":"\#(Self.operatorRole)"}]}"#
        #expect(try client.request("PUT", "/api/users/mock-operator?\(Self.v)", token: admin, body: user).status == 200)
        let bearer = try #require(server.entra?.issueToken(for: "operator@iotc-mock.example")).token
        #expect(try client.request("GET", "/api/users?\(Self.v)", token: "Bearer \(bearer)").status == 403)
        let entry = try #require(try client.request("GET", "/_mock/journal?principal=OPERATOR@iotc").json["value"]?.arrayValue?.last)
        #expect(entry["principalName"] == .string("operator@iotc-mock.example"))
        let trace = try #require(entry["trace"])
        #expect(trace["credential"]?["principalName"] == .string("operator@iotc-mock.example"))
        #expect(trace["credential"]?["issuer"]?.stringValue?.contains("726878f1-1cb5-489c-a4f1-581d7b3c5984") == true)
        #expect(trace["credential"]?["groups"]?.arrayValue?.contains(.string("2ab9a930-754c-455c-a645-d29f86c7016d")) == true)
        let matched = try #require(trace["matchedUsers"]?.arrayValue?.first)
        #expect(matched["id"] == .string("mock-operator") && matched["matchedBy"] == .string("email"))
        #expect(trace["assignments"]?.arrayValue?.first?["user"] == .string("mock-operator"))
        // A 401 shows what could be read of the credential.
        #expect(try client.request("GET", "/api/users?\(Self.v)", token: "SharedAccessSignature sr=x&sig=y&skn=ghost&se=1").status == 401)
        let refused = try #require(try client.request("GET", "/_mock/journal?decision=unauthenticated").json["value"]?.arrayValue?.last)
        #expect(refused["trace"]?["credential"]?["scheme"] == .string("SharedAccessSignature"))
        #expect(refused["trace"]?["credentialProblem"]?.stringValue?.isEmpty == false)
    }

    @Test func theJournalFiltersByDecisionStatusPrincipalOperationAndTime() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let operatorToken = try Self.token(client, admin, id: "filters")
        _ = try client.request("GET", "/api/users?\(Self.v)", token: operatorToken)  // 403
        _ = try client.request("GET", "/api/users?\(Self.v)", token: "SharedAccessSignature nope")  // 401
        _ = try client.request("GET", "/api/roles?\(Self.v)", token: admin)  // 200
        func list(_ query: String) throws -> [JSONValue] {
            let answer = try client.request("GET", "/_mock/journal?\(query)")
            #expect(answer.status == 200, "\(query): \(answer.text)")
            return answer.json["value"]?.arrayValue ?? []
        }
        #expect(try list("status=403&status=401").map { $0["status"] } == [.number(403), .number(401)])
        #expect(try list("decision=denied&decision=unauthenticated").count == 2)
        #expect(try list("principal=filters").allSatisfy { $0["principal"] == .string("apiToken:filters") })
        #expect(try list("operationId=roles_list").count == 1)
        guard case .number(let last)? = try list("limit=1").first?["sequence"] else { Issue.record("no sequence"); return }
        #expect(try list("after=\(Int(last))").isEmpty)
        #expect(try list("since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z").isEmpty)
        #expect(try list("since=2000-01-01T00:00:00Z").count >= 4)
        for bad in ["decision=maybe", "status=abc", "since=yesterday", "after=-1", "principal=a&principal=b"] {
            #expect(try client.request("GET", "/_mock/journal?\(bad)").status == 400, "\(bad)")
        }
    }

    @Test func oneApplicationsTrafficNeverEvictsAnothersHistory() throws {
        let server = try startServer { $0.journalCapacity = 5 }
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let created = try client.request("POST", "/_mock/apps", body: #"{"subdomain":"quiet"}"#)
        let quietToken = try #require(created.json["adminToken"]?.stringValue)
        for _ in 0..<3 { _ = try client.request("GET", "/api/roles?\(Self.v)", token: quietToken, host: "quiet.localhost") }
        for _ in 0..<40 { _ = try client.request("GET", "/api/roles?\(Self.v)", token: server.wellKnownToken()) }
        #expect(try client.request("GET", "/_mock/journal?app=quiet").json["value"]?.arrayValue?.count == 3)
        #expect(try client.request("GET", "/_mock/journal?app=iotc-mock").json["value"]?.arrayValue?.count == 5)
        // One application's history can be cleared alone.
        #expect(try client.request("DELETE", "/_mock/journal?app=iotc-mock").status == 204)
        #expect(try client.request("GET", "/_mock/journal?app=quiet").json["value"]?.arrayValue?.count == 3)
    }

    @Test func pastTheTotalTheLongestHistoryLosesItsOldestEntry() {
        let journal = RequestJournal(capacity: 4, totalCapacity: 6)
        func entry(_ app: String) -> JournalEntry {
            JournalEntry(time: 0, requestID: nil, method: "GET", path: "/", application: app, status: 200, outcome: RequestOutcome(), durationMilliseconds: 0)
        }
        for _ in 0..<4 { journal.record(entry("busy")) }
        for _ in 0..<2 { journal.record(entry("quiet")) }
        journal.record(entry("other"))
        #expect(journal.counts == ["busy": 3, "quiet": 2, "other": 1])
        #expect(journal.entries(application: "busy").map(\.sequence) == [2, 3, 4])
    }

    @Test func deletedApplicationsLoseTheirEntriesFirstAndAfterPagesForward() {
        let journal = RequestJournal(capacity: 4, totalCapacity: 8)
        func entry(_ app: String) -> JournalEntry {
            JournalEntry(time: 0, requestID: nil, method: "GET", path: "/", application: app, status: 200, outcome: RequestOutcome(), durationMilliseconds: 0)
        }
        for _ in 0..<4 { journal.record(entry("live")) }
        for index in 0..<6 {
            for _ in 0..<2 { journal.record(entry("per-test-\(index)")) }
            journal.retire("per-test-\(index)")
        }
        #expect(journal.counts["live"] == 4, "the live application keeps its history: \(journal.counts)")
        #expect(journal.entries(JournalFilter(after: 1, limit: 2)).map(\.sequence) == [2, 3], "after + limit: the next entries")
        #expect(journal.entries(JournalFilter(limit: 2)).map(\.sequence) == [15, 16], "limit alone: the last entries")
    }

    @Test func aTokensRefusalsCanBeFoundByItsNameAndAGroupUserIsAskedAsAMember() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let expiry = Timestamp.iso8601(milliseconds: Timestamp.nowMilliseconds() + 60_000)
        let made = try client.request("PUT", "/api/apiTokens/shortlived?\(Self.v)", token: admin, body: #"{"roles":[{"role":"\#(Self.operatorRole)"}],"expiry":"\#(expiry)"}"#)
        let token = try #require(made.json["token"]?.stringValue)
        #expect(try client.request("POST", "/_mock/clock", body: #"{"offsetSeconds":120}"#).status == 200)
        #expect(try client.request("GET", "/api/devices?\(Self.v)", token: token).status == 401)
        let refused = try #require(try client.request("GET", "/_mock/journal?principal=shortlived").json["value"]?.arrayValue?.last)
        #expect(refused["decision"] == .string("unauthenticated") && refused["principalName"] == .string("API token 'shortlived' (claimed, not verified)"))
        #expect(try client.request("POST", "/_mock/clock", body: #"{"offsetSeconds":0}"#).status == 200)
        let group = #"{"type":"adGroup","tenantId":"726878f1-1cb5-489c-a4f1-581d7b3c5984","objectId":"2ab9a930-754c-455c-a645-d29f86c7016d","roles":[{"role":"\#(Self.operatorRole)"}]}"#
        #expect(try client.request("PUT", "/api/users/ops-group?\(Self.v)", token: admin, body: group).status == 200)
        let asked = try client.request("POST", "/_mock/apps/iotc-mock/authorize", body: #"{"userId":"ops-group","operationId":"Devices_List"}"#)
        #expect(asked.json["trace"]?["credential"]?["readableName"] == .string("a member of the group 'ops-group'"), "\(asked.text)")
        #expect(asked.json["trace"]?["matchedUsers"]?.arrayValue?.first?["matchedBy"] == .string("group membership"))
    }

    @Test func whatIfAnswersWithoutChangingAnything() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        _ = try Self.token(client, admin, id: "what-if-operator")
        #expect(try client.request("POST", "/_mock/throttling", body: #"{"enabled":true,"requestsPerSecond":1}"#).status == 200)
        #expect(try client.request("POST", "/_mock/faults", body: #"{"path":"/api/apiTokens/*","status":500,"count":1}"#).status == 201)
        let before = server.journal.lastSequence
        let ask = #"{"authorization":"\#(admin)","method":"PUT","path":"/api/apiTokens/never?api-version=2022-07-31"}"#
        for _ in 0..<5 {
            let answer = try client.request("POST", "/_mock/apps/iotc-mock/authorize", body: ask)
            #expect(answer.status == 200 && answer.json["decision"] == .string("allowed") && answer.json["status"] == .null, "\(answer.text)")
            #expect(answer.json["trace"]?["assignments"]?.arrayValue?.first?["roleName"] == .string("Administrator"))
        }
        #expect(server.journal.lastSequence == before, "what-if is not journaled")
        #expect(server.faults.active.first?.remaining == 1, "the fault is still armed")
        #expect(try client.request("POST", "/_mock/throttling", body: #"{"enabled":false}"#).status == 200)
        #expect(try client.request("GET", "/api/apiTokens/never?\(Self.v)", token: admin).status == 500, "the first real call meets the fault")
        #expect(try client.request("GET", "/api/apiTokens/never?\(Self.v)", token: admin).status == 404, "nothing was created")
        // A token id, a user id, an operationId, and a whole principal.
        let byToken = try client.request("POST", "/_mock/apps/iotc-mock/authorize", body: #"{"tokenId":"what-if-operator","operationId":"Users_List"}"#)
        #expect(byToken.json["decision"] == .string("denied") && byToken.json["status"] == .number(403))
        let ghost = try client.request("POST", "/_mock/apps/iotc-mock/authorize", body: #"{"tokenId":"ghost","operationId":"Users_List"}"#)
        #expect(ghost.json["decision"] == .string("unauthenticated") && ghost.json["status"] == .number(401))
        let matrix = try client.request("POST", "/_mock/apps/iotc-mock/authorize", body: #"{"tokenId":"what-if-operator"}"#)
        let rows = try #require(matrix.json["operations"]?.arrayValue)
        #expect(rows.count == OperationCatalog.operations.filter { $0.versions.contains(.v2022_07_31) }.count)
        #expect(rows.first { $0["operationId"] == .string("Devices_List") }?["access"] == .string("allowed"))
        #expect(rows.first { $0["operationId"] == .string("Users_List") }?["access"] == .string("denied"))
        let roles = try client.request("GET", "/_mock/apps/iotc-mock/access-matrix?apiVersion=2022-07-31")
        #expect(roles.json["roles"]?.arrayValue?.contains { $0["displayName"] == .string("Operator") } == true)
        for bad in [#"{"operationId":"Users_List"}"#, #"{"tokenId":"a","userId":"b"}"#, #"{"tokenId":"a","method":"GET"}"#,
                    #"{"tokenId":"a","operationId":"Nope"}"#, #"{"userId":"nobody","operationId":"Users_List"}"#] {
            #expect([400, 404].contains(try client.request("POST", "/_mock/apps/iotc-mock/authorize", body: bad).status), "\(bad)")
        }
    }
}
