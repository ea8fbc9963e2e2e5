/// Turns an `Authorization` header into a `Principal` (REFERENCE.md §2), or refuses it with 401.
public struct Authenticator: Sendable {
    public let store: CentralStore

    public init(store: CentralStore) { self.store = store }

    /// Verifies the header values of one request against `application` at time `now` (epoch ms).
    ///
    /// 401 `Unauthenticated` when: there is no header or more than one; the scheme is not
    /// `SharedAccessSignature` (Bearer tokens arrive with the Entra issue); the token string does not parse; `sr`
    /// is another application; no token with id `skn` exists (deleted, or never made); the signature, `se` or
    /// nonce do not match the stored token; or `se` is not in the future.
    /// - Throws: `CentralError.unauthenticated`, or `CentralError.internalError` when the store fails.
    /// - Returns: the principal, and the token's expiry in epoch milliseconds (for caching).
    public func authenticate(_ authorization: [String], application: Application, roles: [Role], now: Int64) throws(CentralError) -> (Principal, Int64) {
        guard authorization.count == 1, let header = authorization.first,
              let sas = SharedAccessSignature.parse(header)
        else { throw .unauthenticated }
        let token: APIToken?
        do {
            token = try store.apiToken(appID: application.id, id: sas.keyName)
        } catch {
            throw CentralService.storeFailure(error)
        }
        guard let token, sas.isValid(for: application, token: token), token.expiryMilliseconds > now else {
            throw .unauthenticated
        }
        let principal = Principal(
            identity: .apiToken(id: token.id), roles: token.roles,
            applicationPermissions: Principal.permissions(of: token.roles, definitions: roles))
        return (principal, token.expiryMilliseconds)
    }
}
