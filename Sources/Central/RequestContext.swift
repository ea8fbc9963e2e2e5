import Foundation

/// Everything a handler needs about one request that passed routing, api-version, authentication and
/// authorization.
public struct RequestContext: Sendable {
    public let request: CentralRequest
    public let operation: Operation
    /// Path parameters by template name, e.g. `["userId": "abc"]`.
    public let parameters: [String: String]
    public let version: APIVersion
    public let application: Application
    /// The application's role definitions.
    public let roles: [Role]
    public let principal: Principal
    /// Where the principal may perform the operation (the whole application, or some organization subtrees).
    public let scope: AccessScope
    /// The request's time, Unix epoch milliseconds.
    public let now: Int64

    /// The path parameter `name` (always present for a matched template).
    public func parameter(_ name: String) -> String { parameters[name] ?? "" }

    /// The body as a JSON object.
    /// - Throws: 400 `BadRequest` when it is not JSON, 422 `InvalidBody` when it is JSON but not an object.
    public func jsonObjectBody() throws(CentralError) -> JSONValue {
        let value: JSONValue
        do {
            value = try JSONValue.parse(request.body)
        } catch {
            throw .badRequest(error.message)
        }
        guard case .object = value else {
            throw .invalidBody("The request body must be a JSON object, not \(value.kindDescription).")
        }
        return value
    }

    /// Refuses a body whose `Content-Type` media type is not among `accepted` (a missing header is accepted).
    /// - Throws: 415 `UnsupportedMediaType`.
    public func requireContentType(_ accepted: [String]) throws(CentralError) {
        guard let contentType = request.contentType else { return }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard accepted.contains(mediaType) else { throw .unsupportedMediaType(contentType, accepted: accepted) }
    }

    /// Validates the `roles` member of a body (spec definitions `Permission` and `RoleAssignment`).
    ///
    /// Refused with 422 `InvalidBody`: missing or not an array; empty (`minItems: 1`); more than 100 entries
    /// (assumed); an entry that is not an object; `role` missing or not a string; `organization` not a string, or
    /// present in an api-version without organizations; an organization role without an organization or an
    /// application role with one ("Manage users and roles in IoT Central"). Refused with 400 `InvalidBody`: a role
    /// or organization that does not exist. An assignment repeated exactly is kept once (assumed).
    public func roleAssignments(in body: JSONValue, store: CentralStore) throws(CentralError) -> [RoleAssignment] {
        guard let value = body["roles"], value != .null else { throw .invalidBody("The field 'roles' is required.") }
        guard let entries = value.arrayValue else {
            throw .invalidBody("The field 'roles' must be an array of role assignments, not \(value.kindDescription).")
        }
        guard !entries.isEmpty else { throw .invalidBody("The field 'roles' must contain at least one role assignment.") }
        guard entries.count <= 100 else { throw .invalidBody("The field 'roles' may contain at most 100 role assignments.") }
        var assignments: [RoleAssignment] = []
        for (index, entry) in entries.enumerated() {
            let field = "roles[\(index)]"
            guard case .object = entry else {
                throw .invalidBody("\(field) must be an object with 'role' and optionally 'organization', not \(entry.kindDescription).")
            }
            guard let roleValue = entry["role"], roleValue != .null else { throw .invalidBody("\(field).role is required.") }
            guard let roleID = roleValue.stringValue else {
                throw .invalidBody("\(field).role must be a string (a role id), not \(roleValue.kindDescription).")
            }
            guard let role = roles.first(where: { $0.id == roleID.lowercased() }) else {
                throw .missingReference("\(field).role: no role with id '\(roleID.clipped)' exists in this application.")
            }
            var organization: String?
            if let organizationValue = entry["organization"] {
                guard let text = organizationValue.stringValue else {
                    throw .invalidBody("\(field).organization must be a string (an organization id), not \(organizationValue.kindDescription).")
                }
                guard version.hasOrganizations else {
                    throw .invalidBody("\(field).organization is not supported in api-version \(version.rawValue).")
                }
                organization = text
            }
            switch (role.kind, organization) {
            case (.organization, nil):
                throw .invalidBody("\(field): the organization role '\(role.displayName)' needs an 'organization'.")
            case (.application, .some):
                throw .invalidBody("\(field): the application role '\(role.displayName)' cannot be limited to an organization.")
            case (.organization, .some(let id)):
                let exists: Bool
                do { exists = try store.organizationExists(appID: application.id, id: id) } catch {
                    throw CentralService.storeFailure(error)
                }
                guard exists else { throw .missingReference("\(field).organization: no organization with id '\(id.clipped)' exists.") }
            case (.application, nil):
                break
            }
            let assignment = RoleAssignment(role: role.id, organization: organization)
            if !assignments.contains(assignment) { assignments.append(assignment) }  // a repeat adds nothing
        }
        return assignments
    }

