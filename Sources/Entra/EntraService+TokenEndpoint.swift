import Foundation

/// The token endpoints: `POST /{tenant}/oauth2/v2.0/token` (`scope=`) and `POST /{tenant}/oauth2/token` (v1,
/// `resource=`), with the grants real clients use against Entra ID ("Microsoft identity platform and OAuth 2.0",
/// learn.microsoft.com):
/// - `client_credentials`: a service principal of the directory with one of its secrets (in the form or HTTP Basic).
/// - `password` (ROPC, what `az login -u -p` and MSAL's username/password flow send): a user of the directory, through
///   a first-party public client (no secret allowed) or a service principal of the user's tenant (its secret required).
/// - `refresh_token`: a refresh token the mock issued to the same client, for a token to another resource (what
///   `az account get-access-token --resource ...` does after `az login -u`).
/// User tokens come with a refresh token (v2.0: when `offline_access` is asked for), an ID token (v2.0: with `openid`)
/// and `client_info` (when the form has `client_info=1`), which MSAL needs to keep the account in its cache.
extension EntraService {
    /// The `aud` of the refresh tokens the mock issues: no API accepts it, so a refresh token is never an access token.
    static let refreshTokenAudience = "urn:iotc-mock:refresh-token"
    /// How long a refresh token lasts: 90 days, Entra ID's default inactivity lifetime.
    static let refreshTokenLifetime: Int64 = 90 * 86_400
    /// Scopes of OpenID Connect itself, which name no resource.
    static let openIDScopes: Set<String> = ["openid", "profile", "offline_access", "email"]

    /// What one token request asks for, read from the form.
    struct TokenRequest {
        var form: [String: String]
        var clientID: String
        var clientSecret: String?
        var resource: EntraResource
        /// v2.0: the scopes as sent; v1: empty.
        var scopes: [String]
        var version2: Bool
        var tenant: String
        var baseURL: String

        var tenantIndependent: Bool { ["common", "organizations"].contains(tenant.lowercased()) }
        func asks(_ scope: String) -> Bool { scopes.contains(scope) }
    }

    /// The client of a token request: a service principal of the directory (confidential, or public when its
    /// registration allows public client flows) or a first-party public client.
    enum Client {
        case servicePrincipal(EntraDirectory.ServicePrincipal)
        case firstParty(FirstPartyClient)

        var appId: String {
            switch self {
            case .servicePrincipal(let principal): principal.appId
            case .firstParty(let client): client.appId
            }
        }

        /// Public clients sign users in without a secret, and must not send one.
        var isPublic: Bool {
            switch self {
            case .servicePrincipal(let principal): principal.isPublicClient
            case .firstParty: true
            }
        }
    }

