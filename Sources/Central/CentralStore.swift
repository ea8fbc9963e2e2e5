import Foundation
import Storage

/// The IoT Central state in SQLite: applications, roles, organizations, API tokens and users.
///
/// Every write is one transaction (or one statement, which SQLite runs atomically); a handler validates first and writes once, so a refused request changes
/// nothing. Role assignments are stored as JSON text in a `roles` column (they are always read whole).
public final class CentralStore: Sendable {
    public let database: SQLiteDatabase

    /// The schema, one migration per version (`PRAGMA user_version`). Append; never edit a released entry.
    static let migrations: [String] = [
        """
        CREATE TABLE applications (
            id TEXT PRIMARY KEY,
            subdomain TEXT NOT NULL UNIQUE COLLATE NOCASE,
            display_name TEXT NOT NULL,
            signing_key BLOB NOT NULL,
            fixture TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        );
        CREATE TABLE roles (
            app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('application', 'organization')),
            built_in INTEGER NOT NULL,
            permissions TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (app_id, id)
        );
        CREATE TABLE organizations (
            app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            parent TEXT,
            PRIMARY KEY (app_id, id)
        );
        CREATE TABLE api_tokens (
            seq INTEGER PRIMARY KEY,
            app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            roles TEXT NOT NULL,
            expiry_ms INTEGER NOT NULL,
            nonce BLOB NOT NULL,
            UNIQUE (app_id, id)
        );
        CREATE TABLE users (
            seq INTEGER PRIMARY KEY,
            app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            type TEXT NOT NULL CHECK (type IN ('email', 'servicePrincipal', 'adGroup')),
            email TEXT,
            email_key TEXT,
            tenant_id TEXT COLLATE NOCASE,
            object_id TEXT COLLATE NOCASE,
            roles TEXT NOT NULL,
            UNIQUE (app_id, id),
            UNIQUE (app_id, email_key),
            UNIQUE (app_id, tenant_id, object_id)
        );
        """
    ]

    /// Opens the store on `database` and brings its schema up to date.
    /// - Throws: `SQLiteError` or `SchemaMigrator.TooNewError`.
    public init(database: SQLiteDatabase) throws {
        self.database = database
        try SchemaMigrator(migrations: Self.migrations).migrate(database)
    }

    // MARK: Applications

    /// Whether no application exists yet (a fresh data folder).
    public func isEmpty() throws -> Bool {
        try database.query("SELECT COUNT(*) FROM applications").first?[0].integer == 0
    }

