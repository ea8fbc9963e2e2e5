/// Who is calling, once the `Authorization` header has been verified, and what its role assignments grant.
public struct Principal: Sendable, Equatable {
    /// How the caller proved who it is.
    public enum Identity: Sendable, Equatable {
        /// An API token of the application, by id ("Authenticate and authorize IoT Central REST API calls", form 1).
        case apiToken(id: String)
        /// An Entra ID identity ("Authenticate and authorize IoT Central REST API calls", form 2), with the ids of the app users it matched (none: 403).
        case bearer(tenantId: String, objectId: String, users: [String])
    }

    public let identity: Identity
    public let roles: [RoleAssignment]
    /// The permissions held on the whole application: the union over the assignments that name no organization.
    public let applicationPermissions: Set<String>
    /// The permissions held on each organization (and, through it, its descendants), by organization id: the
    /// union over the assignments that name it ("Manage users and roles in IoT Central", "org roles act only inside their organization's
    /// subtree").
    public let organizationPermissions: [String: Set<String>]
    /// `apiToken:<id>` or `bearer:<tenant>/<object>`, for the journal and the log (made once: principals are
    /// cached, and read on every request).
    public let description: String
    /// How the credential was read, for the decision trace.
    public let credential: CredentialTrace
    /// The application users a bearer caller matched (none for an API token).
    public let matchedUsers: [MatchedUser]
    /// The application user each assignment came through, parallel to `roles` (nil for an API token's).
    public let assignmentUsers: [String?]

    /// Computes the grants of `roles` from the application's role definitions; assignments naming an unknown role
    /// grant nothing.
    public init(identity: Identity, roles: [RoleAssignment], definitions: [Role], credential: CredentialTrace = CredentialTrace(),
                matchedUsers: [MatchedUser] = [], assignmentUsers: [String?]? = nil) {
        self.identity = identity
        self.roles = roles
        self.credential = credential
        self.matchedUsers = matchedUsers
        self.assignmentUsers = assignmentUsers ?? roles.map { _ in nil }
        self.description = switch identity {
        case .apiToken(let id): "apiToken:\(id)"
        case .bearer(let tenant, let object, _): "bearer:\(tenant)/\(object)"
        }
        var application = Set<String>()
        var organizations: [String: Set<String>] = [:]
        for assignment in roles {
            guard let role = definitions.first(where: { $0.id == assignment.role.lowercased() }) else { continue }
            if let organization = assignment.organization {
                organizations[organization, default: []].formUnion(role.permissions)
            } else {
                application.formUnion(role.permissions)
            }
        }
        self.applicationPermissions = application
        self.organizationPermissions = organizations
    }

    /// A person's name for the caller (`API token 'ci'`, a user principal name, a service principal's name).
    public var readableName: String { credential.readableName }

    /// Where the principal may perform `operation`: the whole application when an application-wide assignment
    /// grants its permission; else, for an operation of scope `.organization`, the organizations whose
    /// assignments grant it; else nil (403).
    public func scope(for operation: Operation) -> AccessScope? {
        scope(for: operation.permission, allowsOrganizations: operation.scope == .organization)
    }

    /// Where the principal holds `permission` (see `scope(for:)`).
    public func scope(for permission: String, allowsOrganizations: Bool = true) -> AccessScope? {
        if applicationPermissions.contains(permission) { return .application }
        guard allowsOrganizations else { return nil }
        let roots = Set(organizationPermissions.compactMap { $0.value.contains(permission) ? $0.key : nil })
        return roots.isEmpty ? nil : .organizations(roots)
    }

    /// The permissions held at `organization` (nil: the application itself): the application-wide ones plus
    /// those of assignments on the organization or any of its ancestors.
    public func permissions(at organization: String?, in tree: OrganizationTree) -> Set<String> {
        guard let organization else { return applicationPermissions }
        var granted = applicationPermissions
        for ancestor in tree.lineage(of: organization) {
            if let held = organizationPermissions[ancestor] { granted.formUnion(held) }
        }
        return granted
    }
}
