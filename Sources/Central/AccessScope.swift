/// Where an authorized operation may act ("Manage users and roles in IoT Central"): the whole application, or the subtrees of some
/// organizations (an organization role assignment covers its organization and every descendant, never a sibling
/// or an ancestor).
public enum AccessScope: Sendable, Equatable {
    case application
    /// The organization ids whose subtrees are covered.
    case organizations(Set<String>)

    /// Whether an item of `organization` lies inside the scope. An item of the application itself (nil) lies only
    /// inside `.application`.
    public func contains(_ organization: String?, in tree: OrganizationTree) -> Bool {
        switch self {
        case .application: return true
        case .organizations(let roots):
            guard let organization else { return false }
            return tree.lineage(of: organization).contains { roots.contains($0) }
        }
    }

    /// The organizations inside the scope, or nil for the whole application (everything).
    public func organizations(in tree: OrganizationTree) -> Set<String>? {
        switch self {
        case .application: nil
        case .organizations(let roots): tree.subtrees(of: roots)
        }
    }

    /// Whether any of `assignments` names one of `organizations` (from `organizations(in:)`; nil: the whole
    /// application, which holds everything). An item belongs to every organization its role assignments name.
    public static func containsAny(of assignments: [RoleAssignment], in organizations: Set<String>?) -> Bool {
        guard let organizations else { return true }
        return assignments.contains { $0.organization.map(organizations.contains) ?? false }
    }

    /// A phrase for error messages: "the whole application" or "the organizations a, b".
    public var description: String {
        switch self {
        case .application: "the whole application"
        case .organizations(let roots): "the organization\(roots.count == 1 ? "" : "s") \(roots.sorted().map { "'\($0)'" }.joined(separator: ", ")) and below"
        }
    }
}
