import Foundation

/// Judging role assignments, and the what-if questions of the control plane: the same code path as a real call,
/// stopped before the operation runs.
extension CentralService {
    /// The verdict of each of `principal`'s role assignments on `operation`, and the one-line reason of the
    /// decision, naming the roles ("Manage users and roles in IoT Central": an assignment grants its role's
    /// permissions on the whole application, or, for an organization role, inside that organization and its
    /// children; operations of scope `.application` take application assignments only). The decision itself is
    /// `principal.scope(for: operation) != nil`, which these verdicts agree with.
    static func judge(_ principal: Principal, operation: Operation, roles: [Role]) -> (assignments: [AssignmentVerdict], reason: String) {
        let permission = operation.permission
        var verdicts: [AssignmentVerdict] = []
        for (index, assignment) in principal.roles.enumerated() {
            let role = roles.first { $0.id == assignment.role.lowercased() }
            let user = index < principal.assignmentUsers.count ? principal.assignmentUsers[index] : nil
            let grants: Bool
            let verdict: String
            if let role {
                switch (assignment.organization, role.permissions.contains(permission)) {
                case (nil, true):
                    (grants, verdict) = (true, "grants \(permission) on the whole application")
                case (_, false):
                    (grants, verdict) = (false, "lacks \(permission)")
                case (let organization?, true) where operation.scope == .application:
                    (grants, verdict) = (false, "holds \(permission) only inside '\(organization)': an organization role cannot grant \(operation.operationID), which acts on the whole application")
                case (let organization?, true):
                    (grants, verdict) = (true, "grants \(permission) inside '\(organization)' and its children")
                }
            } else {
                (grants, verdict) = (false, "the role \(assignment.role) no longer exists: it grants nothing")
            }
            verdicts.append(AssignmentVerdict(
                role: assignment.role, roleName: role?.displayName ?? assignment.role, organization: assignment.organization,
                user: user, grants: grants, verdict: verdict))
        }
        let granting = verdicts.filter(\.grants)
        if !granting.isEmpty {
            return (verdicts, "\(operation.operationID) needs '\(permission)': granted by \(granting.map(\.label).joined(separator: ", ")).")
        }
        if case .bearer(let tenant, let object, let users) = principal.identity, users.isEmpty {
            return (verdicts, "the identity \(principal.readableName) (tenant \(tenant), object \(object)) is not a user of this application.")
        }
        let needs = "\(operation.operationID) needs the permission '\(permission)'\(operation.scope == .application ? " on the whole application" : "")"
        let why = verdicts.map { "\($0.label) \($0.grants ? "grants it" : $0.verdict.hasPrefix("lacks") ? "lacks it" : "cannot: " + $0.verdict)" }
        return (verdicts, "\(needs), which none of the caller's role assignments grants: \(why.joined(separator: "; ")).")
    }

    /// The answer to "what would this request get?", computed as a real call would be up to the operation,
    /// without running it and without touching caches, throttling or fault injection.
    public struct WhatIf: Sendable {
        /// `allowed`, `denied`, `unauthenticated`, or `none` (refused before anyone was asked who called).
        public let decision: RequestOutcome.Decision
        /// The status the real call gets when what runs before the operation decides it (400, 401, 403, 404, 405,
        /// 501); nil when the operation would run: its own checks (the body, the item exists, an item outside the
        /// caller's organizations) then decide.
        public let status: Int?
        public let reason: String?
        public let operationID: String?
        public let trace: DecisionTrace?

        /// The answer for a caller whose credential does not authenticate: the 401 a real call gets.
        public static func unauthenticated(_ error: CentralError, credential: CredentialTrace, operationID: String? = nil) -> WhatIf {
            var trace = DecisionTrace()
            trace.credential = credential
            trace.credentialProblem = error.reason ?? error.message
            trace.decision = .unauthenticated
            trace.reason = trace.credentialProblem
            trace.operationID = operationID
            return WhatIf(decision: .unauthenticated, status: error.status, reason: trace.reason, operationID: operationID, trace: trace)
        }

