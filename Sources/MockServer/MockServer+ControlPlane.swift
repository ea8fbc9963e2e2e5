import Central
import Foundation
import HTTP

/// The HTTP control plane under `/_mock/`: JSON in and out, errors as `{"error": {"code", "message"}}`.
/// `GET /_mock/health` answers anyone; everything else answers loopback callers only, or, when a control key is
/// configured, callers that send it in `x-iotc-mock-key` (the explorer page itself, which holds no data, then loads
/// without it).
extension MockServer {
    /// The header that carries the control key.
    public static let controlKeyHeader = "x-iotc-mock-key"

    /// `pinned`: the application whose own port the request came through, if any.
    func control(_ request: HTTPRequest, pinned: String?) -> HTTPResponse {
        // Literal segments compare ignoring case, as on /api (ids and subdomains are looked up without case anyway).
        var path = Array(request.pathSegments.dropFirst())
        if !path.isEmpty { path[0] = path[0].lowercased() }
        if path.count == 3 && path[0] == "apps" { path[2] = path[2].lowercased() }  // .../reset
        do throws(ControlError) {
            if path.first == "health" && path.count == 1 {
                guard request.method == "GET" || request.method == "HEAD" else { throw Self.methodNotAllowed(["GET", "HEAD"]) }
                return health()
            }
            // The explorer page holds no data, and a browser cannot send the control key when it navigates: with a
            // key, the page loads without it and sends the key the user types with each of its calls.
            if path == ["explorer"], configuration.controlKey != nil, request.method == "GET" || request.method == "HEAD" {
                return Self.page(Self.explorerPage)
            }
            try authorizeControl(request)
            if path.first == "entra", let entra {
                return HTTPResponse(entra.handleControl(method: request.method, path: Array(path.dropFirst()), body: request.body))
            }
            return try controlOperation(request, path: path, pinned: pinned)
        } catch {
            var reply = Self.controlReply(error.status, .object([("error", .object([("code", .string(error.code)), ("message", .string(error.message))]))]))
            if let allowed = error.allowed { reply.headers.add("Allow", allowed.joined(separator: ", ")) }
            return reply
        }
    }

    private func health() -> HTTPResponse {
        let healthy = isHealthy
        let problem = store.database.problem()
        var members: [(String, JSONValue)] = [
            ("status", .string(healthy ? "ok" : problem != nil ? "failing" : "stopping")), ("applications", .number(Double(registry.all.count))),
            ("clockOffsetSeconds", .number(Double(clockOffsetSeconds))), ("pid", .number(Double(getpid()))),
            ("version", .string(Self.version)),
        ]
        if let problem { members.append(("reason", .string(problem))) }
        return Self.controlReply(healthy ? 200 : 503, .object(members))
    }

