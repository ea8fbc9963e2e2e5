/// The claims of a Microsoft Entra ID v1.0 access token for IoT Central (the Microsoft identity platform docs). Times are Unix epoch
/// seconds. User tokens carry `upn`, `unique_name`, `name` and `scp`; app tokens `appid` and `appidacr`.
public struct AccessTokenClaims: Codable, Sendable, Equatable {
    public var aud: String
    public var iss: String
    public var iat: Int64
    public var nbf: Int64
    public var exp: Int64
    /// Tenant id.
    public var tid: String
    /// Object id of the principal (the enterprise application's, for a service principal).
    public var oid: String
    public var sub: String
    /// `app` or `user`.
    public var idtyp: String
    public var ver: String = "1.0"
    public var appid: String?
    public var appidacr: String?
    public var upn: String?
    public var unique_name: String?
    public var name: String?
    /// An email address, when a token carries one (matched like `upn`).
    public var email: String?
    public var scp: String?
    /// Object ids of the groups a user is in.
    public var groups: [String]?

    public init(
        aud: String, iss: String, iat: Int64, nbf: Int64, exp: Int64, tid: String, oid: String, sub: String,
        idtyp: String, appid: String? = nil, appidacr: String? = nil, upn: String? = nil, uniqueName: String? = nil,
        name: String? = nil, scp: String? = nil, groups: [String]? = nil
    ) {
        self.aud = aud; self.iss = iss; self.iat = iat; self.nbf = nbf; self.exp = exp; self.tid = tid; self.oid = oid
        self.sub = sub; self.idtyp = idtyp; self.appid = appid; self.appidacr = appidacr; self.upn = upn
        self.unique_name = uniqueName; self.name = name; self.scp = scp; self.groups = groups
    }
}
