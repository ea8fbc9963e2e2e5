import Foundation

/// The few Azure Resource Manager (ARM) endpoints that signing in with Azure tools touches: `az login` lists tenants
/// and subscriptions right after it gets a token, and `az cloud register --endpoint-resource-manager` reads the
/// cloud metadata. Nothing else of ARM is emulated.
///
/// - `GET /metadata/endpoints?api-version=...` (anonymous): the cloud metadata, naming the mock (the scheme, host
///   and port the client used) as Resource Manager and as the active directory, and IoT Central's resource. An
///   api-version before 2020 answers a list of clouds, later ones one cloud (as `az cloud register` expects of
///   2022-09-01).
/// - `GET /tenants?api-version=...`, `GET /subscriptions?api-version=...`, `GET /subscriptions/{id}?api-version=...`
///   (with a bearer token of the mock Entra ID for Resource Manager): the token's tenant and its subscriptions from
///   the directory fixture ("Tenants - List", "Subscriptions - List", learn.microsoft.com/rest/api/resources).
///
/// Errors use ARM's shape `{"error":{"code","message"}}`: a missing or unusable `Authorization` header is 401
/// (`AuthenticationFailed`, `InvalidAuthenticationToken`, `ExpiredAuthenticationToken`,
/// `InvalidAuthenticationTokenAudience`) with a `WWW-Authenticate: Bearer` challenge, a missing api-version 400
/// (`MissingApiVersionParameter`), an unknown subscription 404 (`SubscriptionNotFound`), any other path 404.
public struct ResourceManager: Sendable {
    public let entra: EntraService

    /// The first path segments that belong to Resource Manager. No tenant can be named so: tenant ids are GUIDs and
    /// domains have a dot.
    public static let pathWords: Set<String> = ["subscriptions", "tenants", "metadata", "providers"]

    /// The host name of Azure's public Resource Manager, and the sign-in host that belongs with it.
    static let publicHost = "management.azure.com"
    static let publicLoginEndpoint = "https://login.microsoftonline.com"

    public init(entra: EntraService) { self.entra = entra }

    /// One request whose first path segment is one of `pathWords`.
    public struct Request: Sendable {
        public var method: String
        public var path: [String]
        public var query: [(name: String, value: String)]
        public var authorization: String?
        /// `https://host[:port]` as the client called it.
        public var baseURL: String

        public init(method: String, path: [String], query: [(name: String, value: String)], authorization: String?, baseURL: String) {
            self.method = method; self.path = path; self.query = query; self.authorization = authorization; self.baseURL = baseURL
        }
    }

