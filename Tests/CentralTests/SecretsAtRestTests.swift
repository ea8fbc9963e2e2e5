import Foundation
import Storage
import Testing

@testable import Central

/// No secret at rest that can mint a credential: the store keeps only the SHA-256 of each API token's secret, and a
/// data folder of an older version (which kept a signing key and per-token nonces) is migrated so that its tokens
/// keep working and the key and nonces are gone from the file.
@Suite struct SecretsAtRestTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Every byte of the database and its WAL.
    static func fileBytes(_ path: String) -> [UInt8] {
        [path, path + "-wal"].flatMap { (try? Data(contentsOf: URL(fileURLWithPath: $0))).map(Array.init) ?? [] }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<$0 + needle.count].elementsEqual(needle) }
    }

    @Test func aDataFolderOfAnOlderVersionIsMigratedAndItsTokensKeepWorking() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("iotc-mock.sqlite3").path
        let key = Array(repeating: UInt8(0x5A), count: 32), nonce = Array(repeating: UInt8(0xC3), count: 16)
        let appID = "11111111-2222-3333-4444-555555555555"
        do {  // the schema and rows iotc-mock 0.10 wrote
            let old = try SQLiteDatabase(path: path)
            try SchemaMigrator(migrations: Array(CentralStore.migrations.prefix(2))).migrate(old)
            _ = try old.query("INSERT INTO applications (id, subdomain, display_name, signing_key, fixture, created_ms) VALUES (?, 'old', 'Old', ?, 'default', 0)",
                              [.text(appID), .blob(key)])
            _ = try old.query("INSERT INTO api_tokens (app_id, id, roles, expiry_ms, nonce) VALUES (?, 'kept', '[]', 4102444799000, ?)",
                              [.text(appID), .blob(nonce)])
        }
        let store = try CentralStore(database: SQLiteDatabase(path: path))
        let application = try #require(try store.application(id: appID))
        let token = try #require(try store.apiToken(appID: appID, id: "kept"))
        let legacy = SharedAccessSignature.legacySecret(applicationID: appID, tokenID: "kept", expiryMilliseconds: 4_102_444_799_000, nonce: nonce, key: key)
        let string = SharedAccessSignature.string(applicationID: appID, tokenID: "kept", expiryMilliseconds: 4_102_444_799_000, secret: legacy)
        #expect(SharedAccessSignature.parse(string)?.isValid(for: application, token: token) == true, "a token of the old version still works")
        let columns = try store.database.query("SELECT name FROM pragma_table_info('api_tokens') UNION ALL SELECT name FROM pragma_table_info('applications')")
            .compactMap { $0[0].text }
        #expect(!columns.contains("nonce") && !columns.contains("signing_key"))
        let bytes = Self.fileBytes(path)
        #expect(!Self.contains(bytes, key) && !Self.contains(bytes, nonce) && !Self.contains(bytes, legacy), "the key, the nonce and the secret are gone from the file")
    }

    @Test func aNewTokensStringCannotBeFoundOrMadeFromTheDatabaseFile() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("iotc-mock.sqlite3").path
        let fixture = try Fixture.load(directory: FixturePaths.directory, name: "default")
        let store = try CentralStore(database: SQLiteDatabase(path: path))
        try store.insert(fixture, now: 0)
        let service = CentralService(store: store)
        let admin = try #require(fixture.tokenString(fixture.apiTokens[0].id))
        let made = service.handle(CentralRequest(
            method: "PUT", pathSegments: ["apiTokens", "fresh"], query: [(name: "api-version", value: "2022-07-31")], authorization: [admin],
            contentType: "application/json", baseURL: "http://x", body: Array(#"{"roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}"#.utf8)),
            application: fixture.application)
        let string = try #require(JSONValue.parse(made.body)["token"]?.stringValue)
        let secret = try #require(SharedAccessSignature.parse(string)?.signature)
        let bytes = Self.fileBytes(path)
        #expect(!Self.contains(bytes, secret) && !Self.contains(bytes, Array(Data(secret).base64EncodedString().utf8)))
        // The well-known token's secret is the fixture's, not the store's.
        let wellKnown = try #require(SharedAccessSignature.parse(admin)?.signature)
        #expect(!Self.contains(bytes, wellKnown))
    }
}