    /// Who may use the control plane. With a control key: whoever sends it (and nobody else). Without one: loopback
    /// callers only, and not through a browser: a page of another site (its `Origin`, or `Sec-Fetch-Site:
    /// cross-site`), a DNS-rebound name in `Host` (any name but a loopback address, `localhost`, `*.localhost` or a
    /// name the server presents: `--tls-name`, the drop-in names), and a write whose `Content-Type` is not JSON (a
    /// CORS "simple request" needs no pre-flight) are refused with 403, each saying which rule refused it. A caller
    /// whose address could not be read is refused too.
    private func authorizeControl(_ request: HTTPRequest) throws(ControlError) {
        if let key = configuration.controlKey {
            let values = request.headers.values(Self.controlKeyHeader)
            guard let given = values.first else {
                throw ControlError(401, "The control plane needs the header \(Self.controlKeyHeader) with the server's control key.")
            }
            guard values.count == 1 else { throw ControlError(401, "Send the \(Self.controlKeyHeader) header once, not \(values.count) times.") }
            guard Crypto.constantTimeEquals(Array(given.utf8), Array(key.utf8)) else {
                throw ControlError(401, "The \(Self.controlKeyHeader) header does not match the server's control key.")
            }
            return
        }
        let remote = request.remoteAddress
        guard remote.hasPrefix("127.") || remote == "::1" || remote.hasPrefix("::ffff:127.") else {
            throw ControlError(403, "The control plane answers loopback callers only; start the server with --control-key to allow others.")
        }
        let host = request.headers["Host"].map(Self.hostName) ?? ""
        guard request.headers["Host"] == nil || isControlHost(host) else {
            throw ControlError(403, "The control plane refuses the host name '\(host.clipped)': call it as 127.0.0.1, localhost or a name of its certificate (a browser page on another name could be a DNS rebinding), or send the control key.")
        }
        if let origin = request.headers["Origin"] {
            let own = (request.isTLS ? "https://" : "http://") + (request.headers["Host"] ?? "")
            guard origin.lowercased() == own.lowercased() else {
                throw ControlError(403, "The control plane refuses requests from another origin ('\(origin.clipped)'): a web page may not drive it. Send the control key to allow this caller.")
            }
        }
        if let site = request.headers["Sec-Fetch-Site"], !["same-origin", "none"].contains(site.lowercased()) {
            throw ControlError(403, "The control plane refuses a browser request from another site (Sec-Fetch-Site: \(site.clipped)).")
        }
        if ["POST", "PUT", "PATCH", "DELETE"].contains(request.method), !request.body.isEmpty || request.headers["Content-Type"] != nil {
            let types = request.headers.values("Content-Type")
            guard types.count <= 1 else {
                throw ControlError(415, "Send Content-Type once, not \(types.count) times: control writes take application/json.")
            }
            let type = types.first?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard type == "application/json" else {
                throw ControlError(415, "Control writes take Content-Type: application/json, not '\((request.headers["Content-Type"] ?? "none").clipped)' (a browser form could send the others without asking).")
            }
        }
    }

    /// The host name of a `Host` value: without its port, an IPv6 literal without brackets, lower-cased.
    static func hostName(_ value: String) -> String {
        if value.hasPrefix("["), let close = value.firstIndex(of: "]") {
            return String(value[value.index(after: value.startIndex)..<close]).lowercased()
        }
        return String(value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").lowercased()
    }

    /// Whether a control request may name this host: a loopback address, `localhost` and its subdomains, the address
    /// the server listens on, a `--tls-name`, or in drop-in mode a drop-in name.
    func isControlHost(_ host: String) -> Bool {
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" || host.hasPrefix("127.") && CertificateAuthority.isIPAddress(host) {
            return true
        }
        if host == configuration.host.lowercased() { return true }
        var names = configuration.tlsNames.map { $0.lowercased() }
        if configuration.dropIn { names += MockServerConfiguration.dropInNames }
        return names.contains { name in name.hasPrefix("*.") ? host.hasSuffix(String(name.dropFirst(1))) : name == host }
    }