        /// The answer routing gives `request` before anyone is asked who calls (404, 400, 405), or nil when it
        /// names an operation.
        public static func routingRefusal(_ request: CentralRequest) -> WhatIf? {
            var outcome = RequestOutcome()
            do {
                _ = try CentralService.route(request, outcome: &outcome)
                return nil
            } catch {
                return WhatIf(decision: .none, status: error.status, reason: error.reason ?? error.message, operationID: outcome.operationID, trace: nil)
            }
        }

        /// The answer for a request refused before anyone is asked who calls (a malformed or unknown path).
        public static func refused(_ error: CentralError) -> WhatIf {
            WhatIf(decision: .none, status: error.status, reason: error.reason ?? error.message, operationID: nil, trace: nil)
        }

        public var json: JSONValue {
            .object([
                ("decision", .string(decision.rawValue)), ("status", status.map { .number(Double($0)) } ?? .null),
                ("statusNote", .string(status == nil ? "the operation runs: its own checks (body, item, organization of the item) decide the status" : "decided before the operation runs")),
                ("operationId", operationID.map(JSONValue.string) ?? .null), ("reason", reason.map(JSONValue.string) ?? .null),
                ("trace", trace?.json ?? .null),
            ])
        }
    }

    /// What `request` would get from `application`, with the request's `Authorization` header, or as `principal`.
    public func whatIf(_ request: CentralRequest, application: Application, principal: Principal? = nil) -> WhatIf {
        var outcome = RequestOutcome()
        do {
            let decided = try decide(request, application: application, now: clock(), outcome: &outcome, caching: false, principal: principal)
            return WhatIf(decision: .allowed, status: decided.operation.isEmulated ? nil : 501, reason: outcome.reason,
                          operationID: outcome.operationID, trace: outcome.trace)
        } catch {
            let decision: RequestOutcome.Decision = switch error.status {
            case 401: .unauthenticated
            case 403: .denied
            default: .none
            }
            return WhatIf(decision: decision, status: error.status, reason: error.reason ?? error.message,
                          operationID: outcome.operationID, trace: outcome.trace)
        }
    }

    /// The principal an `Authorization` header value authenticates as, now, without caching it.
    /// - Throws: the 401 a real call with the header gets.
    public func authenticate(_ header: String, application: Application) throws(CentralError) -> Principal {
        let roles: [Role]
        do { roles = try store.roles(appID: application.id) } catch { throw Self.storeFailure(error) }
        return try authenticator.authenticate([header], application: application, roles: roles, now: clock()).0
    }

    /// The principal of the API token `id` of `application`, as its token string would authenticate now.
    /// - Throws: 401 as a real call with the token would get it: no such token, or expired.
    public func principal(ofAPIToken id: String, application: Application) throws(CentralError) -> Principal {
        let roles: [Role], token: APIToken?
        do {
            roles = try store.roles(appID: application.id)
            token = try store.apiToken(appID: application.id, id: id)
        } catch {
            throw Self.storeFailure(error)
        }
        guard let token else {
            throw .unauthenticated(because: "no API token with id '\(id.clipped)' exists in this application (deleted, reset, or never created).")
        }
        guard token.expiryMilliseconds > clock() else {
            throw .unauthenticated(because: "the API token '\(token.id.clipped)' expired at \(Timestamp.iso8601(milliseconds: token.expiryMilliseconds)).")
        }
        return Principal(identity: .apiToken(id: token.id), roles: token.roles, definitions: roles, credential: .apiToken(token))
    }

