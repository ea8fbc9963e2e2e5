import Foundation
import Synchronization

/// The mock Microsoft Entra ID: OpenID discovery (v1 and v2.0), the signing keys, instance discovery and user
/// realm discovery (what MSAL asks before it signs in), and the token endpoints (v2.0 `scope=`, v1 `resource=`) for
/// the `client_credentials`, `password` and `refresh_token` grants ("Microsoft identity platform and OAuth 2.0",
/// learn.microsoft.com). Errors use Entra's shape: `error`, `error_description` starting with an AADSTS code,
/// `error_codes`, `timestamp`, `trace_id`, `correlation_id`.
public final class EntraService: Sendable {
    /// The directory as it is now: the fixture, plus what the control endpoint added since start.
    public var directory: EntraDirectory { current.withLock { $0 } }
    private let current: Mutex<EntraDirectory>
    public let signingKey: RSASigningKey
    /// Lifetime of issued access tokens in seconds (`expires_in`).
    public let tokenLifetime: Int64
    /// Current Unix time in seconds.
    let clock: @Sendable () -> Int64

    /// IoT Central's resource, the default of `iotc-mock token`.
    public static let resource = EntraResource.iotCentral.rawValue

    public init(directory: EntraDirectory, signingKey: RSASigningKey, tokenLifetime: Int64 = 3599,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        self.current = Mutex(directory); self.signingKey = signingKey; self.tokenLifetime = max(60, tokenLifetime); self.clock = clock
    }

    /// One request to a path under `/{tenant}/`.
    public struct Request: Sendable {
        public var method: String
        /// The first path segment: tenant id, domain, `common` or `organizations`.
        public var tenant: String
        /// The segments after the tenant.
        public var path: [String]
        /// The query, percent-decoded, in order.
        public var query: [(name: String, value: String)]
        /// `https://host:port` as the client called it, for the URLs of the discovery documents.
        public var baseURL: String
        public var contentType: String?
        public var authorization: String?
        public var body: [UInt8]

        public init(
            method: String, tenant: String, path: [String], query: [(name: String, value: String)] = [], baseURL: String,
            contentType: String? = nil, authorization: String? = nil, body: [UInt8] = []
        ) {
            self.method = method; self.tenant = tenant; self.path = path; self.query = query; self.baseURL = baseURL
            self.contentType = contentType; self.authorization = authorization; self.body = body
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
    }

    /// The first path segments that name no tenant: the tenant-independent endpoints of Entra ID.
    static let tenantIndependentNames: Set<String> = ["common", "organizations"]

    /// Answers one request. Never throws: failures are Entra error responses.
    public func handle(_ request: Request) -> Response {
        let path = request.path.map { $0.lowercased() }
        let tenantIndependent = Self.tenantIndependentNames.contains(request.tenant.lowercased())
        let getPaths: [[String]] = [
            ["v2.0", ".well-known", "openid-configuration"], [".well-known", "openid-configuration"], ["discovery", "v2.0", "keys"],
            ["discovery", "keys"], ["discovery", "instance"],
        ]
        let postPaths: [[String]] = [["oauth2", "v2.0", "token"], ["oauth2", "token"]]
        let isUserRealm = path.count == 2 && path[0] == "userrealm"
        if (getPaths.contains(path) || isUserRealm) && request.method != "GET" || postPaths.contains(path) && request.method != "POST" {
            let allowed = postPaths.contains(path) ? "POST" : "GET"
            var response = error(405, "invalid_request", 900_561, "The endpoint only accepts \(allowed) requests.")
            response.headers.append(("Allow", allowed))
            return response
        }
        if getPaths.contains(path), !tenantIndependent, directory.tenant(named: request.tenant) == nil {
            return error(400, "invalid_tenant", 90_002, "Tenant '\(request.tenant.prefix(100))' not found.")
        }
        switch (request.method, path) {
        case ("GET", ["v2.0", ".well-known", "openid-configuration"]):
            return discovery(request, version2: true)
        case ("GET", [".well-known", "openid-configuration"]):
            return discovery(request, version2: false)
        case ("GET", ["discovery", "v2.0", "keys"]), ("GET", ["discovery", "keys"]):
            return json(200, ["keys": [signingKey.jwk]])
        case ("GET", ["discovery", "instance"]):
            return instanceDiscovery(request)
        case ("GET", _) where isUserRealm && request.tenant.lowercased() == "common":
            return userRealm(request.path[1])
        case ("POST", ["oauth2", "v2.0", "token"]):
            return token(request, version2: true)
        case ("POST", ["oauth2", "token"]):
            return token(request, version2: false)
        default:
            return error(404, "invalid_request", 90_002, "The endpoint /\(request.tenant.prefix(100))/\(request.path.joined(separator: "/").prefix(200)) does not exist in this mock.")
        }
    }