    private func controlOperation(_ request: HTTPRequest, path: [String], pinned: String?) throws(ControlError) -> HTTPResponse {
        let method = request.method
        let takesQuery = path.first == "journal" || path == ["explorer"] || (method == "GET" && path.count == 3 && path[2] == "access-matrix")
        guard request.query.isEmpty || takesQuery else {
            throw ControlError(400, "This control operation takes no query parameters; send them in the JSON body.")
        }
        switch path.first {
        case "apps":
            switch (method, path.count, path.last) {
            case ("GET", 1, _):
                return Self.controlReply(200, .object([("value", .array(applications().map(\.json)))]))
            case ("POST", 1, _):
                let body = try Self.object(request.body, allowed: ["fixture", "subdomain", "port"])
                let port = try Self.integer("port", in: body)
                if let port, !(0...65535).contains(port) { throw ControlError(400, "'port' must be from 0 (any free port) to 65535.") }
                let created = try createApplication(
                    fixture: try Self.string("fixture", in: body), subdomain: try Self.string("subdomain", in: body), port: port.map { Int($0) })
                return Self.controlReply(201, created.json)
            case ("GET", 2, _):
                return Self.controlReply(200, try applicationInfo(path[1]).json)
            case ("DELETE", 2, _):
                try deleteApplication(path[1], from: pinned)
                return HTTPResponse(status: 204, headers: [], body: [])
            case ("POST", 3, "reset"):
                return Self.controlReply(200, try resetApplication(path[1]).json)
            case ("POST", 3, "authorize"):
                return Self.controlReply(200, try whatIf(application: path[1], body: request.body))
            case ("GET", 3, "access-matrix"):
                return Self.controlReply(200, try roleMatrix(application: path[1], request: request))
            case ("PATCH", 4, _) where path[2] == "devices":
                return Self.controlReply(200, try simulateDevice(application: path[1], device: path[3], body: request.body))
            case (_, 4, _) where path[2] == "devices": throw Self.methodNotAllowed(["PATCH"])
            case (_, 1, _): throw Self.methodNotAllowed(["GET", "POST"])
            case (_, 2, _): throw Self.methodNotAllowed(["GET", "DELETE"])
            case (_, 3, "reset"), (_, 3, "authorize"): throw Self.methodNotAllowed(["POST"])
            case (_, 3, "access-matrix"): throw Self.methodNotAllowed(["GET"])
            default: break
            }
        case "explorer" where path.count == 1:
            guard method == "GET" || method == "HEAD" else { throw Self.methodNotAllowed(["GET"]) }
            return Self.page(Self.explorerPage)
        case "clock" where path.count == 1:
            switch method {
            case "GET": return clockReply()
            case "POST":
                let body = try Self.object(request.body, allowed: ["offsetSeconds"])
                guard let seconds = try Self.integer("offsetSeconds", in: body) else { throw ControlError(400, "The body needs an integer 'offsetSeconds'.") }
                try setClockOffset(seconds: seconds)
                return clockReply()
            default: throw Self.methodNotAllowed(["GET", "POST"])
            }
        case "journal" where path.count == 1:
            switch method {
            case "GET": return try journalReply(request)
            case "DELETE":
                if let unknown = request.query.first(where: { $0.name != "app" }) {
                    throw ControlError(400, "Unknown parameter '\(unknown.name.clipped)'; DELETE /_mock/journal takes app (else it clears the whole journal).")
                }
                journal.clear(application: try request.queryValue("app").map { name throws(ControlError) in try journalApplication(name) })
                return HTTPResponse(status: 204, headers: [], body: [])
            default: throw Self.methodNotAllowed(["GET", "DELETE"])
            }
        case "journal" where path.count == 2:
            guard method == "GET" else { throw Self.methodNotAllowed(["GET"]) }
            guard request.query.isEmpty else { throw ControlError(400, "GET /_mock/journal/{requestId} takes no parameters.") }
            guard let entry = journal.entry(requestID: path[1]) else {
                throw ControlError(404, "No kept journal entry has the request id '\(path[1].clipped)' (the journal keeps the last \(journal.capacity) requests of each application).")
            }
            return Self.controlReply(200, entry.json)
        case "throttling" where path.count == 1:
            switch method {
            case "GET": return throttlingReply()
            case "POST":
                let body = try Self.object(request.body, allowed: ["enabled", "requestsPerSecond"])
                guard case .bool(let enabled)? = body.first(where: { $0.0 == "enabled" })?.1 else {
                    throw ControlError(400, "The body needs a boolean 'enabled'.")
                }
                if let rate = try Self.integer("requestsPerSecond", in: body) {
                    guard (1...100_000).contains(rate) else { throw ControlError(400, "requestsPerSecond must be from 1 to 100000.") }
                    rateLimiter.requestsPerSecond = Int(rate)
                }
                rateLimiter.requestsPerSecond = enabled ? rateLimiter.configuredRate : nil
                return throttlingReply()
            default: throw Self.methodNotAllowed(["GET", "POST"])
            }
        case "faults" where path.count == 1:
            switch method {
            case "GET": return Self.controlReply(200, .object([("value", .array(faults.active.map(\.json)))]))
            case "POST": return Self.controlReply(201, try addFault(request.body).json)
            case "DELETE":
                faults.clear()
                return HTTPResponse(status: 204, headers: [], body: [])
            default: throw Self.methodNotAllowed(["GET", "POST", "DELETE"])
            }
        default: break
        }
        throw ControlError(404, "No control operation \(method.clipped) /_mock/\(path.joined(separator: "/").clipped); see the README's control plane section.")
    }

    private func clockReply() -> HTTPResponse {
        Self.controlReply(200, .object([
            ("offsetSeconds", .number(Double(clockOffsetSeconds))), ("now", .string(Timestamp.iso8601(milliseconds: clock.nowMilliseconds()))),
        ]))
    }