    /// Writes a fixture's application with all its roles, organizations, tokens and users, in one transaction.
    /// - Throws: `SQLiteError` (for example when the application id or subdomain exists already).
    public func insert(_ fixture: Fixture, now: Int64) throws {
        let app = fixture.application
        try database.transaction { tx in
            try tx.query(
                "INSERT INTO applications (id, subdomain, display_name, signing_key, fixture, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
                [.text(app.id), .text(app.subdomain), .text(app.displayName), .blob(app.signingKey), .text(fixture.name), .integer(now)])
            for (position, role) in fixture.roles.enumerated() {
                try tx.query(
                    "INSERT INTO roles (app_id, id, display_name, kind, built_in, permissions, position) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [.text(app.id), .text(role.id), .text(role.displayName), .text(role.kind.rawValue),
                     .integer(role.isBuiltIn ? 1 : 0), .text(role.permissions.sorted().joined(separator: " ")), .integer(Int64(position))])
            }
            for organization in fixture.organizations {
                try tx.query(
                    "INSERT INTO organizations (app_id, id, display_name, parent) VALUES (?, ?, ?, ?)",
                    [.text(app.id), .text(organization.id), .text(organization.displayName), .optionalText(organization.parent)])
            }
            for token in fixture.apiTokens { try Self.insert(token, appID: app.id, in: tx) }
            for user in fixture.users { try Self.insert(user, appID: app.id, in: tx) }
        }
    }

    /// All applications, oldest first.
    public func applications() throws -> [Application] {
        try database.query("SELECT id, subdomain, display_name, signing_key FROM applications ORDER BY created_ms, rowid")
            .map(Self.application)
    }

    /// The application with this id (case-insensitive), or nil.
    public func application(id: String) throws -> Application? {
        try database.query("SELECT id, subdomain, display_name, signing_key FROM applications WHERE id = ? COLLATE NOCASE", [.text(id)])
            .first.map(Self.application)
    }

    private static func application(_ row: SQLiteRow) -> Application {
        Application(id: row[0].text ?? "", subdomain: row[1].text ?? "", displayName: row[2].text ?? "", signingKey: row[3].blob ?? [])
    }

    // MARK: Roles and organizations

    /// The application's roles in fixture order.
    public func roles(appID: String) throws -> [Role] {
        try database.query(
            "SELECT id, display_name, kind, built_in, permissions FROM roles WHERE app_id = ? ORDER BY position", [.text(appID)]
        ).map { row in
            Role(
                id: row[0].text ?? "", displayName: row[1].text ?? "", kind: Role.Kind(rawValue: row[2].text ?? "") ?? .application,
                isBuiltIn: row[3].integer == 1,
                permissions: Set((row[4].text ?? "").split(separator: " ").map(String.init)))
        }
    }

    /// Whether the organization exists in the application.
    public func organizationExists(appID: String, id: String) throws -> Bool {
        !(try database.query("SELECT 1 FROM organizations WHERE app_id = ? AND id = ?", [.text(appID), .text(id)]).isEmpty)
    }

    // MARK: API tokens

    /// The token with this id, or nil.
    public func apiToken(appID: String, id: String) throws -> APIToken? {
        try database.query("SELECT id, roles, expiry_ms, nonce FROM api_tokens WHERE app_id = ? AND id = ?", [.text(appID), .text(id)])
            .first.map(Self.apiToken)
    }

    /// One page of tokens in creation order, after the cursor `after` (a `seq`), and the cursor of the next page.
    public func apiTokens(appID: String, after: Int64, limit: Int) throws -> (items: [APIToken], next: Int64?) {
        try page(
            "SELECT seq, id, roles, expiry_ms, nonce FROM api_tokens WHERE app_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            appID: appID, after: after, limit: limit) { Self.apiToken(SQLiteRow(Array($0.values.dropFirst()))) }
    }

    /// Adds a token. Returns false, writing nothing, when the id exists already.
    public func insert(_ token: APIToken, appID: String) throws -> Bool {
        try database.transaction { tx in
            guard try tx.query("SELECT 1 FROM api_tokens WHERE app_id = ? AND id = ?", [.text(appID), .text(token.id)]).isEmpty
            else { return false }
            try Self.insert(token, appID: appID, in: tx)
            return true
        }
    }

    /// Deletes a token; returns whether it existed.
    public func deleteAPIToken(appID: String, id: String) throws -> Bool {
        try !database.query("DELETE FROM api_tokens WHERE app_id = ? AND id = ? RETURNING id", [.text(appID), .text(id)]).isEmpty
    }

    private static func insert(_ token: APIToken, appID: String, in tx: SQLiteDatabase.Transaction) throws {
        try tx.query(
            "INSERT INTO api_tokens (app_id, id, roles, expiry_ms, nonce) VALUES (?, ?, ?, ?, ?)",
            [.text(appID), .text(token.id), .text(RoleAssignment.serialize(token.roles)), .integer(token.expiryMilliseconds), .blob(token.nonce)])
    }

    private static func apiToken(_ row: SQLiteRow) -> APIToken {
        APIToken(
            id: row[0].text ?? "", roles: roles(row[1]), expiryMilliseconds: row[2].integer ?? 0, nonce: row[3].blob ?? [])
    }

    // MARK: Users

    /// The form in which emails are compared: Unicode NFC, then case-folded (so `ß` matches `SS` and `Ü` matches
    /// `ü`), as Entra compares user principal names case-insensitively.
    public static func emailKey(_ email: String) -> String {
        email.precomposedStringWithCanonicalMapping.folding(options: [.caseInsensitive], locale: nil)
    }

    /// Why a user write was refused.
    public enum UserConflict: Error, Sendable, Equatable {
        /// Another user of the app has this email (compared by `emailKey`).
        case emailInUse(userID: String)
        /// Another user of the app has this tenant and object id.
        case identityInUse(userID: String)
    }

    /// The user with this id, or nil.
    public func user(appID: String, id: String) throws -> User? {
        try database.query(
            "SELECT id, type, email, tenant_id, object_id, roles FROM users WHERE app_id = ? AND id = ?", [.text(appID), .text(id)]
        ).first.map(Self.user)
    }

    /// One page of users in creation order, after the cursor `after`, and the cursor of the next page.
    public func users(appID: String, after: Int64, limit: Int) throws -> (items: [User], next: Int64?) {
        try page(
            "SELECT seq, id, type, email, tenant_id, object_id, roles FROM users WHERE app_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            appID: appID, after: after, limit: limit) { Self.user(SQLiteRow(Array($0.values.dropFirst()))) }
    }

    /// Creates the user, or replaces the roles of the user with the same id (the caller has checked that its
    /// identity fields are unchanged). Throws `UserConflict` and writes nothing when another user holds the same
    /// email or tenant + object id.
    public func save(_ user: User, appID: String) throws {
        try database.transaction { tx in
            if let email = user.email,
               let other = try tx.query("SELECT id FROM users WHERE app_id = ? AND email_key = ? AND id <> ?", [.text(appID), .text(Self.emailKey(email)), .text(user.id)]).first {
                throw UserConflict.emailInUse(userID: other[0].text ?? "")
            }
            if let tenantId = user.tenantId, let objectId = user.objectId,
               let other = try tx.query(
                   "SELECT id FROM users WHERE app_id = ? AND tenant_id = ? AND object_id = ? AND id <> ?",
                   [.text(appID), .text(tenantId), .text(objectId), .text(user.id)]).first {
                throw UserConflict.identityInUse(userID: other[0].text ?? "")
            }
            let updated = try tx.query("UPDATE users SET roles = ? WHERE app_id = ? AND id = ? RETURNING id", [.text(RoleAssignment.serialize(user.roles)), .text(appID), .text(user.id)])
            if updated.isEmpty { try Self.insert(user, appID: appID, in: tx) }
        }
    }

    /// Deletes a user; returns whether it existed.
    public func deleteUser(appID: String, id: String) throws -> Bool {
        try !database.query("DELETE FROM users WHERE app_id = ? AND id = ? RETURNING id", [.text(appID), .text(id)]).isEmpty
    }

    private static func insert(_ user: User, appID: String, in tx: SQLiteDatabase.Transaction) throws {
        try tx.query(
            "INSERT INTO users (app_id, id, type, email, email_key, tenant_id, object_id, roles) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [.text(appID), .text(user.id), .text(user.type.rawValue), .optionalText(user.email),
             .optionalText(user.email.map(Self.emailKey)), .optionalText(user.tenantId),
             .optionalText(user.objectId), .text(RoleAssignment.serialize(user.roles))])
    }

    private static func user(_ row: SQLiteRow) -> User {
        User(
            id: row[0].text ?? "", type: User.Kind(rawValue: row[1].text ?? "") ?? .email, email: row[2].text,
            tenantId: row[3].text, objectId: row[4].text, roles: roles(row[5]))
    }

    // MARK: Helpers

    private static func roles(_ value: SQLiteValue) -> [RoleAssignment] {
        guard let text = value.text, let json = try? JSONValue.parse(Array(text.utf8)) else { return [] }
        return RoleAssignment.list(from: json)
    }

    /// Runs a keyset-paged query whose first column is `seq`; fetches one extra row to know whether more follow.
    private func page<T>(_ sql: String, appID: String, after: Int64, limit: Int, _ map: (SQLiteRow) -> T) throws -> (items: [T], next: Int64?) {
        let rows = try database.query(sql, [.text(appID), .integer(after), .integer(Int64(limit) + 1)])
        let pageRows = rows.prefix(limit)
        let next = rows.count > limit ? pageRows.last?[0].integer : nil
        return (pageRows.map(map), next)
    }
}
