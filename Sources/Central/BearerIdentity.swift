/// Who a verified Microsoft Entra ID bearer token names ("Authenticate and authorize IoT Central REST API calls", form 2). Central matches it to the
/// application's users; verifying the token itself is the Entra module's job, wired in by MockServer.
public struct BearerIdentity: Sendable, Equatable {
    /// `tid`.
    public let tenantId: String
    /// `oid`: the enterprise application's object id for a service principal, the user's object id for a user.
    public let objectId: String
    /// `upn`, `unique_name` or `email`: the names an `email` user is matched by (case-insensitively).
    public let names: [String]
    /// `groups`: object ids of the groups the user is in.
    public let groups: [String]
    /// `exp` in Unix epoch milliseconds (for caching).
    public let expiryMilliseconds: Int64
    /// `iss`, for the decision trace.
    public let issuer: String?
    /// `appid`: the client the token was issued to, for the decision trace.
    public let appId: String?
    /// `name`: the display name of the user or service principal, for the decision trace.
    public let displayName: String?

    public init(tenantId: String, objectId: String, names: [String], groups: [String], expiryMilliseconds: Int64,
                issuer: String? = nil, appId: String? = nil, displayName: String? = nil) {
        self.tenantId = tenantId; self.objectId = objectId; self.names = names; self.groups = groups
        self.expiryMilliseconds = expiryMilliseconds; self.issuer = issuer; self.appId = appId; self.displayName = displayName
    }
}

/// Why a bearer token was refused (401), for the `x-iotc-mock-reason` header and the journal: "the token expired",
/// "the signature does not match any key of the mock Entra ID", ...
public struct BearerRejection: Error, Sendable, Equatable {
    public let reason: String
    public init(reason: String) { self.reason = reason }
}

/// Verifies the token of an `Authorization: Bearer <token>` header: the identity, or why it is malformed, wrongly
/// signed, expired, for another audience or from an unknown tenant (all 401).
public typealias BearerVerifier = @Sendable (String) -> Result<BearerIdentity, BearerRejection>
