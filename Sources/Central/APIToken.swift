import Foundation

/// An API token of an application (spec definition `ApiToken`, the 2022-07-31 spec).
///
/// The token string is never stored, nor anything it could be made from: its `sig` is 32 random bytes, and the
/// store keeps only their SHA-256 (`secretHash`). A request's token verifies when the hash of its `sig` matches, in
/// constant time, together with the id, application and expiry. So the database file alone mints no token, and a
/// token deleted and created again under the same id has a new secret: the old string stays dead.
public struct APIToken: Sendable, Equatable {
    /// The token id: the `{tokenId}` of the path and the `skn` of the token string.
    public let id: String
    public let roles: [RoleAssignment]
    /// Expiry in Unix epoch milliseconds (the `se` of the token string).
    public let expiryMilliseconds: Int64
    /// SHA-256 of the token's secret (the 32 bytes of its `sig`).
    public let secretHash: [UInt8]

    public init(id: String, roles: [RoleAssignment], expiryMilliseconds: Int64, secretHash: [UInt8]) {
        self.id = id; self.roles = roles; self.expiryMilliseconds = expiryMilliseconds; self.secretHash = secretHash
    }

    /// A new secret for a token: 32 random bytes (the `sig` of its string).
    /// - Throws: when the system has no random bytes.
    public static func newSecret() throws -> [UInt8] { try Crypto.randomBytes(32) }

    /// The response shape without the token string: `{"id", "roles", "expiry"}` (ApiTokens_Get, ApiTokens_List).
    public var json: JSONValue { json(in: .v2022_10_31_preview) }

    /// The response shape in `version`: only the role assignments it can express.
    public func json(in version: APIVersion) -> JSONValue {
        .object([
            ("id", .string(id)),
            ("roles", .array(roles.filter { $0.exists(in: version) }.map(\.json))),
            ("expiry", .string(Timestamp.iso8601(milliseconds: expiryMilliseconds))),
        ])
    }

    /// Whether `version` can express this token: one whose every role assignment names an organization has no
    /// roles in a version without organizations.
    public func exists(in version: APIVersion) -> Bool { roles.contains { $0.exists(in: version) } }
}
