/// One operation of the IoT Central REST API: the row of the operation catalog that routing, api-version checks
/// and authorization all read (DESIGN.md, "the operation catalog is the spine").
public struct Operation: Sendable, Equatable {
    /// HTTP method, upper case.
    public let method: String
    /// Path template after `/api`, as in the spec: `/users/{userId}`.
    public let path: String
    /// The spec's operationId, e.g. `Users_Create`.
    public let operationID: String
    /// The permission a principal needs (a name from `fixtures/roles.json`).
    public let permission: String
    /// The api-versions in which the operation exists.
    public let versions: Set<APIVersion>

    /// The template's segments: literals (lower-cased, for matching), and `{name}` parameters.
    public let templateSegments: [String]

    public init(method: String, path: String, operationID: String, permission: String, versions: Set<APIVersion> = Set(APIVersion.allCases)) {
        self.method = method; self.path = path; self.operationID = operationID; self.permission = permission
        self.versions = versions
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
