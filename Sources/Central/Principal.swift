/// Who is calling, once the `Authorization` header has been verified.
public struct Principal: Sendable, Equatable {
    /// How the caller proved who it is.
    public enum Identity: Sendable, Equatable {
        /// An API token of the application, by id (REFERENCE.md §2, form 1).
        case apiToken(id: String)
        /// An Entra ID identity (REFERENCE.md §2, form 2), with the ids of the app users it matched (none: 403).
        case bearer(tenantId: String, objectId: String, users: [String])
    }

    public let identity: Identity
    public let roles: [RoleAssignment]
    /// The permissions the principal holds on the whole application: the union over its role assignments that
    /// name no organization. Organization-scoped assignments grant nothing application-wide (REFERENCE.md §5).
    public let applicationPermissions: Set<String>

    public init(identity: Identity, roles: [RoleAssignment], applicationPermissions: Set<String>) {
        self.identity = identity; self.roles = roles; self.applicationPermissions = applicationPermissions
    }

    /// Computes the application-wide permissions of `roles` from the application's role definitions.
    public static func permissions(of roles: [RoleAssignment], definitions: [Role]) -> Set<String> {
        var granted = Set<String>()
        for assignment in roles where assignment.organization == nil {
            if let role = definitions.first(where: { $0.id == assignment.role.lowercased() }) {
                granted.formUnion(role.permissions)
            }
        }
        return granted
    }
}
