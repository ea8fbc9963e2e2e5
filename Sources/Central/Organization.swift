/// An organization of an application (spec definition `Organization`; the 2022-07-31 spec).
public struct Organization: Sendable, Equatable {
    /// `^(?!-)[a-z0-9-]{1,48}[a-z0-9]$`.
    public let id: String
    public let displayName: String
    /// The parent organization's id, or nil for a child of the root.
    public let parent: String?

    public init(id: String, displayName: String, parent: String? = nil) {
        self.id = id; self.displayName = displayName; self.parent = parent
    }

    /// The response shape: `{"id", "displayName", "parent"?}` (no `parent` for a child of the root, as in the
    /// spec's organizations_list example).
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("id", .string(id)), ("displayName", .string(displayName))]
        if let parent { members.append(("parent", .string(parent))) }
        return .object(members)
    }
}
