/// A user of an application (spec definitions `User`, `EmailUser`, `ServicePrincipalUser`, `ADGroupUser`;
/// the 2022-07-31 spec). Which identity fields are set depends on `type`.
public struct User: Sendable, Equatable {
    /// The discriminator `type` of the spec.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case email
        case servicePrincipal
        case adGroup

        /// The `type` value in `version`: the `x-ms-discriminator-value` (`email`, `servicePrincipal`, `adGroup`), or in
        /// 2021-04-30-preview, whose subtypes have none, the definition name (`EmailUser`, `ServicePrincipalUser`,
        /// `ADGroupUser`, as that spec's examples write them).
        public func name(in version: APIVersion) -> String {
            guard version.namesUserTypesByDefinition else { return rawValue }
            switch self {
            case .email: return "EmailUser"
            case .servicePrincipal: return "ServicePrincipalUser"
            case .adGroup: return "ADGroupUser"
            }
        }

        /// The kind a `type` value names in `version`, or nil (including `adGroup` in a version without it).
        public static func named(_ text: String, in version: APIVersion) -> Kind? {
            allCases.first { $0.name(in: version) == text && ($0 != .adGroup || version.hasADGroupUsers) }
        }
    }

    public let id: String
    public let type: Kind
    /// Set for `email` users only.
    public let email: String?
    /// Entra tenant id; set for `servicePrincipal` and `adGroup` users.
    public let tenantId: String?
    /// Entra object id (enterprise application or group); set for `servicePrincipal` and `adGroup` users.
    public let objectId: String?
    public let roles: [RoleAssignment]

    public init(id: String, type: Kind, email: String? = nil, tenantId: String? = nil, objectId: String? = nil, roles: [RoleAssignment]) {
        self.id = id; self.type = type; self.email = email; self.tenantId = tenantId; self.objectId = objectId
        self.roles = roles
    }

    /// A copy with other roles.
    public func with(roles: [RoleAssignment]) -> User {
        User(id: id, type: type, email: email, tenantId: tenantId, objectId: objectId, roles: roles)
    }

    /// The response shape, fields in the order of the spec's examples.
    public var json: JSONValue { json(in: .v2022_10_31_preview) }

    /// The response shape in `version`: its type name, and only the role assignments it can express.
    public func json(in version: APIVersion) -> JSONValue {
        var members: [(String, JSONValue)] = [("id", .string(id)), ("type", .string(type.name(in: version)))]
        if let tenantId { members.append(("tenantId", .string(tenantId))) }
        if let objectId { members.append(("objectId", .string(objectId))) }
        members.append(("roles", .array(roles.filter { $0.exists(in: version) }.map(\.json))))
        if let email { members.append(("email", .string(email))) }
        return .object(members)
    }

    /// Whether `version` can express this user: 1.0 has no `adGroup` users, and a user whose every role assignment
    /// names an organization has no roles in a version without organizations.
    public func exists(in version: APIVersion) -> Bool {
        (type != .adGroup || version.hasADGroupUsers) && roles.contains { $0.exists(in: version) }
    }
}
