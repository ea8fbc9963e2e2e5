/// The organizations of one application as a tree (the 2022-07-31 spec: an organization without a parent is a child
/// of the root). Built from a snapshot of the store; lookups are in memory.
public struct OrganizationTree: Sendable, Equatable {
    /// Parent by organization id (nil value: a child of the root).
    public let parents: [String: String?]
    /// The organizations in creation order.
    public let organizations: [Organization]
    /// Children by organization id.
    private let childrenByParent: [String: [String]]

    public init(_ organizations: [Organization]) {
        self.organizations = organizations
        var parents: [String: String?] = [:]
        var children: [String: [String]] = [:]
        for organization in organizations {
            parents[organization.id] = organization.parent
            if let parent = organization.parent { children[parent, default: []].append(organization.id) }
        }
        self.parents = parents
        self.childrenByParent = children
    }

    public func contains(_ id: String) -> Bool { parents[id] != nil }

    /// `id`, then its parent, and so on up to a child of the root. Stops at an unknown id and at a repeat, so a
    /// damaged tree cannot loop.
    public func lineage(of id: String) -> [String] {
        var chain: [String] = []
        var seen = Set<String>()
        var current: String? = id
        while let node = current, seen.insert(node).inserted {
            chain.append(node)
            guard let parent = parents[node] else { break }
            current = parent
        }
        return chain
    }

    /// `roots` and every organization below them, in one pass over the tree (time linear in its size).
    public func subtrees(of roots: Set<String>) -> Set<String> {
        var found = Set<String>()
        var pending = Array(roots.filter(contains))
        while let node = pending.popLast() {
            guard found.insert(node).inserted else { continue }
            pending += childrenByParent[node] ?? []
        }
        return found
    }

    /// Whether `id` is `ancestor` or lies below it.
    public func isWithin(_ id: String, subtreeOf ancestor: String) -> Bool {
        lineage(of: id).contains(ancestor)
    }
}