    func token(_ request: Request, version2: Bool) -> Response {
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
        if form["client_assertion"] != nil || form["client_assertion_type"] != nil {
            return error(401, "invalid_client", 700_027, "Client assertions (certificate and federated credentials) are not emulated by iotc-mock: authenticate with a client secret.")
        }
        guard let grantType = form["grant_type"] else {
            return error(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'grant_type'.")
        }
        guard let clientID, !clientID.isEmpty else {
            return error(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'client_id'.")
        }
        let userFlow = grantType != "client_credentials"
        let resource: EntraResource
        var scopes: [String] = []
        if version2 {
            guard let scope = form["scope"], !scope.isEmpty else {
                return error(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'scope'.")
            }
            scopes = scope.split(separator: " ").map(String.init)
            let named = scopes.filter { !Self.openIDScopes.contains($0) }
            guard named.count == 1, let first = named.first else {
                return error(400, "invalid_scope", 70_011, "The provided value for the input parameter 'scope' is not valid: name exactly one resource.")
            }
            guard let found = EntraResource.named(scope: first, userFlow: userFlow) else {
                return error(400, "invalid_scope", 500_011, "The resource principal named \(first.prefix(200)) was not found in the tenant. This mock issues tokens for \(Self.knownResources) only, as <resource>/.default.")
            }
            resource = found
        } else {
            guard let named = form["resource"], !named.isEmpty else {
                return error(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'resource'.")
            }
            guard let found = EntraResource.named(named) else {
                return error(400, "invalid_resource", 500_011, "The resource principal named \(named.prefix(200)) was not found in the tenant. This mock issues tokens for \(Self.knownResources) only.")
            }
            resource = found
        }
        let tokenRequest = TokenRequest(
            form: form, clientID: clientID, clientSecret: clientSecret, resource: resource, scopes: scopes,
            version2: version2, tenant: request.tenant, baseURL: request.baseURL)
        switch grantType {
        case "client_credentials": return clientCredentials(tokenRequest)
        case "password": return password(tokenRequest)
        case "refresh_token": return refresh(tokenRequest)
        default:
            return error(400, "unsupported_grant_type", 70_003, "The app requested an unsupported grant type '\(grantType.prefix(100))'.")
        }
    }

    static var knownResources: String { EntraResource.allCases.map(\.rawValue).joined(separator: ", ") }

    // MARK: Grants

    private func clientCredentials(_ request: TokenRequest) -> Response {
        guard !request.tenantIndependent else {
            return error(400, "invalid_request", 1_002, "Use a tenant-specific endpoint for client credentials, not /\(request.tenant)/.")
        }
        guard let tenant = directory.tenant(named: request.tenant) else {
            return error(400, "invalid_tenant", 90_002, "Tenant '\(request.tenant.prefix(100))' not found.")
        }
        let client: Client
        switch resolveClient(request.clientID, in: tenant) {
        case .success(let found): client = found
        case .failure(let refusal): return refusal.response
        }
        guard let secret = request.clientSecret, !secret.isEmpty else {
            return error(401, "invalid_client", 7_000_218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        }
        guard case .servicePrincipal(let principal) = client, principal.secrets.contains(where: { Self.constantTimeEquals($0, secret) }) else {
            return error(401, "invalid_client", 7_000_215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(client.appId)'.")
        }
        let now = clock()
        let claims = AccessTokenClaims(
            aud: request.resource.audience, iss: Self.issuer(tenant.id), iat: now, nbf: now, exp: now + tokenLifetime,
            tid: tenant.id, oid: principal.objectId, sub: principal.objectId, idtyp: "app", appid: principal.appId, appidacr: "1")
        return tokenResponse(access: claims, request: request, user: nil)
    }

    private func password(_ request: TokenRequest) -> Response {
        guard let username = request.form["username"], let password = request.form["password"] else {
            return error(400, "invalid_request", 900_144, "The request body must contain the following parameters: 'username' and 'password'.")
        }
        let directory = self.directory
        let candidates = request.tenantIndependent ? directory.tenants : directory.tenant(named: request.tenant).map { [$0] } ?? []
        guard !candidates.isEmpty else { return error(400, "invalid_tenant", 90_002, "Tenant '\(request.tenant.prefix(100))' not found.") }
        guard let (tenant, user) = candidates.lazy.compactMap({ tenant in
            tenant.users.first { $0.userPrincipalName.lowercased() == username.lowercased() }.map { (tenant, $0) }
        }).first, Self.constantTimeEquals(user.password, password) else {
            return error(400, "invalid_grant", 50_126, "Error validating credentials due to invalid username or password.")
        }
        if let refusal = authenticateUserFlowClient(request, in: tenant) { return refusal }
        return userTokens(user: user, tenant: tenant, request: request)
    }

    private func refresh(_ request: TokenRequest) -> Response {
        guard let token = request.form["refresh_token"], !token.isEmpty else {
            return error(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'refresh_token'.")
        }
        let directory = self.directory
        let claims: AccessTokenClaims
        do {
            claims = try JSONWebToken.verify(
                token, keys: [signingKey], now: clock(), audiences: [Self.refreshTokenAudience],
                issuer: { directory.tenant(id: $0).map { Self.issuer($0.id) } })
        } catch .expired {
            return error(400, "invalid_grant", 700_082, "The refresh token has expired due to inactivity.")
        } catch .wrongAudience {
            return error(400, "invalid_grant", 9_002_313, "Invalid request. Request is malformed or invalid: the refresh_token is an access token, not a refresh token.")
        } catch .notYetValid {
            return error(400, "invalid_grant", 9_002_313, "Invalid request. Request is malformed or invalid: the refresh token is not valid yet (issued more than 5 minutes in the future by the server's clock).")
        } catch {
            return self.error(400, "invalid_grant", 9_002_313, "Invalid request. Request is malformed or invalid: the refresh token was not issued by this mock Entra ID (\(error.explanation))")
        }
        guard claims.appid?.lowercased() == request.clientID.lowercased() else {
            return error(400, "invalid_grant", 70_000, "The refresh token was issued to another client ('\(claims.appid ?? "")'), not '\(request.clientID.prefix(100))'.")
        }
        guard let tenant = directory.tenant(id: claims.tid), request.tenantIndependent || directory.tenant(named: request.tenant)?.id == tenant.id else {
            return error(400, "invalid_grant", 50_020, "User account from the refresh token does not exist in tenant '\(request.tenant.prefix(100))'.")
        }
        guard let user = tenant.users.first(where: { $0.objectId.lowercased() == claims.oid.lowercased() }) else {
            return error(400, "invalid_grant", 50_034, "The user account of the refresh token does not exist in the '\(tenant.domain)' directory.")
        }
        if let refusal = authenticateUserFlowClient(request, in: tenant) { return refusal }
        return userTokens(user: user, tenant: tenant, request: request)
    }

    // MARK: Clients

    struct ClientRefusal: Error { let response: Response }

    /// The client named `clientID`: a service principal of `tenant`, else a first-party public client.
    private func resolveClient(_ clientID: String, in tenant: EntraDirectory.Tenant) -> Result<Client, ClientRefusal> {
        if let principal = tenant.servicePrincipals.first(where: { $0.appId.lowercased() == clientID.lowercased() }) {
            return .success(.servicePrincipal(principal))
        }
        if let client = FirstPartyClient.named(clientID) { return .success(.firstParty(client)) }
        return .failure(ClientRefusal(response: error(
            400, "unauthorized_client", 700_016,
            "Application with identifier '\(clientID.prefix(100))' was not found in the directory '\(tenant.domain)'.")))
    }

    /// For user flows: a public client must send no secret, a confidential one its right secret. Nil when the
    /// client may go on.
    private func authenticateUserFlowClient(_ request: TokenRequest, in tenant: EntraDirectory.Tenant) -> Response? {
        let client: Client
        switch resolveClient(request.clientID, in: tenant) {
        case .success(let found): client = found
        case .failure(let refusal): return refusal.response
        }
        switch client {
        case let client where client.isPublic:
            guard request.clientSecret == nil else {
                return error(400, "invalid_client", 700_025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
            }
        case .firstParty:
            break  // always public
        case .servicePrincipal(let principal):
            guard let secret = request.clientSecret, !secret.isEmpty else {
                return error(401, "invalid_client", 7_000_218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. The application '\(principal.appId)' is a confidential client; first-party public clients such as Azure CLI's need none, nor do directory apps with \"publicClient\": true.")
            }
            guard principal.secrets.contains(where: { Self.constantTimeEquals($0, secret) }) else {
                return error(401, "invalid_client", 7_000_215, "Invalid client secret provided for app '\(principal.appId)'.")
            }
        }
        return nil
    }

    // MARK: Responses

    /// The access token (and for a user its companions) of a user flow.
    private func userTokens(user: EntraDirectory.User, tenant: EntraDirectory.Tenant, request: TokenRequest) -> Response {
        let now = clock()
        let groups = tenant.groups(of: user.objectId)
        let claims = AccessTokenClaims(
            aud: request.resource.audience, iss: Self.issuer(tenant.id), iat: now, nbf: now, exp: now + tokenLifetime,
            tid: tenant.id, oid: user.objectId, sub: user.objectId, idtyp: "user", appid: request.clientID.lowercased(), appidacr: "0",
            upn: user.userPrincipalName, uniqueName: user.userPrincipalName, name: user.displayName, scp: "user_impersonation",
            groups: groups.isEmpty ? nil : groups)
        return tokenResponse(access: claims, request: request, user: user)
    }

    /// Signs the access token and, for a user, the refresh token, ID token and `client_info` the request asks for.
    private func tokenResponse(access claims: AccessTokenClaims, request: TokenRequest, user: EntraDirectory.User?) -> Response {
        guard let token = JSONWebToken.sign(claims, with: signingKey) else {
            return error(500, "server_error", 50_000, "The token could not be signed.")
        }
        var body: [String: Any] = [
            "token_type": "Bearer", "expires_in": tokenLifetime, "ext_expires_in": tokenLifetime, "access_token": token,
        ]
        if request.version2 {
            // The granted scopes; MSAL files the token in its cache under them.
            let named = request.scopes.filter { !Self.openIDScopes.contains($0) }
            body["scope"] = (user == nil ? named : named.flatMap { scope -> [String] in
                scope.lowercased().hasSuffix("/.default") ? [String(scope.dropLast(".default".count)) + "user_impersonation", scope] : [scope]
            }).joined(separator: " ")
        } else {
            body["expires_on"] = String(claims.exp)
            body["not_before"] = String(claims.nbf)
            body["resource"] = request.resource.audience
        }
        if let user {
            if !request.version2 || request.asks("offline_access") {
                var refresh = claims
                refresh.aud = Self.refreshTokenAudience
                refresh.exp = claims.iat + Self.refreshTokenLifetime
                refresh.groups = nil
                refresh.scp = nil
                guard let signed = JSONWebToken.sign(refresh, with: signingKey) else {
                    return error(500, "server_error", 50_000, "The refresh token could not be signed.")
                }
                body["refresh_token"] = signed
            }
            if !request.version2 || request.asks("openid") {
                let id = IDTokenClaims(
                    aud: request.clientID.lowercased(),
                    iss: request.version2 ? "\(request.baseURL)/\(claims.tid)/v2.0" : Self.issuer(claims.tid),
                    iat: claims.iat, nbf: claims.nbf, exp: claims.exp, name: user.displayName, oid: user.objectId,
                    preferred_username: request.version2 ? user.userPrincipalName : nil,
                    upn: request.version2 ? nil : user.userPrincipalName, sub: user.objectId, tid: claims.tid,
                    ver: request.version2 ? "2.0" : "1.0")
                guard let signed = JSONWebToken.sign(id, with: signingKey) else {
                    return error(500, "server_error", 50_000, "The ID token could not be signed.")
                }
                body["id_token"] = signed
            }
            if request.form["client_info"] == "1" {
                let info = "{\"uid\":\"\(user.objectId)\",\"utid\":\"\(claims.tid)\"}"
                body["client_info"] = Base64URL.encode(Array(info.utf8))
            }
        }
        return json(200, body)
    }

    /// The `iss` of v1.0 access tokens for a tenant.
    static func issuer(_ tenantID: String) -> String { "https://sts.windows.net/\(tenantID)/" }
}