    /// Answers one request. Never throws: failures are ARM error responses.
    public func handle(_ request: Request) -> EntraService.Response {
        let path = request.path.map { $0.lowercased() }
        let known = path == ["metadata", "endpoints"] || path == ["tenants"] || path == ["subscriptions"]
            || (path.count == 2 && path[0] == "subscriptions")
        guard known else {
            return Self.failure(404, "NotFound", "iotc-mock answers only GET /subscriptions, /subscriptions/{id}, /tenants and /metadata/endpoints of Azure Resource Manager, not /\(request.path.joined(separator: "/").prefix(200)).")
        }
        guard request.method == "GET" else {
            var response = Self.failure(405, "MethodNotAllowed", "The requested resource does not support http method '\(request.method.prefix(20))'.")
            response.headers.append(("Allow", "GET"))
            return response
        }
        guard let version = request.query.first(where: { $0.name.lowercased() == "api-version" })?.value, !version.isEmpty else {
            return Self.failure(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
        }
        if path[0] == "metadata" { return metadata(baseURL: request.baseURL, version: version) }
        let claims: AccessTokenClaims
        switch authenticate(request.authorization, baseURL: request.baseURL) {
        case .success(let found): claims = found
        case .failure(let refusal): return refusal.response
        }
        let directory = entra.directory
        guard let tenant = directory.tenant(id: claims.tid) else {
            return Self.failure(401, "InvalidAuthenticationToken", "The access token is from a tenant that is not in the directory.")
        }
        switch path {
        case ["tenants"]:
            return Self.json(200, ["value": [Self.tenantJSON(tenant)]])
        case ["subscriptions"]:
            let subscriptions = tenant.subscriptions.map { Self.subscriptionJSON($0, tenant: tenant) }
            return Self.json(200, ["value": subscriptions, "count": ["type": "Total", "value": subscriptions.count]])
        default:
            guard let subscription = tenant.subscriptions.first(where: { $0.subscriptionId.lowercased() == path[1] }) else {
                return Self.failure(404, "SubscriptionNotFound", "The subscription '\(request.path[1].prefix(100))' could not be found.")
            }
            return Self.json(200, Self.subscriptionJSON(subscription, tenant: tenant))
        }
    }

    /// The cloud metadata ("Azure Resource Manager metadata endpoints"; Azure CLI's `az cloud register` reads
    /// `authentication.loginEndpoint`, `authentication.audiences[0]` and `resourceManager`). The IoT Central entries
    /// are the mock's own addition (assumed): the real document names no IoT Central endpoint.
    private func metadata(baseURL: String, version: String) -> EntraService.Response {
        let onPublicHost = URLComponents(string: baseURL)?.host?.lowercased() == Self.publicHost
        let login = onPublicHost ? Self.publicLoginEndpoint : baseURL
        let host = URLComponents(string: baseURL)?.host ?? "localhost"
        let cloud: [String: Any] = [
            "name": "iotc-mock",
            "portal": baseURL,
            "resourceManager": baseURL + "/",
            "authentication": [
                "loginEndpoint": login,
                "audiences": [EntraResource.resourceManager.rawValue, EntraResource.resourceManagerByHost.rawValue],
                "tenant": "common",
                "identityProvider": "AAD",
            ],
            "suffixes": ["iotCentral": onPublicHost ? "azureiotcentral.com" : host],
            "iotCentralResourceId": EntraResource.iotCentral.rawValue,
        ]
        // The 2019-05-01 form lists every cloud; later versions answer the cloud of the host asked.
        return version < "2020" ? Self.json(200, [cloud]) : Self.json(200, cloud)
    }

    struct Refusal: Error { let response: EntraService.Response }

    /// The claims of a Resource Manager bearer token, or ARM's 401.
    private func authenticate(_ header: String?, baseURL: String) -> Result<AccessTokenClaims, Refusal> {
        func refuse(_ code: String, _ message: String, _ description: String) -> Result<AccessTokenClaims, Refusal> {
            var response = Self.failure(401, code, message)
            let login = URLComponents(string: baseURL)?.host?.lowercased() == Self.publicHost ? Self.publicLoginEndpoint : baseURL
            response.headers.append(("WWW-Authenticate", "Bearer authorization_uri=\"\(login)/common\", error=\"invalid_token\", error_description=\"\(description)\""))
            response.headers.append(("x-ms-failure-cause", "gateway"))
            return .failure(Refusal(response: response))
        }
        guard let header, !header.isEmpty else {
            return refuse("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", "The authentication failed because of missing 'Authorization' header.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return refuse("AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.", "The authentication failed because the 'Authorization' header is not a bearer token.")
        }
        do {
            return .success(try entra.verify(String(parts[1]).trimmingCharacters(in: .whitespaces), for: .resourceManager))
        } catch .expired {
            return refuse("ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time (by the mock's clock).", "The access token has expired.")
        } catch .wrongAudience(let audience) {
            return refuse(
                "InvalidAuthenticationTokenAudience",
                "The access token has been obtained for wrong audience or resource '\(audience.prefix(100))'. It should exactly match with one of the allowed audiences '\(EntraResource.resourceManager.acceptedAudiences.sorted().joined(separator: "','"))'.",
                "The access token has an audience that is not Resource Manager's.")
        } catch {
            return refuse("InvalidAuthenticationToken", "The access token is invalid: \(error.explanation)", "The access token is invalid.")
        }
    }

    private static func tenantJSON(_ tenant: EntraDirectory.Tenant) -> [String: Any] {
        [
            "id": "/tenants/\(tenant.id)", "tenantId": tenant.id, "tenantCategory": "Home", "countryCode": "US",
            "displayName": tenant.displayName, "domains": [tenant.domain], "defaultDomain": tenant.domain, "tenantType": "AAD",
        ]
    }

    private static func subscriptionJSON(_ subscription: EntraDirectory.Subscription, tenant: EntraDirectory.Tenant) -> [String: Any] {
        [
            "id": "/subscriptions/\(subscription.subscriptionId)", "subscriptionId": subscription.subscriptionId,
            "tenantId": tenant.id, "displayName": subscription.displayName, "state": "Enabled",
            "subscriptionPolicies": ["locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"],
            "authorizationSource": "RoleBased", "managedByTenants": [] as [Any], "tags": [:] as [String: Any],
        ]
    }

    /// ARM's error body, with a request id like ARM's.
    static func failure(_ status: Int, _ code: String, _ message: String) -> EntraService.Response {
        var response = json(status, ["error": ["code": code, "message": message]])
        response.headers.append(("x-ms-error-code", code))
        return response
    }

    static func json(_ status: Int, _ object: Any) -> EntraService.Response {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return EntraService.Response(status: status, headers: [
            ("Content-Type", "application/json; charset=utf-8"), ("x-ms-request-id", UUID().uuidString.lowercased()),
        ], body: Array(body))
    }
}