    /// Issues a token without the HTTP round trip (the `iotc-mock token` command): for a service principal named
    /// by app id, object id or display name, or a user named by user principal name; for `resource`.
    public func issueToken(for name: String, resource: EntraResource = .iotCentral, now: Int64? = nil) -> (token: String, claims: AccessTokenClaims)? {
        let now = now ?? clock()
        let lowered = name.lowercased()
        for tenant in self.directory.tenants {
            if let principal = tenant.servicePrincipals.first(where: { [$0.appId, $0.objectId, $0.displayName].map { $0.lowercased() }.contains(lowered) }) {
                let claims = AccessTokenClaims(
                    aud: resource.audience, iss: Self.issuer(tenant.id), iat: now, nbf: now, exp: now + tokenLifetime,
                    tid: tenant.id, oid: principal.objectId, sub: principal.objectId, idtyp: "app", appid: principal.appId, appidacr: "1")
                return JSONWebToken.sign(claims, with: signingKey).map { ($0, claims) }
            }
            if let user = tenant.users.first(where: { $0.userPrincipalName.lowercased() == lowered }) {
                let groups = tenant.groups(of: user.objectId)
                let claims = AccessTokenClaims(
                    aud: resource.audience, iss: Self.issuer(tenant.id), iat: now, nbf: now, exp: now + tokenLifetime,
                    tid: tenant.id, oid: user.objectId, sub: user.objectId, idtyp: "user", appidacr: "0",
                    upn: user.userPrincipalName, uniqueName: user.userPrincipalName, name: user.displayName, scp: "user_impersonation",
                    groups: groups.isEmpty ? nil : groups)
                return JSONWebToken.sign(claims, with: signingKey).map { ($0, claims) }
            }
        }
        return nil
    }

    /// Verifies a bearer token for an API (IoT Central by default, or Azure Resource Manager): our key, an `aud` of
    /// that API (with or without a trailing slash), `iss` the token's tenant in this directory, `exp`/`nbf` with
    /// five minutes of skew. Refresh tokens never verify: their audience is no API's.
    public func verify(_ token: String, for resource: EntraResource = .iotCentral, now: Int64? = nil) throws(JSONWebToken.VerificationError) -> AccessTokenClaims {
        try JSONWebToken.verify(
            token, keys: [signingKey], now: now ?? clock(), audiences: resource.acceptedAudiences,
            issuer: { [directory] tid in directory.tenant(id: tid).map { Self.issuer($0.id) } })
    }

    // MARK: Changing the directory at run time

