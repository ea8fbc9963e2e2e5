/// One operation of the IoT Central REST API: the row of the operation catalog that routing, api-version checks,
/// authorization, the permissions document and the role × operation test all read, so that they cannot drift apart.
public struct Operation: Sendable, Equatable {
    /// Which role assignments can authorize an operation.
    public enum Scope: String, Sendable, Equatable {
        /// Only assignments on the whole application (no `organization`): API tokens, enrollment groups, file
        /// uploads, data export, and changes to device templates and deployment manifests ("Manage users and roles in IoT Central":
        /// "organization users cannot use API tokens at all"; the rest assumed, docs/fidelity.md).
        case application
        /// Also an organization role assignment; the operation then acts inside that organization's subtree.
        case organization
    }

    /// HTTP method, upper case.
    public let method: String
    /// Path template after `/api`, as in the spec: `/users/{userId}`.
    public let path: String
    /// The spec's operationId, e.g. `Users_Create`.
    public let operationID: String
    /// The permission a principal needs (a name from `fixtures/roles.json`).
    public let permission: String
    /// The api-versions in which the operation exists: from the official specs' per-version table
    /// (`OperationVersions`, generated).
    public let versions: Set<APIVersion>
    public let scope: Scope
    /// Whether the mock implements the operation; the others answer 501 after authorization.
    public let isEmulated: Bool

    /// The template's segments: literals (lower-cased, for matching), and `{name}` parameters.
    public let templateSegments: [String]

    public init(
        _ method: String, _ path: String, _ operationID: String, _ permission: String,
        versions: Set<APIVersion>? = nil, scope: Scope = .organization, isEmulated: Bool = false
    ) {
        self.method = method; self.path = path; self.operationID = operationID; self.permission = permission
        self.versions = versions ?? OperationVersions.table[operationID] ?? []; self.scope = scope; self.isEmulated = isEmulated
        self.templateSegments = path.split(separator: "/").map { part in
            part.hasPrefix("{") ? String(part) : part.lowercased()
        }
    }

    /// The path parameters if `segments` match the template, else nil. Literals compare case-insensitively
    /// (assumed, docs/fidelity.md).
    public func match(_ segments: [String]) -> [String: String]? {
        let template = templateSegments
        guard template.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (part, segment) in zip(template, segments) {
            if part.hasPrefix("{") && part.hasSuffix("}") {
                parameters[String(part.dropFirst().dropLast())] = segment
            } else if part != segment && part != segment.lowercased() {
                return nil
            }
        }
        return parameters
    }
}
