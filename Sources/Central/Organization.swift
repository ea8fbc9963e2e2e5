/// An organization of an application (spec definition `Organization`). In this version organizations come from
/// fixtures only, so role assignments can name them; their endpoints arrive with the organizations issue.
public struct Organization: Sendable, Equatable {
    public let id: String
    public let displayName: String
    /// The parent organization's id, or nil for a child of the root.
    public let parent: String?

    public init(id: String, displayName: String, parent: String? = nil) {
        self.id = id; self.displayName = displayName; self.parent = parent
    }
}