    /// Refuses (403) role assignments the caller may not give ("Manage users and roles in IoT Central"): for each, the caller must hold the
    /// operation's permission (`users.add`, `apiTokens.create`) at that assignment's organization (or
    /// application-wide for an application role), and every permission of the role there.
    public func authorizeGrant(_ assignments: [RoleAssignment], tree: OrganizationTree) throws(CentralError) {
        for assignment in assignments {
            let held = principal.permissions(at: assignment.organization, in: tree)
            let place = assignment.organization.map { "on the organization '\($0)'" } ?? "on the whole application"
            let role = roles.first { $0.id == assignment.role.lowercased() }
            let name = role?.displayName ?? assignment.role
            guard held.contains(operation.permission) else {
                throw .forbidden("granting the role '\(name)' \(place) needs the permission '\(operation.permission)' there, which the caller lacks.")
            }
            let missing = (role?.permissions ?? []).subtracting(held)
            guard missing.isEmpty else {
                throw .forbidden("the role '\(name)' holds permissions the caller lacks \(place) (\(missing.sorted().prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", ..." : "")); a caller may only grant roles within its own permissions.")
            }
        }
    }

    /// Refuses (403) to change or remove an item (a user) unless the caller could have granted every one of its
    /// role assignments: it holds the operation's permission at that place and every permission of the role there.
    /// So an organization-scoped caller never touches what lies outside its organizations, and no caller demotes
    /// or removes someone with more permissions than its own ("Manage users and roles in IoT Central").
    public func authorizeChange(of assignments: [RoleAssignment], tree: OrganizationTree, item: String) throws(CentralError) {
        for assignment in assignments {
            let held = principal.permissions(at: assignment.organization, in: tree)
            let place = assignment.organization.map { "the organization '\($0)'" } ?? "the whole application"
            guard held.contains(operation.permission) else {
                throw .forbidden("the \(item) has a role on \(place), outside \(scope.description) where the caller holds '\(operation.permission)'.")
            }
            let role = roles.first { $0.id == assignment.role.lowercased() }
            let missing = (role?.permissions ?? []).subtracting(held)
            guard missing.isEmpty else {
                throw .forbidden("the \(item) has the role '\(role?.displayName ?? assignment.role)' on \(place), which holds permissions the caller lacks there (\(missing.sorted().prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", ..." : "")); a caller may only change or remove users whose roles it could grant.")
            }
        }
    }

    /// An optional string member: nil when absent.
    /// - Throws: 422 when present as null or another JSON type.
    public func optionalString(_ name: String, in body: JSONValue) throws(CentralError) -> String? {
        // Absent is "not given"; null is a value the schema's `type: string` does not allow (a PATCH that means to
        // remove a member checks for null itself first).
        guard let value = body[name] else { return nil }
        guard let text = value.stringValue else {
            throw .invalidBody("The field '\(name)' must be a string, not \(value.kindDescription).")
        }
        return text
    }

    /// A required string member.
    /// - Throws: 422 when absent, null, empty, or of another JSON type.
    public func requiredString(_ name: String, in body: JSONValue, for what: String) throws(CentralError) -> String {
        guard let text = try optionalString(name, in: body) else {
            throw .invalidBody("The field '\(name)' is required for \(what).")
        }
        guard !text.isEmpty else { throw .invalidBody("The field '\(name)' must not be empty.") }
        return text
    }
}
