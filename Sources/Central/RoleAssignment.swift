/// One entry of the `roles` array of a user or API token (spec definition `RoleAssignment`):
/// a role id, and the organization it applies to when the role is an organization role.
public struct RoleAssignment: Sendable, Equatable, Hashable {
    public let role: String
    public let organization: String?

    public init(role: String, organization: String? = nil) {
        self.role = role; self.organization = organization
    }

    /// `{"role": ..., "organization": ...}`, without `organization` when there is none.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("role", .string(role))]
        if let organization { members.append(("organization", .string(organization))) }
        return .object(members)
    }

    /// Whether `version` can express this assignment: one that names an organization does not exist in the versions
    /// without organizations (`1.0`, `2021-04-30-preview`), whose `RoleAssignment` has only `role`. Their answers
    /// leave it out, and their writes keep it as it is.
    public func exists(in version: APIVersion) -> Bool { organization == nil || version.hasOrganizations }

    /// Reads an array of assignments stored by `json`; entries that are not assignments are dropped.
    public static func list(from value: JSONValue) -> [RoleAssignment] {
        (value.arrayValue ?? []).compactMap { entry in
            guard let role = entry["role"]?.stringValue else { return nil }
            return RoleAssignment(role: role, organization: entry["organization"]?.stringValue)
        }
    }

    /// Serialized text of a list, as the store keeps it.
    public static func serialize(_ list: [RoleAssignment]) -> String {
        String(decoding: JSONValue.array(list.map(\.json)).serialized, as: UTF8.self)
    }
}
