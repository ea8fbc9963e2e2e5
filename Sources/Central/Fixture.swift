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
              let displayName = app["displayName"]?.stringValue,
              let keyText = app["signingKey"]?.stringValue, let key = Data(base64Encoded: keyText), key.count >= 32
        else {
            throw LoadError(message: "\(name).json: 'application' needs a GUID 'id', 'subdomain', 'displayName' and a base64 'signingKey' of at least 32 bytes")
        }
        var port: Int?
        if let value = app["port"], value != .null {
            guard case .number(let number) = value, number.rounded() == number, (0...65535).contains(number) else {
                throw LoadError(message: "\(name).json: the application's 'port' must be an integer from 0 (any free port) to 65535")
            }
            port = Int(number)
        }
        self.application = Application(id: id.lowercased(), subdomain: subdomain, displayName: displayName, signingKey: Array(key), port: port)

        self.organizations = try (appJSON["organizations"]?.arrayValue ?? []).map { (entry: JSONValue) throws(LoadError) -> Organization in
            guard let id = entry["id"]?.stringValue, let displayName = entry["displayName"]?.stringValue else {
                throw LoadError(message: "\(name).json: each organization needs 'id' and 'displayName'")
            }
            return Organization(id: id, displayName: displayName, parent: entry["parent"]?.stringValue)
        }

        self.apiTokens = try (appJSON["apiTokens"]?.arrayValue ?? []).map { (entry: JSONValue) throws(LoadError) -> APIToken in
            guard let id = entry["id"]?.stringValue,
                  let expiryText = entry["expiry"]?.stringValue, let expiry = Timestamp.parseISO8601(expiryText),
                  let nonceText = entry["nonce"]?.stringValue, let nonce = Self.hexBytes(nonceText), nonce.count == 16
            else {
                throw LoadError(message: "\(name).json: each API token needs 'id', an ISO 8601 'expiry' and a 32-hex-digit 'nonce'")
            }
            return APIToken(id: id, roles: RoleAssignment.list(from: entry["roles"] ?? .null), expiryMilliseconds: expiry, nonce: nonce)
        }

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

    private init(name: String, application: Application, roles: [Role], organizations: [Organization], apiTokens: [APIToken], users: [User], permissions: [String: String]) {
        self.name = name; self.application = application; self.roles = roles; self.organizations = organizations
        self.apiTokens = apiTokens; self.users = users; self.permissions = permissions
    }

    /// The same factory state for another application (its own id, subdomain and signing key): how the control
    /// plane makes and resets applications from one fixture.
    public func retargeted(to application: Application) -> Fixture {
        Fixture(name: name, application: application, roles: roles, organizations: organizations, apiTokens: apiTokens, users: users, permissions: permissions)
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

    private static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
