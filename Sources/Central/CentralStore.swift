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
        """,
        // The port of its own an application asked for (0: any free one); NULL: none.
        """
        ALTER TABLE applications ADD COLUMN port INTEGER CHECK (port BETWEEN 0 AND 65535);
        """,
        // No secret at rest: tokens keep the SHA-256 of their secret instead of a nonce, applications no signing key
        // (`hashTokenSecrets` fills the hashes, then drops the old columns); an application made from a fixture keeps
        // the hashes of the fixture's tokens, so a reset brings back the same token strings.
        """
        ALTER TABLE api_tokens ADD COLUMN secret_hash BLOB NOT NULL DEFAULT x'';
        ALTER TABLE applications ADD COLUMN fixture_token_hashes TEXT;
        """,
        // Device templates (the document as sent, without its read-only members) and devices; a device's
        // organizations are a JSON array, as role assignments are.
        """
        CREATE TABLE device_templates (
            seq INTEGER PRIMARY KEY,
            app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            document TEXT NOT NULL,
            etag TEXT NOT NULL,
            UNIQUE (app_id, id)
        );
        CREATE TABLE devices (
            seq INTEGER PRIMARY KEY,
            app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            template TEXT,
            enabled INTEGER NOT NULL,
            simulated INTEGER NOT NULL,
            provisioned INTEGER NOT NULL,
            organizations TEXT NOT NULL,
            edge INTEGER NOT NULL DEFAULT 0,
            etag TEXT NOT NULL,
            UNIQUE (app_id, id)
        );
        CREATE INDEX devices_by_template ON devices (app_id, template);
        """,
        // What a device would send and has been sent, per component ('' is the default one), as JSON objects of
        // name -> entry; the commands run on it (the last 100 of each); whether it is connected.
        """
        CREATE TABLE device_data (
            app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            device_id TEXT NOT NULL,
            component TEXT NOT NULL,
            desired TEXT NOT NULL DEFAULT '{}',
            reported TEXT NOT NULL DEFAULT '{}',
            telemetry TEXT NOT NULL DEFAULT '{}',
            responses TEXT NOT NULL DEFAULT '{}',
            desired_version INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (app_id, device_id, component)
        );
        CREATE TABLE device_commands (
            seq INTEGER PRIMARY KEY,
            app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            device_id TEXT NOT NULL,
            component TEXT NOT NULL,
            name TEXT NOT NULL,
            document TEXT NOT NULL
        );
        CREATE INDEX device_commands_by_device ON device_commands (app_id, device_id, component, name);
        ALTER TABLE devices ADD COLUMN connected INTEGER NOT NULL DEFAULT 0;
        """,
        // The other resources of an application (device groups first), each a JSON document of a kind.
        """
        CREATE TABLE resources (
            seq INTEGER PRIMARY KEY,
            app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            document TEXT NOT NULL,
            UNIQUE (app_id, kind, id)
        );
        """,
    ]

    /// Migration 3 in Swift: every token of an older data folder gets the hash of the secret its string carries
    /// (the old HMAC of its application's key and its nonce), so it keeps working; then the key and the nonces go.
    static func hashTokenSecrets(_ tx: SQLiteDatabase.Transaction) throws {
        let rows = try tx.query("""
            SELECT api_tokens.seq, api_tokens.app_id, api_tokens.id, api_tokens.expiry_ms, api_tokens.nonce, applications.signing_key
            FROM api_tokens JOIN applications ON applications.id = api_tokens.app_id
            """)
        for row in rows {
            let secret = SharedAccessSignature.legacySecret(
                applicationID: row[1].text ?? "", tokenID: row[2].text ?? "", expiryMilliseconds: row[3].integer ?? 0,
                nonce: row[4].blob ?? [], key: row[5].blob ?? [])
            try tx.query("UPDATE api_tokens SET secret_hash = ? WHERE seq = ?", [.blob(Crypto.sha256(secret)), .integer(row[0].integer ?? 0)])
        }
        try tx.query("ALTER TABLE api_tokens DROP COLUMN nonce")
        try tx.query("ALTER TABLE applications DROP COLUMN signing_key")
    }

    /// Opens the store on `database` and brings its schema up to date. Deleted content is overwritten
    /// (`secure_delete`), so what a migration or a delete removes does not linger in the file.
    /// - Throws: `SQLiteError` or `SchemaMigrator.TooNewError`.
    public init(database: SQLiteDatabase) throws {
        self.database = database
        try database.execute("PRAGMA secure_delete = ON")
        let before = Int(try database.query("PRAGMA user_version").first?[0].integer ?? 0)
        try SchemaMigrator(migrations: Self.migrations, steps: [2: Self.hashTokenSecrets]).migrate(database)
        if before > 0 && before < 3 {
            _ = try? database.query("PRAGMA wal_checkpoint(TRUNCATE)")  // the old pages leave the WAL too
        }
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
                "INSERT INTO applications (id, subdomain, display_name, fixture, created_ms, port, fixture_token_hashes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [.text(app.id), .text(app.subdomain), .text(app.displayName), .text(fixture.name), .integer(now),
                 app.port.map { .integer(Int64($0)) } ?? .null, .text(Self.hashesText(fixture.apiTokens))])
            try Self.insertContents(of: fixture, in: tx)
        }
    }

    /// `{"<token id>": "<hex SHA-256 of its secret>"}`: the fixture tokens an application was made with.
    private static func hashesText(_ tokens: [APIToken]) -> String {
        String(decoding: JSONValue.object(tokens.map { ($0.id, .string(Crypto.hex($0.secretHash))) }).serialized, as: UTF8.self)
    }

    /// The hashes of the fixture tokens an application was made with, by token id (empty for an application of a
    /// data folder older than iotc-mock 0.11).
    public func fixtureTokenHashes(appID: String) throws -> [String: [UInt8]] {
        guard let text = try database.query("SELECT fixture_token_hashes FROM applications WHERE id = ?", [.text(appID)]).first?[0].text,
              case .object(let members) = try? JSONValue.parse(Array(text.utf8))
        else { return [:] }
        var hashes: [String: [UInt8]] = [:]
        for (id, value) in members { if let bytes = value.stringValue.flatMap(Crypto.bytes(hex:)) { hashes[id] = bytes } }
        return hashes
    }

    /// Inserts a fixture's roles, organizations, tokens (`tokens`, default the fixture's) and users for its application.
    private static func insertContents(of fixture: Fixture, tokens: [APIToken]? = nil, in tx: SQLiteDatabase.Transaction) throws {
        let app = fixture.application
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
        for token in tokens ?? fixture.apiTokens { try Self.insert(token, appID: app.id, in: tx) }
        for user in fixture.users { try Self.insert(user, appID: app.id, in: tx) }
    }

    /// Puts the application back into the state of `fixture` (retargeted to it): every role, organization, API
    /// token and user is replaced, in one transaction, so tokens made since no longer exist. The fixture's tokens
    /// get back the secret hashes the application was made with, so their strings work again; an application of an
    /// older data folder, which kept none, takes those of `fixture` from now on.
    /// - Returns: nil when no application has the fixture's id; else the ids of the fixture tokens whose strings are
    ///   the ones the application was made with (the others have `fixture`'s secrets).
    public func reset(to fixture: Fixture) throws -> Set<String>? {
        let app = fixture.application
        return try database.transaction { tx -> Set<String>? in
            guard let row = try tx.query("SELECT fixture_token_hashes FROM applications WHERE id = ?", [.text(app.id)]).first else { return nil }
            for table in Self.applicationTables {
                try tx.query("DELETE FROM \(table) WHERE app_id = ?", [.text(app.id)])
            }
            var kept = Set<String>()
            var tokens = fixture.apiTokens
            if let text = row[0].text, case .object(let members) = try? JSONValue.parse(Array(text.utf8)) {
                tokens = tokens.map { token in
                    guard let hash = members.first(where: { $0.0 == token.id })?.1.stringValue.flatMap(Crypto.bytes(hex:)) else { return token }
                    kept.insert(token.id)
                    return APIToken(id: token.id, roles: token.roles, expiryMilliseconds: token.expiryMilliseconds, secretHash: hash)
                }
            }
            try tx.query(
                "UPDATE applications SET fixture = ?, fixture_token_hashes = ? WHERE id = ?",
                [.text(fixture.name), .text(Self.hashesText(tokens)), .text(app.id)])
            try Self.insertContents(of: fixture, tokens: tokens, in: tx)
            return kept
        }
    }

    /// The tables that hold an application's contents, in the order they are emptied (devices before the
    /// templates and organizations they name).
    static let applicationTables = ["resources", "device_commands", "device_data", "devices", "device_templates", "users", "api_tokens", "organizations", "roles"]

    /// Deletes an application and everything in it; returns whether it existed.
    public func deleteApplication(id: String) throws -> Bool {
        try database.transaction { tx in
            for table in Self.applicationTables {
                try tx.query("DELETE FROM \(table) WHERE app_id = ?", [.text(id)])
            }
            return try !tx.query("DELETE FROM applications WHERE id = ? RETURNING id", [.text(id)]).isEmpty
        }
    }

    /// The name of the fixture an application was made from, or nil when it does not exist.
    public func fixtureName(appID: String) throws -> String? {
        try database.query("SELECT fixture FROM applications WHERE id = ?", [.text(appID)]).first?[0].text
    }

    /// All applications, oldest first.
    public func applications() throws -> [Application] {
        try database.query("SELECT id, subdomain, display_name, port FROM applications ORDER BY created_ms, rowid")
            .map(Self.application)
    }

    /// The application with this id (case-insensitive), or nil.
    public func application(id: String) throws -> Application? {
        try database.query("SELECT id, subdomain, display_name, port FROM applications WHERE id = ? COLLATE NOCASE", [.text(id)])
            .first.map(Self.application)
    }

    private static func application(_ row: SQLiteRow) -> Application {
        Application(
            id: row[0].text ?? "", subdomain: row[1].text ?? "", displayName: row[2].text ?? "", port: row[3].integer.map { Int($0) })
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

    /// Makes the built-in roles of every application equal to `roles` (those of `fixtures/roles.json`), keeping
    /// custom roles: the built-in roles follow the mock's version, not the version that created a data folder.
    public func replaceBuiltInRoles(_ roles: [Role]) throws {
        let builtIn = roles.filter(\.isBuiltIn)
        try database.transaction { tx in
            try tx.query("DELETE FROM roles WHERE built_in = 1")
            for app in try tx.query("SELECT id FROM applications") {
                guard let appID = app[0].text else { continue }
                for (position, role) in builtIn.enumerated() {
                    try tx.query(
                        "INSERT OR REPLACE INTO roles (app_id, id, display_name, kind, built_in, permissions, position) VALUES (?, ?, ?, ?, 1, ?, ?)",
                        [.text(appID), .text(role.id), .text(role.displayName), .text(role.kind.rawValue),
                         .text(role.permissions.sorted().joined(separator: " ")), .integer(Int64(position - builtIn.count))])
                }
            }
        }
    }

    /// Whether the organization exists in the application.
    public func organizationExists(appID: String, id: String) throws -> Bool {
        !(try database.query("SELECT 1 FROM organizations WHERE app_id = ? AND id = ?", [.text(appID), .text(id)]).isEmpty)
    }

    /// The application's organizations in creation order.
    public func organizations(appID: String) throws -> [Organization] {
        try database.query("SELECT id, display_name, parent FROM organizations WHERE app_id = ? ORDER BY rowid", [.text(appID)])
            .map(Self.organization)
    }

    /// The organizations created after the cursor `after` (a rowid), in creation order, each with its cursor.
    public func organizations(appID: String, after: Int64) throws -> [(cursor: Int64, organization: Organization)] {
        try database.query(
            "SELECT rowid, id, display_name, parent FROM organizations WHERE app_id = ? AND rowid > ? ORDER BY rowid", [.text(appID), .integer(after)]
        ).map { ($0[0].integer ?? 0, Self.organization(SQLiteRow(Array($0.values.dropFirst())))) }
    }

    /// The organization with this id, or nil.
    public func organization(appID: String, id: String) throws -> Organization? {
        try database.query("SELECT id, display_name, parent FROM organizations WHERE app_id = ? AND id = ?", [.text(appID), .text(id)])
            .first.map(Self.organization)
    }

    /// Why an organization write was refused; nothing was written.
    public enum OrganizationConflict: Error, Sendable, Equatable {
        /// The parent does not exist.
        case parentMissing(String)
        /// The new parent is the organization itself or one of its descendants.
        case cycle(parent: String)
        /// The organization still has children, users or API tokens with roles on it, or devices (up to 5 ids each).
        case inUse(children: [String], users: [String], apiTokens: [String], devices: [String])
    }

    /// Creates the organization or replaces the one with the same id, in one transaction.
    /// - Returns: whether it was created.
    /// - Throws: `OrganizationConflict.parentMissing` or `.cycle`, `SQLiteError`.
    @discardableResult
    public func save(_ organization: Organization, appID: String) throws -> Bool {
        try database.transaction { tx in
            if let parent = organization.parent {
                let tree = OrganizationTree(try tx.query(
                    "SELECT id, display_name, parent FROM organizations WHERE app_id = ? ORDER BY rowid", [.text(appID)]).map(Self.organization))
                guard tree.contains(parent) else { throw OrganizationConflict.parentMissing(parent) }
                guard !tree.isWithin(parent, subtreeOf: organization.id) else { throw OrganizationConflict.cycle(parent: parent) }
            }
            let updated = try tx.query(
                "UPDATE organizations SET display_name = ?, parent = ? WHERE app_id = ? AND id = ? RETURNING id",
                [.text(organization.displayName), .optionalText(organization.parent), .text(appID), .text(organization.id)])
            guard updated.isEmpty else { return false }
            try tx.query(
                "INSERT INTO organizations (app_id, id, display_name, parent) VALUES (?, ?, ?, ?)",
                [.text(appID), .text(organization.id), .text(organization.displayName), .optionalText(organization.parent)])
            return true
        }
    }

    /// Deletes an organization that has no children and that no user or API token has a role on.
    /// - Returns: whether it existed.
    /// - Throws: `OrganizationConflict.inUse`, writing nothing.
    public func deleteOrganization(appID: String, id: String) throws -> Bool {
        try database.transaction { tx in
            guard !(try tx.query("SELECT 1 FROM organizations WHERE app_id = ? AND id = ?", [.text(appID), .text(id)]).isEmpty) else { return false }
            let children = try tx.query(
                "SELECT id FROM organizations WHERE app_id = ? AND parent = ? ORDER BY rowid LIMIT 5", [.text(appID), .text(id)]).compactMap { $0[0].text }
            let users = try tx.query(Self.referencing("users"), [.text(appID), .text(id)]).compactMap { $0[0].text }
            let tokens = try tx.query(Self.referencing("api_tokens"), [.text(appID), .text(id)]).compactMap { $0[0].text }
            let devices = try tx.query(
                "SELECT id FROM devices WHERE app_id = ? AND EXISTS (SELECT 1 FROM json_each(devices.organizations) WHERE value = ?2) ORDER BY seq LIMIT 5",
                [.text(appID), .text(id)]).compactMap { $0[0].text }
            guard children.isEmpty && users.isEmpty && tokens.isEmpty && devices.isEmpty else {
                throw OrganizationConflict.inUse(children: children, users: users, apiTokens: tokens, devices: devices)
            }
            try tx.query("DELETE FROM organizations WHERE app_id = ? AND id = ?", [.text(appID), .text(id)])
            return true
        }
    }

    /// Up to 5 ids of the rows of `table` (users or api_tokens) with a role assignment on organization `?2`.
    private static func referencing(_ table: String) -> String {
        "SELECT id FROM \(table) WHERE app_id = ? AND EXISTS (SELECT 1 FROM json_each(\(table).roles) WHERE json_extract(value, '$.organization') = ?2) ORDER BY seq LIMIT 5"
    }

    private static func organization(_ row: SQLiteRow) -> Organization {
        Organization(id: row[0].text ?? "", displayName: row[1].text ?? "", parent: row[2].text)
    }

    /// A role assignment names an organization that does not exist (checked inside the write's transaction).
    public struct MissingOrganization: Error, Sendable, Equatable {
        public let id: String
    }

    private static func requireOrganizations(of roles: [RoleAssignment], appID: String, in tx: SQLiteDatabase.Transaction) throws {
        for organization in Set(roles.compactMap(\.organization))
        where try tx.query("SELECT 1 FROM organizations WHERE app_id = ? AND id = ?", [.text(appID), .text(organization)]).isEmpty {
            throw MissingOrganization(id: organization)
        }
    }

    // MARK: API tokens

    /// The token with this id, or nil.
    public func apiToken(appID: String, id: String) throws -> APIToken? {
        try database.query("SELECT id, roles, expiry_ms, secret_hash FROM api_tokens WHERE app_id = ? AND id = ?", [.text(appID), .text(id)])
            .first.map(Self.apiToken)
    }

    /// One page of tokens in creation order, after the cursor `after` (a `seq`), and the cursor of the next page.
    public func apiTokens(appID: String, after: Int64, limit: Int) throws -> (items: [APIToken], next: Int64?) {
        try page(
            "SELECT seq, id, roles, expiry_ms, secret_hash FROM api_tokens WHERE app_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            appID: appID, after: after, limit: limit) { Self.apiToken(SQLiteRow(Array($0.values.dropFirst()))) }
    }

    /// One page of the tokens for which `isIncluded` holds, in creation order after the cursor `after`.
    public func apiTokens(appID: String, after: Int64, limit: Int, where isIncluded: (APIToken) -> Bool) throws -> (items: [APIToken], next: Int64?) {
        try filteredPage(
            "SELECT seq, id, roles, expiry_ms, secret_hash FROM api_tokens WHERE app_id = ? AND seq > ? ORDER BY seq",
            appID: appID, after: after, limit: limit, map: { Self.apiToken(SQLiteRow(Array($0.values.dropFirst()))) }, where: isIncluded)
    }

    /// Adds a token. Returns false, writing nothing, when the id exists already.
    /// - Throws: `MissingOrganization` when a role assignment names an organization that does not exist.
    public func insert(_ token: APIToken, appID: String) throws -> Bool {
        try database.transaction { tx in
            guard try tx.query("SELECT 1 FROM api_tokens WHERE app_id = ? AND id = ?", [.text(appID), .text(token.id)]).isEmpty
            else { return false }
            try Self.requireOrganizations(of: token.roles, appID: appID, in: tx)
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
            "INSERT INTO api_tokens (app_id, id, roles, expiry_ms, secret_hash) VALUES (?, ?, ?, ?, ?)",
            [.text(appID), .text(token.id), .text(RoleAssignment.serialize(token.roles)), .integer(token.expiryMilliseconds), .blob(token.secretHash)])
    }

    private static func apiToken(_ row: SQLiteRow) -> APIToken {
        APIToken(
            id: row[0].text ?? "", roles: roles(row[1]), expiryMilliseconds: row[2].integer ?? 0, secretHash: row[3].blob ?? [])
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
        /// The write would leave the application without a user holding the Administrator role on the whole
        /// application ("Manage users and roles in IoT Central").
        case lastAdministrator
        /// The write would raise the application's role assignments above `limit`.
        case roleAssignmentLimit(limit: Int)
    }

    /// The rules a user write keeps ("Manage users and roles in IoT Central").
    public struct UserRules: Sendable {
        /// The role that must stay assigned, application-wide, to at least one user once one holds it.
        public var administratorRoleID: String
        /// The most role assignments the users of one application may hold together; every entry of a user's
        /// `roles` counts one (an `adGroup` user counts once, whatever its members).
        public var maxRoleAssignments: Int

        public init(administratorRoleID: String = Role.administratorID, maxRoleAssignments: Int = 200) {
            self.administratorRoleID = administratorRoleID; self.maxRoleAssignments = maxRoleAssignments
        }
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

    /// One page of the users for which `isIncluded` holds, in creation order after the cursor `after` (for callers
    /// that see part of the application only).
    public func users(appID: String, after: Int64, limit: Int, where isIncluded: (User) -> Bool) throws -> (items: [User], next: Int64?) {
        try filteredPage(
            "SELECT seq, id, type, email, tenant_id, object_id, roles FROM users WHERE app_id = ? AND seq > ? ORDER BY seq",
            appID: appID, after: after, limit: limit, map: { Self.user(SQLiteRow(Array($0.values.dropFirst()))) }, where: isIncluded)
    }

    /// One page of the items for which `isIncluded` holds, after the cursor `after`: `sql` selects `seq` first.
    func filteredPage<T>(
        _ sql: String, appID: String, after: Int64, limit: Int, map: (SQLiteRow) -> T, where isIncluded: (T) -> Bool
    ) throws -> (items: [T], next: Int64?) {
        var items: [T] = []
        var cursor: Int64 = after
        for row in try database.query(sql, [.text(appID), .integer(after)]) {
            let item = map(row)
            guard isIncluded(item) else { continue }
            if items.count == limit { return (items, cursor) }
            items.append(item)
            cursor = row[0].integer ?? cursor
        }
        return (items, nil)
    }

    /// Creates the user, or replaces the roles of the user with the same id (the caller has checked that its
    /// identity fields are unchanged). Throws `UserConflict` and writes nothing when another user holds the same
    /// email or tenant + object id, or when `rules` would be broken; `MissingOrganization` when a role assignment
    /// names an organization that does not exist.
    public func save(_ user: User, appID: String, rules: UserRules = UserRules()) throws {
        try database.transaction { tx in
            try Self.requireOrganizations(of: user.roles, appID: appID, in: tx)
            let others = try tx.query(
                "SELECT COALESCE(SUM(json_array_length(roles)), 0) FROM users WHERE app_id = ? AND id <> ?", [.text(appID), .text(user.id)]
            ).first?[0].integer ?? 0
            let before = try tx.query("SELECT json_array_length(roles) FROM users WHERE app_id = ? AND id = ?", [.text(appID), .text(user.id)])
                .first?[0].integer ?? 0
            if others + Int64(user.roles.count) > Int64(rules.maxRoleAssignments) && Int64(user.roles.count) > before {
                throw UserConflict.roleAssignmentLimit(limit: rules.maxRoleAssignments)
            }
            if !user.roles.contains(where: { $0.role.lowercased() == rules.administratorRoleID && $0.organization == nil }) {
                try Self.requireAnotherAdministrator(besides: user.id, appID: appID, rules: rules, in: tx)
            }
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
    /// - Throws: `UserConflict.lastAdministrator`, writing nothing, when it is the last Administrator.
    public func deleteUser(appID: String, id: String, rules: UserRules = UserRules()) throws -> Bool {
        try database.transaction { tx in
            try Self.requireAnotherAdministrator(besides: id, appID: appID, rules: rules, in: tx)
            return try !tx.query("DELETE FROM users WHERE app_id = ? AND id = ? RETURNING id", [.text(appID), .text(id)]).isEmpty
        }
    }

    /// Throws `lastAdministrator` when `userID` holds the Administrator role application-wide and no other user does.
    private static func requireAnotherAdministrator(besides userID: String, appID: String, rules: UserRules, in tx: SQLiteDatabase.Transaction) throws {
        let isAdministrator = "EXISTS (SELECT 1 FROM json_each(users.roles) WHERE lower(json_extract(value, '$.role')) = ?2 AND json_extract(value, '$.organization') IS NULL)"
        let parameters: [SQLiteValue] = [.text(appID), .text(rules.administratorRoleID), .text(userID)]
        guard !(try tx.query("SELECT 1 FROM users WHERE app_id = ?1 AND id = ?3 AND \(isAdministrator)", parameters).isEmpty) else { return }
        if try tx.query("SELECT 1 FROM users WHERE app_id = ?1 AND id <> ?3 AND \(isAdministrator) LIMIT 1", parameters).isEmpty {
            throw UserConflict.lastAdministrator
        }
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
    func page<T>(_ sql: String, appID: String, after: Int64, limit: Int, _ map: (SQLiteRow) -> T) throws -> (items: [T], next: Int64?) {
        let rows = try database.query(sql, [.text(appID), .integer(after), .integer(Int64(limit) + 1)])
        let pageRows = rows.prefix(limit)
        let next = rows.count > limit ? pageRows.last?[0].integer : nil
        return (pageRows.map(map), next)
    }
}