    /// The principal of a bearer caller who is exactly the application user `id` (an email user signed in, the
    /// service principal, or a member of the group who is no other user), or nil when no such user exists.
    public func principal(ofUser id: String, application: Application) throws(CentralError) -> Principal? {
        let roles: [Role], found: User?
        do {
            roles = try store.roles(appID: application.id)
            found = try store.user(appID: application.id, id: id)
        } catch {
            throw Self.storeFailure(error)
        }
        guard let user = found else { return nil }
        var credential = CredentialTrace(scheme: "Bearer")
        credential.tenantId = user.tenantId
        switch user.type {
        case .email:
            credential.principalName = user.email
        case .servicePrincipal:
            credential.objectId = user.objectId
            credential.name = "service principal '\(user.id)'"
        case .adGroup:
            // A group does not sign in: the caller is a member whose token lists the group.
            credential.groups = user.objectId.map { [$0] } ?? []
            credential.name = "a member of the group '\(user.id)'"
        }
        let matchedBy = user.type == .email ? "email" : user.type == .servicePrincipal ? "tenant and object id" : "group membership"
        return Principal(
            identity: .bearer(tenantId: user.tenantId ?? "", objectId: user.objectId ?? user.id, users: [user.id]), roles: user.roles,
            definitions: roles, credential: credential,
            matchedUsers: [MatchedUser(id: user.id, type: user.type, name: user.email ?? user.objectId ?? user.id, matchedBy: matchedBy)],
            assignmentUsers: user.roles.map { _ in user.id })
    }

    /// Each operation of `version` with the decision `principal` gets: `allowed` (on the whole application),
    /// `organization` (inside the organizations of its organization roles) or `denied`, and the status the real
    /// call gets when that is decided before the operation runs.
    public func accessMatrix(of principal: Principal, application: Application, version: APIVersion) throws(CentralError) -> JSONValue {
        let roles: [Role]
        do { roles = try store.roles(appID: application.id) } catch { throw Self.storeFailure(error) }
        let rows: [JSONValue] = OperationCatalog.operations.filter { $0.versions.contains(version) }.map { operation in
            let scope = principal.scope(for: operation)
            let judged = Self.judge(principal, operation: operation, roles: roles)
            let access = switch scope {
            case .application?: "allowed"
            case .organizations?: "organization"
            case nil: "denied"
            }
            let status: JSONValue = scope == nil ? .number(403) : operation.isEmulated ? .null : .number(501)
            return .object([
                ("operationId", .string(operation.operationID)), ("method", .string(operation.method)), ("path", .string(operation.path)),
                ("permission", .string(operation.permission)), ("scope", .string(operation.scope.rawValue)),
                ("access", .string(access)), ("status", status), ("emulated", .bool(operation.isEmulated)), ("reason", .string(judged.reason)),
            ])
        }
        return .object([
            ("apiVersion", .string(version.rawValue)), ("principal", .string(principal.readableName)),
            ("credential", principal.credential.json), ("matchedUsers", .array(principal.matchedUsers.map(\.json))),
            ("operations", .array(rows)),
        ])
    }

    /// Every role of the application against every operation of `version`: for each operation, whether an
    /// assignment of the role on the whole application grants it (`allowed`), an assignment on an organization
    /// does (`organization`), or neither (`denied`). Custom roles included.
    public func roleMatrix(application: Application, version: APIVersion) throws(CentralError) -> JSONValue {
        let roles: [Role]
        do { roles = try store.roles(appID: application.id) } catch { throw Self.storeFailure(error) }
        let operations = OperationCatalog.operations.filter { $0.versions.contains(version) }
        return .object([
            ("apiVersion", .string(version.rawValue)),
            ("roles", .array(roles.map { role in
                .object([("id", .string(role.id)), ("displayName", .string(role.displayName)), ("kind", .string(role.kind.rawValue)),
                         ("builtIn", .bool(role.isBuiltIn))])
            })),
            ("operations", .array(operations.map { operation in
                let cells: [JSONValue] = roles.map { role in
                    guard role.permissions.contains(operation.permission) else { return .string("denied") }
                    if role.kind == .application { return .string("allowed") }
                    return .string(operation.scope == .organization ? "organization" : "denied")
                }
                return .object([
                    ("operationId", .string(operation.operationID)), ("method", .string(operation.method)), ("path", .string(operation.path)),
                    ("permission", .string(operation.permission)), ("scope", .string(operation.scope.rawValue)),
                    ("emulated", .bool(operation.isEmulated)), ("access", .array(cells)),
                ])
            })),
        ])
    }
}