    /// The control endpoint `/_mock/entra/...` (kept in memory; a restart goes back to the fixture):
    /// - `GET /_mock/entra`: the directory, secrets and passwords included (it is a mock).
    /// - `POST /_mock/entra/{tenant}/servicePrincipals` `{"displayName", "appId"?, "objectId"?, "secret"?, "publicClient"?}`
    /// - `POST /_mock/entra/{tenant}/users` `{"userPrincipalName", "password", "displayName"?, "objectId"?}`
    /// - `POST /_mock/entra/{tenant}/groups` `{"displayName", "members": [object ids], "objectId"?}`
    /// Each POST answers 201 with the whole new entry (generated ids and secret included); a duplicate id or name
    /// is 409, a bad body 400, an unknown tenant 404.
    public func handleControl(method: String, path: [String], body: [UInt8]) -> Response {
        switch (method, path.count) {
        case ("GET", 0):
            return encoded(200, directory)
        case ("POST", 2):
            break
        case (_, 0), (_, 2):
            // A path that exists, with another method.
            let allowed = path.isEmpty ? "GET" : "POST"
            var response = json(405, ["error": ["code": "MethodNotAllowed", "message": "This control path takes \(allowed)."]])
            response.headers.append(("Allow", allowed))
            return response
        default:
            return controlError(404, "No control operation \(method) /_mock/entra\(path.isEmpty ? "" : "/")\(path.joined(separator: "/")).")
        }
        guard let fields = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            return controlError(400, "The body must be a JSON object.")
        }
        func text(_ name: String) -> String? { (fields[name] as? String).flatMap { $0.isEmpty ? nil : $0 } }
        // Names are printable text; ids are GUIDs; a user principal name is local@domain without spaces.
        for name in ["displayName", "userPrincipalName", "password", "secret"] {
            if let value = fields[name], !(value is String) { return controlError(400, "\(name) must be a string.") }
            if let value = text(name), value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) || value.utf8.count > 256 {
                return controlError(400, "\(name) must be printable text of at most 256 bytes.")
            }
        }
        for name in ["appId", "objectId"] {
            if let value = fields[name] {
                guard let id = value as? String, UUID(uuidString: id) != nil else { return controlError(400, "\(name) must be a GUID.") }
            }
        }
        if let upn = text("userPrincipalName") {
            let parts = upn.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !upn.contains(" ") else {
                return controlError(400, "userPrincipalName must look like name@domain.")
            }
        }
        // JSONDecoder tells `true` from `1`, which JSONSerialization does not.
        struct Flags: Decodable { var publicClient: Bool? }
        guard let flags = try? JSONDecoder().decode(Flags.self, from: Data(body)) else {
            return controlError(400, "publicClient must be true or false.")
        }
        if let members = fields["members"] {
            guard let list = members as? [String], list.allSatisfy({ UUID(uuidString: $0) != nil }) else {
                return controlError(400, "members must be an array of user object ids (GUIDs).")
            }
        }
        let newID = { UUID().uuidString.lowercased() }
        return current.withLock { directory -> Response in
            guard let index = directory.tenants.firstIndex(where: { $0.id.lowercased() == path[0].lowercased() || $0.domain.lowercased() == path[0].lowercased() }) else {
                return controlError(404, "No tenant '\(path[0].prefix(100))' in the directory.")
            }
            var tenant = directory.tenants[index]
            let taken = Set((tenant.servicePrincipals.flatMap { [$0.appId, $0.objectId] } + tenant.users.map(\.objectId) + tenant.groups.map(\.objectId)).map { $0.lowercased() })
            let response: Response
            switch path[1] {
            case "servicePrincipals":
                guard let name = text("displayName") else { return controlError(400, "displayName is required.") }
                let entry = EntraDirectory.ServicePrincipal(
                    displayName: name, appId: text("appId") ?? newID(), objectId: text("objectId") ?? newID(),
                    secrets: [text("secret") ?? Base64URL.encode((0..<24).map { _ in UInt8.random(in: 0...255) })],
                    publicClient: flags.publicClient == true ? true : nil)
                guard !taken.contains(entry.appId.lowercased()), !taken.contains(entry.objectId.lowercased()) else {
                    return controlError(409, "The appId or objectId is already in use.")
                }
                tenant.servicePrincipals.append(entry)
                response = encoded(201, entry)
            case "users":
                guard let upn = text("userPrincipalName"), upn.contains("@"), let password = text("password") else {
                    return controlError(400, "userPrincipalName (with @) and password are required.")
                }
                guard !tenant.users.contains(where: { $0.userPrincipalName.lowercased() == upn.lowercased() }) else {
                    return controlError(409, "A user named \(upn.prefix(100)) exists.")
                }
                let entry = EntraDirectory.User(displayName: text("displayName") ?? upn, userPrincipalName: upn, objectId: text("objectId") ?? newID(), password: password)
                guard !taken.contains(entry.objectId.lowercased()) else { return controlError(409, "The objectId is already in use.") }
                tenant.users.append(entry)
                response = encoded(201, entry)
            case "groups":
                guard let name = text("displayName") else { return controlError(400, "displayName is required.") }
                let members = fields["members"] as? [String] ?? []
                let entry = EntraDirectory.Group(displayName: name, objectId: text("objectId") ?? newID(), members: members)
                guard !taken.contains(entry.objectId.lowercased()) else { return controlError(409, "The objectId is already in use.") }
                tenant.groups.append(entry)
                response = encoded(201, entry)
            default:
                return controlError(404, "Unknown collection '\(path[1].prefix(100))'; use servicePrincipals, users or groups.")
            }
            directory.tenants[index] = tenant
            return response
        }
    }

    private func encoded(_ status: Int, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: Array(body))
    }

    private func controlError(_ status: Int, _ message: String) -> Response {
        json(status, ["error": ["code": status == 409 ? "Conflict" : status == 404 ? "NotFound" : "BadRequest", "message": message]])
    }

    // MARK: Helpers

    /// `application/x-www-form-urlencoded`, and the first parameter name that appears more than once (Entra refuses
    /// such a request: AADSTS9000411).
    static func parseForm(_ body: [UInt8]) -> (form: [String: String], duplicate: String?) {
        var form: [String: String] = [:]
        var duplicate: String?
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String? { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = parts.first.flatMap(decode) else { continue }
            if form[name] != nil, duplicate == nil { duplicate = name }
            form[name] = parts.count > 1 ? decode(parts[1]) ?? "" : ""
        }
        return (form, duplicate)
    }

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    func json(_ status: Int, _ object: [String: Any]) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: status, headers: [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")], body: Array(body))
    }

    /// Entra's error body: `error`, `error_description` starting with the AADSTS code, `error_codes`, `timestamp`,
    /// `trace_id`, `correlation_id` ("Microsoft identity platform error codes", learn.microsoft.com).
    func error(_ status: Int, _ code: String, _ aadsts: Int, _ message: String) -> Response {
        let traceID = UUID().uuidString.lowercased(), correlationID = UUID().uuidString.lowercased()
        let formatter = ISO8601DateFormatter()
        let stamp = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(clock())))  // the mock's clock
        let timestamp = stamp.replacingOccurrences(of: "T", with: " ")
        return json(status, [
            "error": code,
            "error_description": "AADSTS\(aadsts): \(message) Trace ID: \(traceID) Correlation ID: \(correlationID) Timestamp: \(timestamp)",
            "error_codes": [aadsts],
            "timestamp": timestamp,
            "trace_id": traceID,
            "correlation_id": correlationID,
        ])
    }
}
