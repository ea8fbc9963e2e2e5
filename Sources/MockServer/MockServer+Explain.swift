import Central
import Foundation
import HTTP

/// The control plane's answers to "why": the journal with its filters, the what-if decision of a request that is
/// not sent, and the access matrices (emulator convention; every decision comes from the same code as a real call).
extension MockServer {
    /// The parameters `GET /_mock/journal` takes.
    static let journalParameters = ["app", "decision", "status", "principal", "operationId", "since", "until", "after", "limit"]

    /// The id of the application `name` (id or subdomain) names for the journal; an application deleted since is
    /// still accepted by its id, as its entries are kept.
    /// - Throws: 404 when nothing has that name.
    func journalApplication(_ name: String) throws(ControlError) -> String {
        guard let id = registry.application(name)?.id ?? (Validation.isGUID(name) ? name.lowercased() : nil) else {
            throw ControlError(404, "No application has the id or subdomain '\(name.clipped)'.")
        }
        return id
    }

    /// `GET /_mock/journal?app=&decision=&status=&principal=&operationId=&since=&until=&after=&limit=`: kept
    /// requests, oldest first. `decision` and `status` may repeat (any of them matches); `since` and `until` are
    /// RFC 3339 times or Unix epoch milliseconds; `after` a sequence number (to follow the journal).
    /// - Throws: 400 for an unknown parameter or a bad value, 404 for an unknown application.
    func journalReply(_ request: HTTPRequest) throws(ControlError) -> HTTPResponse {
        if let unknown = request.query.first(where: { !Self.journalParameters.contains($0.name) }) {
            throw ControlError(400, "Unknown parameter '\(unknown.name.clipped)'; the journal takes \(Self.journalParameters.joined(separator: ", ")).")
        }
        func values(_ name: String) -> [String] { request.query.filter { $0.name == name }.map(\.value) }
        func single(_ name: String) throws(ControlError) -> String? {
            let given = values(name)
            guard given.count <= 1 else { throw ControlError(400, "Give '\(name)' once; only decision and status may repeat.") }
            return given.first
        }
        var filter = JournalFilter()
        if let name = try single("app") { filter.application = try journalApplication(name) }
        for text in values("decision") {
            guard let decision = RequestOutcome.Decision(rawValue: text) else {
                throw ControlError(400, "decision must be allowed, denied, unauthenticated or none, not '\(text.clipped)'.")
            }
            filter.decisions.insert(decision)
        }
        for text in values("status") {
            guard let value = Int(text), (100...599).contains(value) else { throw ControlError(400, "status must be an HTTP status code, not '\(text.clipped)'.") }
            filter.statuses.insert(value)
        }
        filter.principal = try single("principal")
        filter.operationID = try single("operationId")
        if filter.principal == "" || filter.operationID == "" { throw ControlError(400, "principal and operationId must not be empty.") }
        for (name, keyPath) in [("since", \JournalFilter.since), ("until", \JournalFilter.until)] {
            guard let text = try single(name) else { continue }
            guard let time = Int64(text) ?? Timestamp.parseISO8601(text) else {
                throw ControlError(400, "\(name) must be an RFC 3339 time (2026-01-31T12:00:00Z) or Unix epoch milliseconds, not '\(text.clipped)'.")
            }
            filter[keyPath: keyPath] = time
        }
        if let text = try single("after") {
            guard let value = Int64(text), value >= 0 else { throw ControlError(400, "after must be a sequence number (0 or more), not '\(text.clipped)'.") }
            filter.after = value
        }
        if let text = try single("limit") {
            guard let value = Int(text), value >= 1 else { throw ControlError(400, "limit must be a positive integer, not '\(text.clipped)'.") }
            filter.limit = value
        }
        let entries = journal.entries(filter)
        return Self.controlReply(200, .object([
            ("capacity", .number(Double(journal.capacity))), ("totalCapacity", .number(Double(journal.totalCapacity))),
            ("lastSequence", .number(Double(journal.lastSequence))), ("value", .array(entries.map(\.json))),
        ]))
    }

