/// A role of an application: built-in ("Manage users and roles in IoT Central") or custom, defined in `fixtures/roles.json` or an app
/// fixture. What a role allows is data: a set of permission names, never a comparison with a role's name.
public struct Role: Sendable, Equatable {
    /// Whether a role is assigned on the whole application or on one organization ("Manage users and roles in IoT Central").
    public enum Kind: String, Sendable, Equatable {
        case application
        case organization
    }

    /// The built-in Administrator role, of which at least one user must keep an application-wide assignment
    /// ("Manage users and roles in IoT Central").
    public static let administratorID = "ca310b8d-2f4a-44e0-a36e-957c202cd8d4"

    /// The role's GUID, e.g. `ca310b8d-2f4a-44e0-a36e-957c202cd8d4` for Administrator.
    public let id: String
    public let displayName: String
    public let kind: Kind
    /// True for the six roles every application has.
    public let isBuiltIn: Bool
    /// Permission names such as `apiTokens.create` (the catalog is in `fixtures/roles.json`).
    public let permissions: Set<String>

    public init(id: String, displayName: String, kind: Kind, isBuiltIn: Bool, permissions: Set<String>) {
        self.id = id; self.displayName = displayName; self.kind = kind; self.isBuiltIn = isBuiltIn
        self.permissions = permissions
    }

    /// The response shape of spec definition `Role`: `{"id", "displayName"}`.
    public var json: JSONValue { .object([("id", .string(id)), ("displayName", .string(displayName))]) }
}
