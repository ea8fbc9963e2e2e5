import Foundation

/// The factory state of one application, read from `fixtures/<name>.json`, together with the built-in roles of
/// `fixtures/roles.json`. Loaded into an empty store on first start.
public struct Fixture: Sendable {
    public let name: String
    public let application: Application
    /// Built-in roles first (in `roles.json` order), then the fixture's custom roles.
    public let roles: [Role]
    public let organizations: [Organization]
    public let apiTokens: [APIToken]
    /// The secrets (the `sig` bytes) of the fixture's API tokens, by token id: they are the fixture's data, public
    /// in the repository (the well-known admin token), so the server can print the token strings; the store keeps
    /// only their hashes.
    public let apiTokenSecrets: [String: [UInt8]]
    public let users: [User]
    /// Every permission name that `roles.json` defines, with its description.
    public let permissions: [String: String]

    /// A fixture file that cannot be used; the message names the file and the field.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Reads `roles.json` and `<name>.json` from `files`.
    /// - Throws: `LoadError` when a file is missing or a field is absent, of the wrong type or inconsistent.
    public static func load(files: FixtureFiles, name: String) throws(LoadError) -> Fixture {
        guard (1...64).contains(name.utf8.count), Validation.isResourceID(name) else {
            throw LoadError(message: "fixture name '\(name)' must be 1 to 64 letters, digits, '-' or '_'")
        }
        let rolesJSON = try read("roles.json", from: files)
        let appJSON = try read("\(name).json", from: files)
        return try Fixture(name: name, rolesJSON: rolesJSON, appJSON: appJSON)
    }

    /// Reads `<directory>/roles.json` and `<directory>/<name>.json`, with no compiled-in files to fall back on.
    /// - Throws: `LoadError` as `load(files:name:)`.
    public static func load(directory: URL, name: String) throws(LoadError) -> Fixture {
        try load(files: FixtureFiles(directory: directory, embedded: [:]), name: name)
    }

    /// Builds a fixture from the two parsed documents (used by `load` and by tests).
    public init(name: String, rolesJSON: JSONValue, appJSON: JSONValue) throws(LoadError) {
        self.name = name
        var permissions: [String: String] = [:]
        guard case .object(let permissionMembers) = rolesJSON["permissions"] ?? .null else {
            throw LoadError(message: "roles.json: 'permissions' must be an object of name to description")
        }
        for (key, value) in permissionMembers { permissions[key] = value.stringValue ?? "" }
        self.permissions = permissions

        var roles = try Self.roles(rolesJSON["roles"], file: "roles.json", builtIn: true, permissions: permissions)
        roles += try Self.roles(appJSON["customRoles"] ?? .array([]), file: "\(name).json", builtIn: false, permissions: permissions)
        self.roles = roles

        guard let app = appJSON["application"],
              let id = app["id"]?.stringValue, Validation.isGUID(id),
              let subdomain = app["subdomain"]?.stringValue, !subdomain.isEmpty,
              let displayName = app["displayName"]?.stringValue
        else {
            throw LoadError(message: "\(name).json: 'application' needs a GUID 'id', 'subdomain' and 'displayName'")
        }
        // Fixtures of iotc-mock 0.10 and older give a signing key and per-token nonces instead of each token's `sig`.
        let legacyKey = app["signingKey"]?.stringValue.flatMap { Data(base64Encoded: $0) }.map(Array.init)
        var port: Int?
        if let value = app["port"], value != .null {
            guard case .number(let number) = value, number.rounded() == number, (0...65535).contains(number) else {
                throw LoadError(message: "\(name).json: the application's 'port' must be an integer from 0 (any free port) to 65535")
            }
            port = Int(number)
        }
        let applicationID = id.lowercased()
        self.application = Application(id: applicationID, subdomain: subdomain, displayName: displayName, port: port)

        self.organizations = try (appJSON["organizations"]?.arrayValue ?? []).map { (entry: JSONValue) throws(LoadError) -> Organization in
            guard let id = entry["id"]?.stringValue, let displayName = entry["displayName"]?.stringValue else {
                throw LoadError(message: "\(name).json: each organization needs 'id' and 'displayName'")
            }
            return Organization(id: id, displayName: displayName, parent: entry["parent"]?.stringValue)
        }

        var secrets: [String: [UInt8]] = [:]
        self.apiTokens = try (appJSON["apiTokens"]?.arrayValue ?? []).map { (entry: JSONValue) throws(LoadError) -> APIToken in
            guard let id = entry["id"]?.stringValue,
                  let expiryText = entry["expiry"]?.stringValue, let expiry = Timestamp.parseISO8601(expiryText)
            else {
                throw LoadError(message: "\(name).json: each API token needs 'id' and an ISO 8601 'expiry'")
            }
            let secret: [UInt8]
            if let sig = entry["sig"]?.stringValue, let bytes = Data(base64Encoded: sig), bytes.count == 32 {
                secret = Array(bytes)
            } else if let nonceText = entry["nonce"]?.stringValue, let nonce = Crypto.bytes(hex: nonceText), nonce.count == 16,
                      let legacyKey, legacyKey.count >= 32 {
                secret = SharedAccessSignature.legacySecret(
                    applicationID: applicationID, tokenID: id, expiryMilliseconds: expiry, nonce: nonce, key: legacyKey)
            } else {
                throw LoadError(message: "\(name).json: API token \(id) needs a 'sig': the base64 of 32 bytes, its token string's signature")
            }
            secrets[id] = secret
            return APIToken(
                id: id, roles: RoleAssignment.list(from: entry["roles"] ?? .null), expiryMilliseconds: expiry,
                secretHash: Crypto.sha256(secret))
        }
        self.apiTokenSecrets = secrets

        self.users = try (appJSON["users"]?.arrayValue ?? []).map { (entry: JSONValue) throws(LoadError) -> User in
            guard let id = entry["id"]?.stringValue, let typeText = entry["type"]?.stringValue,
                  let type = User.Kind(rawValue: typeText)
            else { throw LoadError(message: "\(name).json: each user needs 'id' and a known 'type'") }
            return User(
                id: id, type: type, email: entry["email"]?.stringValue, tenantId: entry["tenantId"]?.stringValue,
                objectId: entry["objectId"]?.stringValue, roles: RoleAssignment.list(from: entry["roles"] ?? .null))
        }
        try Self.checkReferences(name: name, roles: roles, organizations: organizations, apiTokens: apiTokens, users: users)
    }

