import Foundation
import Synchronization
import Storage

/// IoT Central's REST API for one request at a time: routing through the `OperationCatalog`, api-version,
/// authentication, authorization, the handler, and one rendering of every error as the envelope of
/// the spec's Error definition. Safe to call from many threads at once.
public final class CentralService: Sendable {
    public let store: CentralStore
    /// Items per page of a list before a `nextLink` is given (assumed: 100, docs/fidelity.md).
    public let pageSize: Int
    /// The current time in Unix epoch milliseconds.
    public let clock: @Sendable () -> Int64
    /// The rules every user write keeps: the last Administrator and the cap on role assignments.
    public let userRules: CentralStore.UserRules
    let authenticator: Authenticator
    let cache = PrincipalCache()
    /// The time of each application's next job turn (`catchUpJobs`; absent: not known, look at the jobs), and how
    /// many times its jobs changed, so a look that began before a change does not record a stale time.
    let nextJobTurn = Mutex<(next: [String: Int64], changes: Int)>(([:], 0))
    /// Held while job turns are carried out, so two requests never carry out one turn twice.
    let jobTurns = Mutex<Int>(0)

    /// The response header that carries the request id on every response (assumed name, docs/fidelity.md).
    public static let requestIDHeader = "x-ms-request-id"
    /// The mock's own response header on a 401 or 403 that says which check failed (emulator convention).
    public static let reasonHeader = "x-iotc-mock-reason"

    /// - Parameter bearerVerifier: verifies Entra ID bearer tokens; nil refuses every bearer token with 401.
    /// - Parameter maxRoleAssignments: the most role assignments the users of one application may hold together
    ///   ("Manage users and roles in IoT Central" mentions a cap; 200 assumed, docs/fidelity.md).
    public init(store: CentralStore, pageSize: Int = 100, clock: @escaping @Sendable () -> Int64 = Timestamp.nowMilliseconds,
                bearerVerifier: BearerVerifier? = nil, maxRoleAssignments: Int = 200) {
        self.store = store
        self.userRules = CentralStore.UserRules(maxRoleAssignments: max(1, maxRoleAssignments))
        self.pageSize = max(1, pageSize)
        self.clock = clock
        self.authenticator = Authenticator(store: store, bearerVerifier: bearerVerifier)
    }

    /// Forgets the cached principals and roles, after the control plane replaced or deleted an application.
    public func invalidateCaches() {
        cache.invalidate()
        nextJobTurn.withLock {
            $0.next.removeAll()
            $0.changes += 1
        }
    }

    /// A handler's answer: a status and an optional JSON body.
    struct Reply {
        var status: Int
        var body: JSONValue?
    }

    /// Answers one request to `application`. Never throws: every failure becomes an error envelope.
    public func handle(_ request: CentralRequest, application: Application) -> CentralResponse {
        let requestID = Crypto.uuid()
        let now = clock()
        var outcome = RequestOutcome()
        do {
            let reply = try process(request, application: application, now: now, outcome: &outcome)
            var headers = [(Self.requestIDHeader, requestID)]
            var body: [UInt8] = []
            if let json = reply.body {
                headers.append(("Content-Type", "application/json; charset=utf-8"))
                body = json.serialized
            }
            return CentralResponse(status: reply.status, headers: headers, body: body, outcome: outcome)
        } catch {
            switch error.status {
            case 401: outcome.decision = .unauthenticated
            case 403:
                outcome.decision = .denied
                if outcome.trace?.decision == .allowed {
                    // Authorization let it through; the operation's own rule (an item outside the caller's
                    // organizations, a role the caller may not grant) refused it.
                    outcome.trace?.decision = .denied
                    outcome.trace?.operationRefusal = error.reason
                    outcome.trace?.reason = error.reason
                }
            default: break
            }
            outcome.reason = error.reason ?? error.message
            var response = render(error, requestID: requestID, now: now)
            response.outcome = outcome
            return response
        }
    }

    /// Renders `error` as the IoT Central error envelope with a fresh request id (also for errors found by the
    /// HTTP layer before Central saw the request).
    public func errorResponse(_ error: CentralError) -> CentralResponse {
        render(error, requestID: Crypto.uuid(), now: clock())
    }

    /// The sentence every real error message ends with (the spec's Error definition).
    public static func supportSentence(requestID: String, time: String) -> String {
        "You can contact support at https://aka.ms/iotcentral-support. Please include the following information. Request ID: \(requestID), Time: \(time)."
    }

