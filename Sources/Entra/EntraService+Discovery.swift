import Foundation

/// What clients ask Entra ID before they ask for a token: the OpenID Connect discovery documents, instance discovery
/// (MSAL's check that an authority is a real Entra ID) and user realm discovery (MSAL's check, before a username and
/// password sign-in, whether the user's domain is federated).
extension EntraService {
    /// `GET /{tenant}/v2.0/.well-known/openid-configuration` and `GET /{tenant}/.well-known/openid-configuration`
    /// (OpenID Connect Discovery 1.0): the endpoints under the scheme, host and port the client used.
    func discovery(_ request: Request, version2: Bool) -> Response {
        let directory = self.directory
        let tenantID: String
        if Self.tenantIndependentNames.contains(request.tenant.lowercased()) {
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
                "issuer": Self.issuer(tenantID),
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

    /// `GET /common/discovery/instance?api-version=1.1&authorization_endpoint=<url>`: MSAL (and azure-identity
    /// through it) sends this to `login.microsoftonline.com` for any authority it does not know, unless instance
    /// discovery is turned off. Answers `tenant_discovery_endpoint` (the OpenID configuration beside the
    /// authorization endpoint, v2.0 when that is a v2.0 endpoint) and `metadata` naming the host as its own alias.
    ///
    /// The mock vouches for every authority of the form `https://host[:port]/{tenant}/oauth2[/v2.0]/authorize`
    /// (assumed: it cannot tell which hosts lead to it); anything else is `invalid_instance` (AADSTS50049), as
    /// Entra ID answers for an authority it does not know.
    func instanceDiscovery(_ request: Request) -> Response {
        guard let endpoint = request.query.first(where: { $0.name == "authorization_endpoint" })?.value, !endpoint.isEmpty else {
            return error(400, "invalid_request", 90_014, "The required field 'authorization_endpoint' is missing from the query.")
        }
        guard let url = URLComponents(string: endpoint), ["https", "http"].contains(url.scheme?.lowercased() ?? ""),
              let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil
        else {
            return error(400, "invalid_instance", 50_049, "Unknown or invalid instance: '\(endpoint.prefix(200))' is not an authorization endpoint URL.")
        }
        let segments = url.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        let version2 = segments.count == 4 && segments[2].lowercased() == "v2.0"
        guard (segments.count == 3 || version2), !segments[0].isEmpty, segments[1].lowercased() == "oauth2",
              segments.last?.lowercased() == "authorize"
        else {
            return error(400, "invalid_instance", 50_049, "Unknown or invalid instance: '\(endpoint.prefix(200))' is not of the form https://host/{tenant}/oauth2[/v2.0]/authorize.")
        }
        let authority = url.port.map { "\(host):\($0)" } ?? host
        let origin = "\(url.scheme?.lowercased() ?? "https")://\(authority)"
        return json(200, [
            "tenant_discovery_endpoint": "\(origin)/\(segments[0])\(version2 ? "/v2.0" : "")/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [["preferred_network": authority, "preferred_cache": authority, "aliases": [authority]]],
        ])
    }

    /// `GET /common/userrealm/{user}?api-version=1.0`: `Managed` with the tenant's domain for a user of a domain in
    /// the directory, `Unknown` for any other (a cloud-only account either way, so MSAL goes on with the password
    /// grant: the mock has no federation).
    func userRealm(_ user: String) -> Response {
        var body: [String: Any] = [
            "ver": "1.0", "cloud_instance_name": "microsoftonline.com", "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        ]
        let domain = user.split(separator: "@").last.map { String($0).lowercased() } ?? ""
        if user.contains("@"), let tenant = directory.tenants.first(where: { $0.domain.lowercased() == domain }) {
            body["account_type"] = "Managed"
            body["domain_name"] = tenant.domain
        } else {
            body["account_type"] = "Unknown"
        }
        return json(200, body)
    }
}