    /// `POST /_mock/apps/{app}/authorize`: what a request would get, computed as a real call is up to the
    /// operation, without running it and without touching throttling, injected faults or caches. The body names
    /// the caller with exactly one of `authorization` (an `Authorization` header value), `tokenId` or `userId`, and
    /// the request with `method` and `path` (`/api/users?api-version=2022-07-31`) or `operationId`; with neither,
    /// the answer is every operation of `apiVersion` (default 2022-07-31) with its decision.
    /// - Throws: 400 for a malformed body, 404 for an unknown application or user.
    func whatIf(application name: String, body: [UInt8]) throws(ControlError) -> JSONValue {
        let fields = try Self.object(body, allowed: ["authorization", "tokenId", "userId", "method", "path", "operationId", "apiVersion"])
        guard let application = registry.application(name) else { throw ControlError(404, "No application has the id or subdomain '\(name.clipped)'.") }
        let authorization = try Self.string("authorization", in: fields), tokenID = try Self.string("tokenId", in: fields)
        let userID = try Self.string("userId", in: fields)
        guard [authorization, tokenID, userID].compactMap({ $0 }).count == 1 else {
            throw ControlError(400, "Name the caller with exactly one of 'authorization' (an Authorization header value), 'tokenId' or 'userId'.")
        }
        let versionName = try Self.string("apiVersion", in: fields) ?? APIVersion.v2022_07_31.rawValue
        guard let version = APIVersion(named: versionName) else {
            throw ControlError(400, "apiVersion must be one of \(APIVersion.allCases.map(\.rawValue).joined(separator: ", ")), not '\(versionName.clipped)'.")
        }
        let method = try Self.string("method", in: fields), path = try Self.string("path", in: fields)
        let operationID = try Self.string("operationId", in: fields)
        let request: CentralRequest?
        switch (method, path, operationID) {
        case (nil, nil, nil):
            request = nil  // the whole principal: every operation of the version
        case (let method?, let path?, nil):
            do {
                request = try Self.centralRequest(method: method, path: path, version: version, authorization: authorization)
            } catch let refusal as CentralError {
                return CentralService.WhatIf.refused(refusal).json
            } catch let error as ControlError {
                throw error
            } catch {
                throw ControlError(400, "\(error)")
            }
        case (nil, nil, let operationID?):
            guard let operation = OperationCatalog.operations.first(where: { $0.operationID.lowercased() == operationID.lowercased() }) else {
                throw ControlError(404, "No operation has the operationId '\(operationID.clipped)'.")
            }
            // Path parameters get placeholder values: authorization does not look at them.
            let segments = operation.path.split(separator: "/").map { $0.hasPrefix("{") ? "what-if-" + $0.dropFirst().dropLast() : String($0) }
            request = CentralRequest(method: operation.method, pathSegments: segments, query: [("api-version", version.rawValue)],
                                     authorization: authorization.map { [$0] } ?? [])
        default:
            throw ControlError(400, "Name the request with 'method' and 'path' together, or 'operationId', not both; leave all three out for every operation.")
        }
        var principal: Principal?
        do {
            if let tokenID {
                principal = try service.principal(ofAPIToken: tokenID, application: application)
            } else if let userID {
                guard let found = try service.principal(ofUser: userID, application: application) else {
                    throw ControlError(404, "No user with id '\(userID.clipped)' exists in \(application.subdomain).")
                }
                principal = found
            }
        } catch let error as CentralError {
            // The token does not authenticate: the answer is the 401 a real call gets (after routing).
            if let request, let routed = CentralService.WhatIf.routingRefusal(request) { return routed.json }
            var credential = CredentialTrace(scheme: SharedAccessSignature.scheme)
            credential.tokenID = tokenID
            return CentralService.WhatIf.unauthenticated(error, credential: credential, operationID: request.flatMap(Self.operationID)).json
        } catch let error as ControlError {
            throw error
        } catch {
            throw ControlError(500, "what-if failed: \(error)")
        }
        if let request { return service.whatIf(request, application: application, principal: principal).json }
        let subject: Principal
        if let principal {
            subject = principal
        } else {
            do { subject = try service.authenticate(authorization ?? "", application: application) } catch {
                return CentralService.WhatIf.unauthenticated(error, credential: .read(authorization)).json
            }
        }
        do { return try service.accessMatrix(of: subject, application: application, version: version) } catch {
            throw ControlError(error.status, error.message)
        }
    }