    private func render(_ error: CentralError, requestID: String, now: Int64) -> CentralResponse {
        let time = Timestamp.rfc1123(milliseconds: now)
        let envelope = JSONValue.object([
            ("error", .object([
                ("code", .string(error.code)),
                ("message", .string("\(error.message) \(Self.supportSentence(requestID: requestID, time: time))")),
                ("requestId", .string(requestID)),
                ("time", .string(time)),
            ]))
        ])
        var headers = [
            (Self.requestIDHeader, requestID), ("x-ms-error-code", error.code),
            ("Content-Type", "application/json; charset=utf-8"),
        ]
        if error.status == 401 {
            let challenge = authenticator.bearerVerifier == nil ? SharedAccessSignature.scheme : "\(SharedAccessSignature.scheme), Bearer"
            headers.append(("WWW-Authenticate", challenge))
        }
        if let reason = error.reason { headers.append((Self.reasonHeader, Self.headerSafe(reason))) }
        headers += error.headers
        return CentralResponse(status: error.status, headers: headers, body: envelope.serialized)
    }

    /// `text` as a header value: control and non-ASCII characters become `?`, at most 512 bytes.
    public static func headerSafe(_ text: String) -> String {
        String(decoding: text.utf8.prefix(512).map { $0 < 0x20 || $0 >= 0x7F ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }

    private func process(_ request: CentralRequest, application: Application, now: Int64, outcome: inout RequestOutcome) throws(CentralError) -> Reply {
        let decided = try decide(request, application: application, now: now, outcome: &outcome, caching: true)
        guard decided.operation.isEmulated else { throw .notImplemented(decided.operation.operationID) }
        // Time has passed for the application's jobs too: their turns due by now come before this request.
        do { try catchUpJobs(appID: application.id, now: now) } catch { throw Self.storeFailure(error) }
        let context = RequestContext(
            request: request, operation: decided.operation, parameters: decided.parameters, version: decided.version,
            application: application, roles: decided.roles, principal: decided.principal, scope: decided.scope, now: now)
        do {
            return try dispatch(context)
        } catch let error as CentralError {
            throw error
        } catch {
            throw Self.storeFailure(error)
        }
    }

    /// The operation `request` names: the path in any version, then the api-version, then the method and path in
    /// that version.
    /// - Throws: 404 (no such path, or not in this version), 400 (api-version), 405 (method).
    static func route(_ request: CentralRequest, outcome: inout RequestOutcome) throws(CentralError) -> (Operation, [String: String], APIVersion) {
        let path = "/api/" + request.pathSegments.joined(separator: "/")
        guard OperationCatalog.hasPath(request.pathSegments) else { throw .noSuchPath(path) }
        let version = try Self.apiVersion(request.queryValues("api-version"))
        switch OperationCatalog.match(method: request.method, segments: request.pathSegments, version: version) {
        case .noSuchPath:
            throw .noSuchPath(path)
        case .notInVersion(let other?):
            outcome.operationID = other.operationID
            throw .operationNotInVersion(other.operationID, version: version.rawValue)
        case .notInVersion(nil):
            throw .noOperationInVersion(request.method, path: path, version: version.rawValue)
        case .methodNotAllowed(let allowed):
            throw .methodNotAllowed(request.method, allowed: allowed)
        case .operation(let operation, let parameters):
            return (operation, parameters, version)
        }
    }

    /// What routing, the api-version check, authentication and authorization decided about a request that passed them.
    struct Decided {
        let operation: Operation
        let parameters: [String: String]
        let version: APIVersion
        let roles: [Role]
        let principal: Principal
        let scope: AccessScope
    }

    /// Everything before the operation's handler, in the order the real service applies it: the path in any
    /// version, the api-version, the method and path in that version, the credential (or `principal`, for a
    /// what-if that names a token or user instead), then the role assignments. Fills `outcome` and its trace as it
    /// goes; changes nothing but, when `caching`, the principal cache.
    /// - Throws: the error the request is answered with (404, 400, 405, 401, 403).
    func decide(_ request: CentralRequest, application: Application, now: Int64, outcome: inout RequestOutcome,
                caching: Bool, principal given: Principal? = nil) throws(CentralError) -> Decided {
        let (operation, parameters, version) = try Self.route(request, outcome: &outcome)
        outcome.operationID = operation.operationID
        outcome.permission = operation.permission
        var trace = DecisionTrace()
        trace.operationID = operation.operationID
        trace.permission = operation.permission
        trace.scopeRule = operation.scope

        let roles: [Role]
        do { roles = try cache.roles(applicationID: application.id) { try store.roles(appID: application.id) } } catch {
            throw Self.storeFailure(error)
        }
        let principal: Principal
        if let given {
            principal = given
        } else if request.authorization.count == 1, let header = request.authorization.first,
                  let cached = cache.principal(for: header, applicationID: application.id, now: now) {
            principal = cached
        } else {
            do {
                let (verified, expiry) = try authenticator.authenticate(request.authorization, application: application, roles: roles, now: now)
                if caching, let header = request.authorization.first {
                    cache.store(verified, for: header, applicationID: application.id, expiryMilliseconds: expiry)
                }
                principal = verified
            } catch {
                trace.credential = .read(request.authorization.first)
                trace.credentialProblem = error.reason ?? error.message
                trace.decision = .unauthenticated
                trace.reason = trace.credentialProblem
                outcome.trace = trace
                // Who the header claims to be, so a token's 401s can be found by its name; marked as a claim, since a
                // forged token can name anyone.
                if let credential = trace.credential, credential.tokenID != nil || credential.principalName != nil || credential.objectId != nil {
                    outcome.principalName = credential.readableName + " (claimed, not verified)"
                }
                throw error
            }
        }
        outcome.principal = principal.description
        outcome.principalName = principal.readableName
        let judged = Self.judge(principal, operation: operation, roles: roles)
        trace.credential = principal.credential
        trace.matchedUsers = principal.matchedUsers
        trace.assignments = judged.assignments
        trace.reason = judged.reason
        guard let scope = principal.scope(for: operation) else {
            trace.decision = .denied
            outcome.trace = trace
            throw .forbidden(judged.reason)
        }
        trace.decision = .allowed
        outcome.trace = trace
        outcome.decision = .allowed
        outcome.reason = judged.reason
        return Decided(operation: operation, parameters: parameters, version: version, roles: roles, principal: principal, scope: scope)
    }

    /// A 503 when the data folder cannot keep writes (its files lost, or the disk full or failing: the operator's
    /// log says so once per episode), a 404 for an application deleted meanwhile, else a 500 for a failure of the
    /// store: the client gets SQLite's reason without any SQL; the full error goes to standard error for the operator.
    static func storeFailure(_ error: any Error) -> CentralError {
        if let lost = error as? SQLiteDatabase.FileProblem {
            let fix = lost.recovers ? "free some space (or repair the disk) and retry" : "restart it on a usable data folder"
            return CentralError(
                status: 503, code: "ServiceUnavailable",
                message: "The mock cannot store anything: \(lost.description). Nothing was changed; \(fix).")
        }
        if let sqlite = error as? SQLiteError, sqlite.code == 787 {  // SQLITE_CONSTRAINT_FOREIGNKEY
            // The application was deleted (through the control plane) while this request ran.
            return CentralError(status: 404, code: "NotFound", message: "The application was deleted while the request ran; nothing was changed.")
        }
        FileHandle.standardError.write(Data("iotc-mock: store failure: \(error)\n".utf8))
        let reason = (error as? SQLiteError)?.message ?? "an unexpected error"
        return .internalError("The mock's store could not complete the request (\(reason)); nothing was changed.")
    }

    /// The api-version of a request: exactly one known value (a value repeated identically counts once, as
    /// clients that re-add it to a `nextLink` send it; the 2022-07-31 spec).
    static func apiVersion(_ values: [String]) throws(CentralError) -> APIVersion {
        guard let first = values.first else { throw .invalidAPIVersion(nil) }
        guard values.allSatisfy({ $0 == first }) else { throw .invalidAPIVersion(values.joined(separator: ",")) }
        guard let version = APIVersion(named: first) else { throw .invalidAPIVersion(first) }
        return version
    }

    private func dispatch(_ context: RequestContext) throws -> Reply {
        switch context.operation.operationID {
        case "ApiTokens_List": try listAPITokens(context)
        case "ApiTokens_Get": try getAPIToken(context)
        case "ApiTokens_Create": try createAPIToken(context)
        case "ApiTokens_Remove": try removeAPIToken(context)
        case "Users_List": try listUsers(context)
        case "Users_Get": try getUser(context)
        case "Users_Create": try createUser(context)
        case "Users_Update": try updateUser(context)
        case "Users_Remove": try removeUser(context)
        case "Roles_List": listRoles(context)
        case "Roles_Get": try getRole(context)
        case "Organizations_List": try listOrganizations(context)
        case "Organizations_Get": try getOrganization(context)
        case "Organizations_Create": try createOrganization(context)
        case "Organizations_Update": try updateOrganization(context)
        case "Organizations_Remove": try removeOrganization(context)
        case "DeviceTemplates_List": try listDeviceTemplates(context)
        case "DeviceTemplates_Get", "DeviceTemplates_GetMerged": try getDeviceTemplate(context)
        case "DeviceTemplates_Create": try createDeviceTemplate(context)
        case "DeviceTemplates_Update": try updateDeviceTemplate(context)
        case "DeviceTemplates_Remove": try removeDeviceTemplate(context)
        case "DeviceTemplates_ListDevices": try listTemplateDevices(context)
        case "Devices_List": try listDevices(context)
        case "Devices_Get": try getDevice(context)
        case "Devices_Create": try createDevice(context)
        case "Devices_Update": try updateDevice(context)
        case "Devices_Remove": try removeDevice(context)
        case "Devices_ListComponents": try listComponents(context)
        case "Devices_GetAttestation": try getAttestation(context)
        case "Devices_CreateAttestation": try createAttestation(context)
        case "Devices_UpdateAttestation": try updateAttestation(context)
        case "Devices_RemoveAttestation": try removeAttestation(context)
        case "Devices_GetCredentials": try getCredentials(context)
        case "FileUploads_Get": try getFileUpload(context)
        case "FileUploads_Create": try createFileUpload(context)
        case "FileUploads_Update": try updateFileUpload(context)
        case "FileUploads_Remove": try removeFileUpload(context)
        case "DeviceGroups_GetDevices": try listDeviceGroupDevices(context)
        case "Devices_GetProperties", "Devices_GetComponentProperties", "Devices_GetModuleProperties", "Devices_GetModuleComponentProperties":
            try getProperties(context)
        case "Devices_ReplaceProperties", "Devices_ReplaceComponentProperties", "Devices_ReplaceModuleProperties",
             "Devices_ReplaceModuleComponentProperties":
            try setProperties(context, replacing: true)
        case "Devices_UpdateProperties", "Devices_UpdateComponentProperties", "Devices_UpdateModuleProperties",
             "Devices_UpdateModuleComponentProperties":
            try setProperties(context, replacing: false)
        case "Devices_GetTelemetryValue", "Devices_GetComponentTelemetryValue", "Devices_GetModuleTelemetryValue",
             "Devices_GetModuleComponentTelemetryValue":
            try getTelemetry(context)
        case "Devices_RunCommand", "Devices_RunComponentCommand", "Devices_RunModuleCommand", "Devices_RunModuleComponentCommand":
            try runCommand(context)
        case "Devices_GetCommandHistory", "Devices_GetComponentCommandHistory", "Devices_GetModuleCommandHistory",
             "Devices_GetModuleComponentCommandHistory":
            try commandHistory(context)
        case "Devices_GetCloudProperties": try getCloudProperties(context)
        case "Devices_ReplaceCloudProperties": try setCloudProperties(context, replacing: true)
        case "Devices_UpdateCloudProperties": try setCloudProperties(context, replacing: false)
        case "Query_Run": try runQuery(context)
        case "Devices_ListModules": try listModules(context)
        case "Devices_ListModuleComponents": try listModuleComponents(context)
        case "Devices_ApplyManifest": try applyDeploymentManifest(context)
        case "Destinations_ListExports": try listDestinationExports(context)
        case "Exports_ListDestinations": try listExportDestinations(context)
        case "EnrollmentGroups_GetX509": try getGroupCertificate(context)
        case "EnrollmentGroups_CreateX509": try createGroupCertificate(context)
        case "EnrollmentGroups_RemoveX509": try removeGroupCertificate(context)
        case "EnrollmentGroups_GenerateVerificationCodeX509": try generateVerificationCode(context)
        case "EnrollmentGroups_VerifyX509": try verifyGroupCertificate(context)
        case "Devices_ListRelationships", "Devices_GetRelationship", "Devices_CreateRelationship", "Devices_UpdateRelationship",
             "Devices_RemoveRelationship": try relationshipOperation(context)
        case "Jobs_GetDevices": try listJobDevices(context)
        case "Jobs_Stop": try stopJob(context)
        case "Jobs_Resume": try resumeJob(context)
        case "Jobs_Rerun": try rerunJob(context)
        case "ScheduledJobs_ListJobs": try listScheduledJobJobs(context)
        default: try documentOperation(context)
        }
    }

    /// The operations of `documentFamilies`: `{Family}_List`, `_Get`, `_Create`, `_Update` and `_Remove`.
    private func documentOperation(_ context: RequestContext) throws -> Reply {
        let parts = context.operation.operationID.split(separator: "_", maxSplits: 1).map(String.init)
        guard parts.count == 2, let (kind, rules) = documentFamilies[parts[0]] else {
            throw CentralError.internalError("No handler for \(context.operation.operationID).")
        }
        switch parts[1] {
        case "List": return try listDocuments(kind, context, rules: rules)
        case "Get": return try getDocument(kind, context, rules: rules)
        case "Create": return try putDocument(kind, context, rules: rules)
        case "Update": return try patchDocument(kind, context, rules: rules)
        case "Remove": return try removeDocument(kind, context, rules: rules)
        default: throw CentralError.internalError("No handler for \(context.operation.operationID).")
        }
    }

    /// The resources served by the shared document handlers (`CentralService+Documents.swift`), by the first part
    /// of their operationIds: `Dashboards_List`, `_Get`, `_Create`, `_Update` and `_Remove` go to `listDocuments`, ...
    private var documentFamilies: [String: (DocumentKind, DocumentRules)] {
        [
            "Dashboards": (Self.dashboards, dashboardRules), "DeploymentManifests": (Self.deploymentManifests, DocumentRules()),
            "Destinations": (Self.destinations, destinationRules), "Exports": (Self.exports, exportRules),
            "EnrollmentGroups": (Self.enrollmentGroups, enrollmentGroupRules), "Jobs": (Self.jobs, jobRules),
            "ScheduledJobs": (Self.scheduledJobs, scheduledJobRules), "DeviceGroups": (Self.deviceGroups, deviceGroupRules),
            "ContinuousDataExports": (Self.continuousDataExports, continuousDataExportRules),
        ]
    }

    // MARK: Paging (the 2022-07-31 spec: `{"value": [...], "nextLink": absolute URL}`, no nextLink on the last page)

    /// The cursor and page size a list request asks for.
    /// - Throws: 400 for a `$skiptoken` that is not one the mock issued, or a `maxpagesize` outside 1...100.
    func pageRequest(_ context: RequestContext, allowsMaxPageSize: Bool) throws(CentralError) -> (after: Int64, limit: Int) {
        var after: Int64 = 0
        for name in ["$skiptoken"] + (allowsMaxPageSize ? ["maxpagesize"] : []) where Set(context.request.queryValues(name)).count > 1 {
            throw .badRequest("The parameter \(name) is given more than once with different values.")
        }
        if let token = context.request.queryValues("$skiptoken").last {
            guard token.utf8.count <= 18, token.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int64(token) else {
                throw .badRequest("The $skiptoken '\(token.clipped)' is not valid; use the nextLink of the previous page as it is.")
            }
            after = value
        }
        var limit = pageSize
        // A query parameter the operation does not declare in this version is ignored, as every other one is.
        if allowsMaxPageSize, let text = context.request.queryValues("maxpagesize").last {
            guard let value = Int(text), (1...100).contains(value) else {
                throw .badRequest("maxpagesize must be an integer from 1 to 100, not '\(text.clipped)'.")
            }
            limit = value
        }
        return (after, limit)
    }

    /// The list operations that take `maxpagesize` (2022-10-31-preview), so their `nextLink` keeps it.
    static let listsTakingMaxPageSize: Set<String> = [
        "Users_List", "Devices_List", "DeviceTemplates_List", "DeviceGroups_List", "DeviceGroups_GetDevices", "Dashboards_List",
        "DeploymentManifests_List", "Devices_ListRelationships", "Jobs_List", "ScheduledJobs_List", "ScheduledJobs_ListJobs",
    ]

    /// `{"value": items, "nextLink": ...}` for one page.
    func listReply(_ items: [JSONValue], next: Int64?, context: RequestContext) -> Reply {
        var members: [(String, JSONValue)] = [("value", .array(items))]
        if let next {
            var link = "\(context.request.baseURL)/api/\(context.request.pathSegments.joined(separator: "/"))?api-version=\(context.version.rawValue)"
            if Self.listsTakingMaxPageSize.contains(context.operation.operationID), context.version.hasMaxPageSize,
               let size = context.request.queryValues("maxpagesize").last { link += "&maxpagesize=\(size)" }
            // The list options the operation takes, so the next page is of the same list.
            for name in context.version.listOptions(of: context.operation.operationID) {
                guard let value = context.request.queryValues(name).last else { continue }
                var allowed = CharacterSet.urlQueryAllowed
                allowed.remove(charactersIn: "&=+#")
                link += "&\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
            }
            link += "&$skiptoken=\(next)"
            members.append(("nextLink", .string(link)))
        }
        return Reply(status: 200, body: .object(members))
    }
}
