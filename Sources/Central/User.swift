/// A user of an application (spec definitions `User`, `EmailUser`, `ServicePrincipalUser`, `ADGroupUser`;
/// the 2022-07-31 spec). Which identity fields are set depends on `type`.
public struct User: Sendable, Equatable {
    /// The discriminator `type` of the spec.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case email
        case servicePrincipal
        case adGroup
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

    /// The response shape in `version` (role assignments as that version's model has them).
    public func json(in version: APIVersion) -> JSONValue {
        var members: [(String, JSONValue)] = [("id", .string(id)), ("type", .string(type.rawValue))]
        if let tenantId { members.append(("tenantId", .string(tenantId))) }
        if let objectId { members.append(("objectId", .string(objectId))) }
        members.append(("roles", .array(roles.map { $0.json(in: version) })))
        if let email { members.append(("email", .string(email))) }
        return .object(members)
    }

    /// Whether `version` can express this user: 1.0 has no `adGroup` users.
    public func exists(in version: APIVersion) -> Bool { type != .adGroup || version.hasADGroupUsers }
}
