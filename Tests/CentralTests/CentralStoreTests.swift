import Foundation
import Storage
import Testing

@testable import Central

@Suite struct CentralStoreTests {
    func makeStore() throws -> (CentralStore, Fixture) {
        let fixture = try Fixture.load(directory: FixturePaths.directory, name: "spec-examples")
        let store = try CentralStore(database: SQLiteDatabase(path: nil))
        try store.insert(fixture, now: 0)
        return (store, fixture)
    }

    @Test func aFixtureLoadsWholeIntoAnEmptyStore() throws {
        let (store, fixture) = try makeStore()
        #expect(try !store.isEmpty())
        #expect(try store.applications() == [fixture.application])
        #expect(try store.roles(appID: fixture.application.id).map(\.id).count == 7)
        #expect(try store.organizationExists(appID: fixture.application.id, id: "seattle"))
        #expect(try !store.organizationExists(appID: fixture.application.id, id: "portland"))
        #expect(try store.apiToken(appID: fixture.application.id, id: "spec-examples-admin") == fixture.apiTokens[0])
    }

    @Test func loadingTheSameFixtureTwiceFailsWithoutAHalfWrite() throws {
        let (store, fixture) = try makeStore()
        #expect(throws: SQLiteError.self) { try store.insert(fixture, now: 0) }
        #expect(try store.roles(appID: fixture.application.id).count == 7)
    }

    @Test func tokensAreInsertedOncePerIdAndDeleted() throws {
        let (store, fixture) = try makeStore()
        let app = fixture.application.id
        let token = APIToken(id: "t", roles: [RoleAssignment(role: "ae2c9854-393b-4f97-8c42-479d70ce626e")], expiryMilliseconds: 5, secretHash: Crypto.sha256([1]))
        #expect(try store.insert(token, appID: app))
        #expect(try !store.insert(token, appID: app))
        #expect(try store.apiToken(appID: app, id: "t") == token)
        #expect(try store.deleteAPIToken(appID: app, id: "t"))
        #expect(try !store.deleteAPIToken(appID: app, id: "t"))
        #expect(try store.apiToken(appID: app, id: "t") == nil)
    }

    @Test func usersConflictOnEmailIgnoringCaseAndOnTenantAndObjectId() throws {
        let (store, fixture) = try makeStore()
        let app = fixture.application.id
        let roles = [RoleAssignment(role: "ae2c9854-393b-4f97-8c42-479d70ce626e")]
        try store.save(User(id: "a", type: .email, email: "Alice@Contoso.com", roles: roles), appID: app)
        #expect(throws: CentralStore.UserConflict.emailInUse(userID: "a")) {
            try store.save(User(id: "b", type: .email, email: "alice@contoso.com", roles: roles), appID: app)
        }
        let sp = User(id: "sp", type: .servicePrincipal, tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", objectId: "9071c899-bce0-4862-b208-75dabae226a9", roles: roles)
        try store.save(sp, appID: app)
        #expect(throws: CentralStore.UserConflict.identityInUse(userID: "sp")) {
            try store.save(User(id: "sp2", type: .servicePrincipal, tenantId: sp.tenantId, objectId: sp.objectId, roles: roles), appID: app)
        }
        // Saving an existing id replaces its roles only.
        let admin = [RoleAssignment(role: "ca310b8d-2f4a-44e0-a36e-957c202cd8d4")]
        try store.save(sp.with(roles: admin), appID: app)
        #expect(try store.user(appID: app, id: "sp")?.roles == admin)
        #expect(try store.users(appID: app, after: 0, limit: 10).items.map(\.id) == ["iotc-mock-owner", "a", "sp"])
    }

    @Test func pagesFollowCreationOrderAndEndWithoutACursor() throws {
        let (store, fixture) = try makeStore()
        let app = fixture.application.id
        for i in 0..<5 {
            try store.save(User(id: "u\(i)", type: .email, email: "u\(i)@b.co", roles: []), appID: app)
        }
        var cursor: Int64 = 0
        var ids: [String] = []
        var pages = 0
        while true {
            let page = try store.users(appID: app, after: cursor, limit: 2)
            ids += page.items.map(\.id)
            pages += 1
            guard let next = page.next else { break }
            cursor = next
        }
        #expect(ids == ["iotc-mock-owner", "u0", "u1", "u2", "u3", "u4"])
        #expect(pages == 3)
    }
}
