import Foundation

/// An API token of an application (spec definition `ApiToken`, the 2022-07-31 spec).
///
/// The token string itself is never stored: the store keeps a random per-token `nonce`, and the string is the
/// signature over the token's fields and that nonce (see `SharedAccessSignature`). So a token deleted and created
/// again under the same id gets a new nonce, and the old string stays dead.
public struct APIToken: Sendable, Equatable {
    /// The token id: the `{tokenId}` of the path and the `skn` of the token string.
    public let id: String
    public let roles: [RoleAssignment]
    /// Expiry in Unix epoch milliseconds (the `se` of the token string).
    public let expiryMilliseconds: Int64
    /// 16 random bytes that make this token's signature unique.
    public let nonce: [UInt8]

    public init(id: String, roles: [RoleAssignment], expiryMilliseconds: Int64, nonce: [UInt8]) {
        self.id = id; self.roles = roles; self.expiryMilliseconds = expiryMilliseconds; self.nonce = nonce
    }

    /// The response shape without the token string: `{"id", "roles", "expiry"}` (ApiTokens_Get, ApiTokens_List).
    public var json: JSONValue { json(in: .v2022_10_31_preview) }

    /// The response shape in `version` (role assignments as that version's model has them).
    public func json(in version: APIVersion) -> JSONValue {
        .object([
            ("id", .string(id)),
            ("roles", .array(roles.map { $0.json(in: version) })),
            ("expiry", .string(Timestamp.iso8601(milliseconds: expiryMilliseconds))),
        ])
    }
}