    /// Refuses a fixture whose organizations name a parent it lacks, or whose tokens and users hold a role it does
    /// not define, an organization role without one of its organizations, or an application role with one.
    private static func checkReferences(
        name: String, roles: [Role], organizations: [Organization], apiTokens: [APIToken], users: [User]
    ) throws(LoadError) {
        let organizationIDs = Set(organizations.map(\.id))
        for organization in organizations {
            if let parent = organization.parent, !organizationIDs.contains(parent) {
                throw LoadError(message: "\(name).json: organization \(organization.id) names a parent \(parent) that the fixture does not define")
            }
        }
        let holders = apiTokens.map { ("API token \($0.id)", $0.roles) } + users.map { ("user \($0.id)", $0.roles) }
        for (holder, assignments) in holders {
            guard !assignments.isEmpty else { throw LoadError(message: "\(name).json: \(holder) needs at least one role") }
            for assignment in assignments {
                guard let role = roles.first(where: { $0.id == assignment.role.lowercased() }) else {
                    throw LoadError(message: "\(name).json: \(holder) holds the role \(assignment.role), which no fixture defines")
                }
                switch (role.kind, assignment.organization) {
                case (.organization, nil):
                    throw LoadError(message: "\(name).json: \(holder) holds the organization role \(role.displayName) without an organization")
                case (.application, .some):
                    throw LoadError(message: "\(name).json: \(holder) holds the application role \(role.displayName) on an organization")
                case (.organization, .some(let id)) where !organizationIDs.contains(id):
                    throw LoadError(message: "\(name).json: \(holder) names the organization \(id), which the fixture does not define")
                default:
                    break
                }
            }
        }
    }

    private init(
        name: String, application: Application, roles: [Role], organizations: [Organization], apiTokens: [APIToken],
        apiTokenSecrets: [String: [UInt8]], users: [User], permissions: [String: String]
    ) {
        self.name = name; self.application = application; self.roles = roles; self.organizations = organizations
        self.apiTokens = apiTokens; self.apiTokenSecrets = apiTokenSecrets; self.users = users; self.permissions = permissions
    }

    /// The same factory state for another application (its own id and subdomain): how the control plane makes and
    /// resets applications from one fixture. The tokens get the given secrets (by id; fresh random ones for those
    /// not given), so no two applications share a token string.
    /// - Throws: when the system has no random bytes.
    public func retargeted(to application: Application, secrets given: [String: [UInt8]] = [:]) throws -> Fixture {
        var secrets: [String: [UInt8]] = [:]
        let tokens = try apiTokens.map { token in
            let secret = try given[token.id] ?? APIToken.newSecret()
            secrets[token.id] = secret
            return APIToken(id: token.id, roles: token.roles, expiryMilliseconds: token.expiryMilliseconds, secretHash: Crypto.sha256(secret))
        }
        return Fixture(
            name: name, application: application, roles: roles, organizations: organizations, apiTokens: tokens,
            apiTokenSecrets: secrets, users: users, permissions: permissions)
    }

    /// The token string of the fixture's token `id` (its application, its secret), or nil when it has none.
    public func tokenString(_ id: String) -> String? {
        guard let token = apiTokens.first(where: { $0.id == id }), let secret = apiTokenSecrets[id] else { return nil }
        return SharedAccessSignature.string(applicationID: application.id, tokenID: id, expiryMilliseconds: token.expiryMilliseconds, secret: secret)
    }

    private static func roles(_ value: JSONValue?, file: String, builtIn: Bool, permissions: [String: String]) throws(LoadError) -> [Role] {
        guard let entries = value?.arrayValue else { throw LoadError(message: "\(file): 'roles' must be an array") }
        return try entries.map { (entry: JSONValue) throws(LoadError) -> Role in
            guard let id = entry["id"]?.stringValue, Validation.isGUID(id),
                  let displayName = entry["displayName"]?.stringValue,
                  let kindText = entry["kind"]?.stringValue, let kind = Role.Kind(rawValue: kindText),
                  let granted = entry["permissions"]?.arrayValue
            else {
                throw LoadError(message: "\(file): each role needs a GUID 'id', 'displayName', 'kind' (application or organization) and 'permissions'")
            }
            var set = Set<String>()
            for permission in granted {
                guard let text = permission.stringValue, permissions[text] != nil else {
                    throw LoadError(message: "\(file): role \(id) names an undefined permission \(permission)")
                }
                set.insert(text)
            }
            return Role(id: id.lowercased(), displayName: displayName, kind: kind, isBuiltIn: builtIn, permissions: set)
        }
    }

    private static func read(_ name: String, from files: FixtureFiles) throws(LoadError) -> JSONValue {
        guard let bytes = try files.read(name) else { throw LoadError(message: "cannot read fixture file \(files.source(of: name))") }
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw LoadError(message: "\(files.source(of: name)) is not valid JSON")
        }
    }
}