    private func throttlingReply() -> HTTPResponse {
        Self.controlReply(200, .object([
            ("enabled", .bool(rateLimiter.requestsPerSecond != nil)), ("requestsPerSecond", .number(Double(rateLimiter.configuredRate))),
        ]))
    }

    /// `POST /_mock/faults` `{"method"?, "path", "status", "count"?, "app"?}`.
    private func addFault(_ body: [UInt8]) throws(ControlError) -> FaultInjector.Fault {
        let fields = try Self.object(body, allowed: ["method", "path", "status", "count", "app", "retryAfterSeconds"])
        let method = try Self.string("method", in: fields) ?? "*"
        guard method == "*" || (1...20).contains(method.count) && method.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw ControlError(400, "method must be an HTTP method such as GET, or *.")
        }
        guard let path = try Self.string("path", in: fields), path.hasPrefix("/"), path.utf8.count <= 2048 else {
            throw ControlError(400, "The body needs a 'path' starting with '/', e.g. /api/users or /api/users/*.")
        }
        guard !path.contains("?"), !path.contains("#") else {
            throw ControlError(400, "The path is matched without the query; leave out '?...' (e.g. /api/users).")
        }
        guard !path.lowercased().hasPrefix("/_mock") else { throw ControlError(400, "The control plane cannot be faulted.") }
        guard let status = try Self.integer("status", in: fields), (400...599).contains(status) else {
            throw ControlError(400, "The body needs a 'status' from 400 to 599.")
        }
        let count = try Self.integer("count", in: fields) ?? 1
        guard (1...1_000_000).contains(count) else { throw ControlError(400, "count must be from 1 to 1000000.") }
        var application: String?
        if let name = try Self.string("app", in: fields) {
            guard let found = registry.application(name) else { throw ControlError(404, "No application has the id or subdomain '\(name.clipped)'.") }
            guard path.lowercased().hasPrefix("/api/") || path.lowercased() == "/api" || path == "/*" else {
                throw ControlError(400, "'app' applies to /api paths only; the mock Entra ID belongs to no application.")
            }
            application = found.id
        }
        let retryAfter = try Self.integer("retryAfterSeconds", in: fields)
        if let retryAfter, !(0...86_400).contains(retryAfter) { throw ControlError(400, "retryAfterSeconds must be from 0 to 86400.") }
        let normalized = path.hasSuffix("*") ? path : "/" + path.split(separator: "/").joined(separator: "/")
        return faults.add(
            method: method, path: normalized, status: Int(status), count: Int(count), application: application,
            retryAfterSeconds: retryAfter.map { Int($0) })
    }

    // MARK: JSON helpers

    static func controlReply(_ status: Int, _ body: JSONValue) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")], body: body.serialized)
    }

    static func methodNotAllowed(_ allowed: [String]) -> ControlError {
        var error = ControlError(405, "This control path takes \(allowed.joined(separator: ", ")).")
        error.allowed = allowed
        return error
    }

    /// The members of a JSON object body (an empty body is an empty object).
    /// - Throws: 400 for anything else, or for a member not in `allowed`.
    static func object(_ body: [UInt8], allowed: Set<String>) throws(ControlError) -> [(String, JSONValue)] {
        guard !body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else { return [] }
        guard let value = try? JSONValue.parse(body), case .object(let members) = value else {
            throw ControlError(400, "The body must be a JSON object.")
        }
        if let unknown = members.first(where: { !allowed.contains($0.0) }) {
            throw ControlError(400, "Unknown field '\(unknown.0.clipped)'; this operation takes \(allowed.sorted().joined(separator: ", ")).")
        }
        return members
    }

    static func string(_ name: String, in members: [(String, JSONValue)]) throws(ControlError) -> String? {
        guard let value = members.last(where: { $0.0 == name })?.1, value != .null else { return nil }
        guard let text = value.stringValue, !text.isEmpty else { throw ControlError(400, "'\(name)' must be a non-empty string.") }
        return text
    }

    static func integer(_ name: String, in members: [(String, JSONValue)]) throws(ControlError) -> Int64? {
        guard let value = members.last(where: { $0.0 == name })?.1, value != .null else { return nil }
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 9e15 else {
            throw ControlError(400, "'\(name)' must be an integer.")
        }
        return Int64(number)
    }
}