    /// The operationId `request` routes to, if any.
    static func operationID(_ request: CentralRequest) -> String? {
        guard let version = request.queryValues("api-version").first.flatMap(APIVersion.init(named:)),
              case .operation(let operation, _) = OperationCatalog.match(method: request.method, segments: request.pathSegments, version: version)
        else { return nil }
        return operation.operationID
    }

    /// The request `method path` names, as the HTTP layer would parse it: `path` starts with `/api/` and may carry a
    /// query; `version` fills in a missing `api-version`; the method is taken as sent (methods are case-sensitive).
    /// - Throws: `ControlError` 400 for what is not a request at all; `CentralError` for a request the server
    ///   refuses before asking who calls: 404 for an empty path segment (`/api//users`), 400 for a broken
    ///   percent-encoding.
    static func centralRequest(method: String, path: String, version: APIVersion, authorization: String?) throws -> CentralRequest {
        guard (1...20).contains(method.count), method.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw ControlError(400, "'method' must be an HTTP method such as GET.")
        }
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let rawPath = String(parts[0])
        guard rawPath.lowercased().hasPrefix("/api/") else {
            throw ControlError(400, "'path' must be an IoT Central path starting with /api/, e.g. /api/users?api-version=2022-07-31.")
        }
        guard path.utf8.count <= 16_384 else { throw ControlError(400, "'path' must be at most 16 KiB (the server's limit for a request head).") }
        if hasEmptySegment(rawPath) { throw CentralError.noSuchPath(rawPath) }
        guard rawPath.split(separator: "/").allSatisfy({ $0.removingPercentEncoding != nil }) else {
            throw CentralError(status: 400, code: "BadRequest", message: "The request target has a broken percent-encoding.")
        }
        var query: [(name: String, value: String)] = []
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ text: Substring) -> String { String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text) }
                query.append((decode(halves[0]), halves.count > 1 ? decode(halves[1]) : ""))
            }
        }
        if !query.contains(where: { $0.name.lowercased() == "api-version" }) { query.append(("api-version", version.rawValue)) }
        let segments = rawPath.split(separator: "/").dropFirst().map { String($0).removingPercentEncoding ?? String($0) }
        return CentralRequest(method: method, pathSegments: segments, query: query, authorization: authorization.map { [$0] } ?? [])
    }

    /// `GET /_mock/apps/{app}/access-matrix?apiVersion=`: every role of the application (custom roles included)
    /// against every operation of the version.
    func roleMatrix(application name: String, request: HTTPRequest) throws(ControlError) -> JSONValue {
        if let unknown = request.query.first(where: { $0.name != "apiVersion" }) {
            throw ControlError(400, "Unknown parameter '\(unknown.name.clipped)'; the access matrix takes apiVersion.")
        }
        guard let application = registry.application(name) else { throw ControlError(404, "No application has the id or subdomain '\(name.clipped)'.") }
        let versionName = request.queryValue("apiVersion") ?? APIVersion.v2022_07_31.rawValue
        guard let version = APIVersion(named: versionName) else {
            throw ControlError(400, "apiVersion must be one of \(APIVersion.allCases.map(\.rawValue).joined(separator: ", ")), not '\(versionName.clipped)'.")
        }
        do { return try service.roleMatrix(application: application, version: version) } catch {
            throw ControlError(error.status, error.message)
        }
    }
}

extension MockServer {
    /// `PATCH /_mock/apps/{app}/devices/{deviceId}`: the control plane stands in for the device (see
    /// `CentralService.simulateDevice`): connected or not, reported properties, last telemetry values, command answers.
    /// - Throws: 404 for an unknown application or device, 400 for a body of another shape, 503 when the store fails.
    public func simulateDevice(application name: String, device: String, body: [UInt8]) throws(ControlError) -> JSONValue {
        guard let application = registry.application(name) else { throw ControlError(404, "No application has the id or subdomain '\(name.clipped)'.") }
        do {
            return try service.simulateDevice(applicationID: application.id, deviceID: device, body: body, now: clock.nowMilliseconds())
        } catch let error as CentralError {
            throw ControlError(error.status == 404 ? 404 : 400, error.message)
        } catch {
            throw ControlError(503, "The store failed: \(error)")
        }
    }
}
