import Foundation
import Synchronization

/// The mock Microsoft Entra ID endpoints (REFERENCE.md §6): OpenID discovery (v1 and v2.0), the signing keys, and
/// the token endpoints (v2.0 `scope=`, v1 `resource=`) for `client_credentials` and `password` grants. Errors use
/// Entra's shape: `error`, `error_description` starting with an AADSTS code, `error_codes`, `timestamp`,
/// `trace_id`, `correlation_id`.
public final class EntraService: Sendable {
    /// The directory as it is now: the fixture, plus what the control endpoint added since start.
    public var directory: EntraDirectory { current.withLock { $0 } }
    private let current: Mutex<EntraDirectory>
    public let signingKey: RSASigningKey
    /// Lifetime of issued tokens in seconds (`expires_in`).
    public let tokenLifetime: Int64
    /// Current Unix time in seconds.
    let clock: @Sendable () -> Int64

    /// The one resource tokens are issued for (REFERENCE.md §6).
    public static let resource = "https://apps.azureiotcentral.com"

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
        /// `https://host:port`, for the URLs of the discovery document.
        public var baseURL: String
        public var contentType: String?
        public var authorization: String?
        public var body: [UInt8]

        public init(method: String, tenant: String, path: [String], baseURL: String, contentType: String? = nil, authorization: String? = nil, body: [UInt8] = []) {
            self.method = method; self.tenant = tenant; self.path = path; self.baseURL = baseURL
            self.contentType = contentType; self.authorization = authorization; self.body = body
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
    }

    /// Answers one request. Never throws: failures are Entra error responses.
    public func handle(_ request: Request) -> Response {
        let path = request.path.map { $0.lowercased() }
        let getPaths: [[String]] = [["v2.0", ".well-known", "openid-configuration"], [".well-known", "openid-configuration"], ["discovery", "v2.0", "keys"], ["discovery", "keys"]]
        let postPaths: [[String]] = [["oauth2", "v2.0", "token"], ["oauth2", "token"]]
        if getPaths.contains(path) && request.method != "GET" || postPaths.contains(path) && request.method != "POST" {
            var response = error(405, "invalid_request", 900_561, "The endpoint only accepts \(getPaths.contains(path) ? "GET" : "POST") requests.")
            response.headers.append(("Allow", getPaths.contains(path) ? "GET" : "POST"))
            return response
        }
        if getPaths.contains(path), !["common", "organizations"].contains(request.tenant.lowercased()), directory.tenant(named: request.tenant) == nil {
            return error(400, "invalid_tenant", 90_002, "Tenant '\(request.tenant.prefix(100))' not found.")
        }
        switch (request.method, path) {
        case ("GET", ["v2.0", ".well-known", "openid-configuration"]):
            return discovery(request, version2: true)
        case ("GET", [".well-known", "openid-configuration"]):
            return discovery(request, version2: false)
        case ("GET", ["discovery", "v2.0", "keys"]), ("GET", ["discovery", "keys"]):
            return json(200, ["keys": [signingKey.jwk]])
        case ("POST", ["oauth2", "v2.0", "token"]):
            return token(request, version2: true)
        case ("POST", ["oauth2", "token"]):
            return token(request, version2: false)
        default:
            return error(404, "invalid_request", 90_002, "The endpoint /\(request.tenant)/\(request.path.joined(separator: "/")) does not exist in this mock.")
        }
    }

    // MARK: Discovery

