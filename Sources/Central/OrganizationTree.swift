/// The organizations of one application as a tree (REFERENCE.md §4: an organization without a parent is a child
/// of the root). Built from a snapshot of the store; lookups are in memory.
public struct OrganizationTree: Sendable, Equatable {
    /// Parent by organization id (nil value: a child of the root).
    public let parents: [String: String?]
    /// The organizations in creation order.
    public let organizations: [Organization]

    public init(_ organizations: [Organization]) {
        self.organizations = organizations
        var parents: [String: String?] = [:]
        for organization in organizations { parents[organization.id] = organization.parent }
        self.parents = parents
    }

    public func contains(_ id: String) -> Bool { parents[id] != nil }

    /// `id`, then its parent, and so on up to a child of the root. Stops at an unknown id and at a repeat, so a
    /// damaged tree cannot loop.
    public func lineage(of id: String) -> [String] {
        var chain: [String] = []
        var current: String? = id
        while let node = current, !chain.contains(node) {
            chain.append(node)
            guard let parent = parents[node] else { break }
            current = parent
        }
        return chain
    }

    /// Whether `id` is `ancestor` or lies below it.
    public func isWithin(_ id: String, subtreeOf ancestor: String) -> Bool {
        lineage(of: id).contains(ancestor)
    }

    /// The direct children of `id`.
    public func children(of id: String) -> [String] {
        organizations.compactMap { $0.parent == id ? $0.id : nil }
    }
}
