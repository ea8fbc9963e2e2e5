/// The claims of an OpenID Connect ID token that the mock Entra ID returns beside a user's access token when the
/// client asks for the `openid` scope (v2.0) or uses the v1 endpoint, as MSAL does on every user sign-in: MSAL keeps
/// the account (user name, object id, tenant) from it. Times are Unix epoch seconds. Claim names follow the
/// Microsoft identity platform's "ID token claims reference" (learn.microsoft.com).
public struct IDTokenClaims: Codable, Sendable, Equatable {
    /// The client (application) id the token is for.
    public var aud: String
    /// `{authority}/{tenant id}/v2.0` (v2.0) or `https://sts.windows.net/{tenant id}/` (v1).
    public var iss: String
    public var iat: Int64
    public var nbf: Int64
    public var exp: Int64
    public var name: String
    public var oid: String
    /// The user principal name (v2.0).
    public var preferred_username: String?
    /// The user principal name (v1).
    public var upn: String?
    public var sub: String
    public var tid: String
    /// `2.0` or `1.0`.
    public var ver: String
}