    private func discovery(_ request: Request, version2: Bool) -> Response {
        let directory = self.directory
        let tenantID: String
        if ["common", "organizations"].contains(request.tenant.lowercased()) {
            tenantID = "{tenantid}"
        } else if let tenant = directory.tenant(named: request.tenant) {
            tenantID = tenant.id
        } else {
            return error(400, "invalid_tenant", 90_002, "Tenant '\(request.tenant.prefix(100))' not found.")
        }
        let base = "\(request.baseURL)/\(request.tenant)"
        let document: [String: Any] = version2
            ? [
                "issuer": "\(request.baseURL)/\(tenantID)/v2.0",
                "authorization_endpoint": "\(base)/oauth2/v2.0/authorize",
                "token_endpoint": "\(base)/oauth2/v2.0/token",
                "jwks_uri": "\(base)/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "tenant_region_scope": "WW",
            ]
            : [
                "issuer": "https://sts.windows.net/\(tenantID)/",
                "authorization_endpoint": "\(base)/oauth2/authorize",
                "token_endpoint": "\(base)/oauth2/token",
                "jwks_uri": "\(base)/discovery/keys",
                "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            ]
        return json(200, document)
    }

    // MARK: Tokens

    private func token(_ request: Request, version2: Bool) -> Response {
        let directory = self.directory
        let (form, duplicate) = Self.parseForm(request.body)
        if let duplicate {
            return error(400, "invalid_request", 9_000_411, "The request is not properly formatted. The parameter '\(duplicate.prefix(100))' is duplicated.")
        }
        var clientID = form["client_id"]
        var clientSecret = form["client_secret"]
        if let basic = request.authorization, basic.lowercased().hasPrefix("basic "), clientSecret != nil {
            return error(400, "invalid_request", 90_014, "The client must authenticate with one method only, not both HTTP Basic and client_secret.")
        }
        if let basic = request.authorization, basic.lowercased().hasPrefix("basic "),
           let decoded = Data(base64Encoded: String(basic.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
           let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") {
            clientID = clientID ?? String(text[..<colon]).removingPercentEncoding
            clientSecret = clientSecret ?? String(text[text.index(after: colon)...]).removingPercentEncoding
        }
        guard let grantType = form["grant_type"] else {
            return error(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'grant_type'.")
        }
        guard let clientID, !clientID.isEmpty else {
            return error(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'client_id'.")
        }
        // The resource asked for: v2.0 names it in `scope` (`<resource>/.default`), v1 in `resource`.
        let resource: String
        if version2 {
            guard let scope = form["scope"], !scope.isEmpty else {
                return error(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'scope'.")
            }
            let scopes = scope.split(separator: " ").map(String.init).filter { !["openid", "profile", "offline_access", "email"].contains($0) }
            guard scopes.count == 1, let scope = scopes.first else {
                return error(400, "invalid_scope", 70_011, "The provided value for the input parameter 'scope' is not valid: name exactly one resource.")
            }
            guard let named = Self.resource(fromScope: scope, clientCredentials: grantType == "client_credentials") else {
                return error(400, "invalid_scope", 500_011, "The resource principal named \(scope.prefix(200)) was not found in the tenant. This mock issues tokens for \(Self.resource) only, as \(Self.resource)/.default.")
            }
            resource = named
        } else {
            guard let named = form["resource"], !named.isEmpty else {
                return error(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'resource'.")
            }
            guard Self.normalizedResource(named) == Self.resource else {
                return error(400, "invalid_resource", 500_011, "The resource principal named \(named.prefix(200)) was not found in the tenant.")
            }
            resource = Self.resource
        }
        _ = resource

        let tenantName = request.tenant.lowercased()
        let tenantIndependent = tenantName == "common" || tenantName == "organizations"
        let now = clock()
        switch grantType {
        case "client_credentials":
            guard !tenantIndependent else {
                return error(400, "invalid_request", 1_002, "Use a tenant-specific endpoint for client credentials, not /\(request.tenant)/.")
            }
            guard let tenant = directory.tenant(named: request.tenant) else {
                return error(400, "invalid_tenant", 90_002, "Tenant '\(request.tenant.prefix(100))' not found.")
            }
            guard let principal = tenant.servicePrincipals.first(where: { $0.appId.lowercased() == clientID.lowercased() }) else {
                return error(400, "unauthorized_client", 700_016, "Application with identifier '\(clientID.prefix(100))' was not found in the directory '\(tenant.domain)'.")
            }
            guard let secret = clientSecret, !secret.isEmpty else {
                return error(401, "invalid_client", 7_000_218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
            }
            guard principal.secrets.contains(where: { Self.constantTimeEquals($0, secret) }) else {
                return error(401, "invalid_client", 7_000_215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(principal.appId)'.")
            }
            let claims = AccessTokenClaims(
                aud: Self.resource, iss: "https://sts.windows.net/\(tenant.id)/", iat: now, nbf: now, exp: now + tokenLifetime,
                tid: tenant.id, oid: principal.objectId, sub: principal.objectId, idtyp: "app", appid: principal.appId, appidacr: "1")
            return tokenResponse(claims, version2: version2)
        case "password":
            guard let username = form["username"], let password = form["password"] else {
                return error(400, "invalid_request", 900_144, "The request body must contain the following parameters: 'username' and 'password'.")
            }
            let candidates = tenantIndependent ? directory.tenants : directory.tenant(named: request.tenant).map { [$0] } ?? []
            guard !candidates.isEmpty else { return error(400, "invalid_tenant", 90_002, "Tenant '\(request.tenant.prefix(100))' not found.") }
            guard let (tenant, user) = candidates.lazy.compactMap({ tenant in
                tenant.users.first { $0.userPrincipalName.lowercased() == username.lowercased() }.map { (tenant, $0) }
            }).first, Self.constantTimeEquals(user.password, password) else {
                return error(400, "invalid_grant", 50_126, "Error validating credentials due to invalid username or password.")
            }
            guard let application = tenant.servicePrincipals.first(where: { $0.appId.lowercased() == clientID.lowercased() }) else {
                return error(400, "unauthorized_client", 700_016, "Application with identifier '\(clientID.prefix(100))' was not found in the directory '\(tenant.domain)'.")
            }
            // A confidential client that sends a secret must send a right one.
            if let secret = clientSecret, !application.secrets.contains(where: { Self.constantTimeEquals($0, secret) }) {
                return error(401, "invalid_client", 7_000_215, "Invalid client secret provided for app '\(application.appId)'.")
            }
            let groups = tenant.groups(of: user.objectId)
            let claims = AccessTokenClaims(
                aud: Self.resource, iss: "https://sts.windows.net/\(tenant.id)/", iat: now, nbf: now, exp: now + tokenLifetime,
                tid: tenant.id, oid: user.objectId, sub: user.objectId, idtyp: "user", appid: clientID, appidacr: "0",
                upn: user.userPrincipalName, uniqueName: user.userPrincipalName, name: user.displayName, scp: "user_impersonation",
                groups: groups.isEmpty ? nil : groups)
            return tokenResponse(claims, version2: version2)
        default:
            return error(400, "unsupported_grant_type", 70_003, "The app requested an unsupported grant type '\(grantType.prefix(100))'.")
        }
    }

    /// Signs `claims` into the token response of either endpoint version.
    private func tokenResponse(_ claims: AccessTokenClaims, version2: Bool) -> Response {
        guard let token = JSONWebToken.sign(claims, with: signingKey) else {
            return error(500, "server_error", 50_000, "The token could not be signed.")
        }
        var body: [String: Any] = [
            "token_type": "Bearer", "expires_in": tokenLifetime, "ext_expires_in": tokenLifetime, "access_token": token,
        ]
        if !version2 {
            body["expires_on"] = String(claims.exp)
            body["not_before"] = String(claims.nbf)
            body["resource"] = Self.resource
        }
        return json(200, body)
    }

    /// Issues a token without the HTTP round trip (the `iotc-mock token` command): for a service principal named
    /// by app id, object id or display name, or a user named by user principal name.
    public func issueToken(for name: String, now: Int64? = nil) -> (token: String, claims: AccessTokenClaims)? {
        let now = now ?? clock()
        let lowered = name.lowercased()
        for tenant in self.directory.tenants {
            if let principal = tenant.servicePrincipals.first(where: { [$0.appId, $0.objectId, $0.displayName].map { $0.lowercased() }.contains(lowered) }) {
                let claims = AccessTokenClaims(
                    aud: Self.resource, iss: "https://sts.windows.net/\(tenant.id)/", iat: now, nbf: now, exp: now + tokenLifetime,
                    tid: tenant.id, oid: principal.objectId, sub: principal.objectId, idtyp: "app", appid: principal.appId, appidacr: "1")
                return JSONWebToken.sign(claims, with: signingKey).map { ($0, claims) }
            }
            if let user = tenant.users.first(where: { $0.userPrincipalName.lowercased() == lowered }) {
                let groups = tenant.groups(of: user.objectId)
                let claims = AccessTokenClaims(
                    aud: Self.resource, iss: "https://sts.windows.net/\(tenant.id)/", iat: now, nbf: now, exp: now + tokenLifetime,
                    tid: tenant.id, oid: user.objectId, sub: user.objectId, idtyp: "user", appidacr: "0",
                    upn: user.userPrincipalName, uniqueName: user.userPrincipalName, name: user.displayName, scp: "user_impersonation",
                    groups: groups.isEmpty ? nil : groups)
                return JSONWebToken.sign(claims, with: signingKey).map { ($0, claims) }
            }
        }
        return nil
    }

    /// Verifies a bearer token for IoT Central: our key, `aud` the IoT Central resource (with or without a
    /// trailing slash), `iss` the token's tenant in this directory, `exp`/`nbf` with five minutes of skew.
    public func verify(_ token: String, now: Int64? = nil) throws(JSONWebToken.VerificationError) -> AccessTokenClaims {
        try JSONWebToken.verify(
            token, keys: [signingKey], now: now ?? clock(), audiences: [Self.resource, Self.resource + "/"],
            issuer: { [directory] tid in directory.tenant(id: tid).map { "https://sts.windows.net/\($0.id)/" } })
    }

    // MARK: Changing the directory at run time

    /// The control endpoint `/_mock/entra/...` (kept in memory; a restart goes back to the fixture):
    /// - `GET /_mock/entra`: the directory, secrets and passwords included (it is a mock).
    /// - `POST /_mock/entra/{tenant}/servicePrincipals` `{"displayName", "appId"?, "objectId"?, "secret"?}`
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
                    secrets: [text("secret") ?? Base64URL.encode((0..<24).map { _ in UInt8.random(in: 0...255) })])
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

    /// `https://apps.azureiotcentral.com/.default` (also with `//.default`); for user flows also
    /// `/user_impersonation`. Nil for any other scope.
    static func resource(fromScope scope: String, clientCredentials: Bool) -> String? {
        for suffix in ["/.default"] + (clientCredentials ? [] : ["/user_impersonation"]) where scope.lowercased().hasSuffix(suffix) {
            if normalizedResource(String(scope.dropLast(suffix.count))) == resource { return resource }
        }
        return nil
    }

    /// The resource without trailing slashes, lower-cased.
    static func normalizedResource(_ text: String) -> String {
        var value = text.lowercased()
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }

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

    private func json(_ status: Int, _ object: [String: Any]) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: status, headers: [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")], body: Array(body))
    }

    /// Entra's error body (REFERENCE.md §6).
    func error(_ status: Int, _ code: String, _ aadsts: Int, _ message: String) -> Response {
        let traceID = UUID().uuidString.lowercased(), correlationID = UUID().uuidString.lowercased()
        let formatter = ISO8601DateFormatter()
        let stamp = formatter.string(from: Date())
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
