/// Turns an `Authorization` header into a `Principal` ("Authenticate and authorize IoT Central REST API calls"), or refuses it with 401.
public struct Authenticator: Sendable {
    public let store: CentralStore
    /// Verifies bearer tokens; without one, every `Bearer` header is refused with 401.
    public let bearerVerifier: BearerVerifier?

    public init(store: CentralStore, bearerVerifier: BearerVerifier? = nil) {
        self.store = store
        self.bearerVerifier = bearerVerifier
    }

    /// Verifies the header values of one request against `application` at time `now` (epoch ms).
    ///
    /// 401 `Unauthenticated` when: there is no header or more than one; the scheme is neither
    /// `SharedAccessSignature` nor `Bearer`; a bearer token fails `bearerVerifier`; the token string does not parse; `sr`
    /// is another application; no token with id `skn` exists (deleted, or never made); the signature, `se` or
    /// nonce do not match the stored token; or `se` is not in the future.
    /// - Throws: `CentralError.unauthenticated`, or `CentralError.internalError` when the store fails.
    /// - Returns: the principal, and the token's expiry in epoch milliseconds (for caching).
    public func authenticate(_ authorization: [String], application: Application, roles: [Role], now: Int64) throws(CentralError) -> (Principal, Int64) {
        guard let header = authorization.first else { throw .unauthenticated(because: "the request has no Authorization header.") }
        guard authorization.count == 1 else { throw .unauthenticated(because: "the request has \(authorization.count) Authorization headers; send one.") }
        guard !header.isEmpty else { throw .unauthenticated(because: "the Authorization header is empty.") }
        // The HTTP layer trims trailing white space, so `Bearer ` arrives as the bare scheme word.
        for scheme in ["Bearer", SharedAccessSignature.scheme] where Validation.asciiCaseInsensitiveEquals(header.utf8, scheme.utf8) {
            throw .unauthenticated(because: "the Authorization header names the scheme '\(scheme)' but carries no token after it.")
        }
        if Validation.asciiCaseInsensitiveEquals(header.utf8.prefix(7), "Bearer ".utf8) {
            guard let bearerVerifier else { throw .unauthenticated(because: "bearer tokens are not accepted: the mock Entra ID is off.") }
            switch bearerVerifier(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) {
            case .success(let identity): return try principal(for: identity, application: application, roles: roles)
            case .failure(let rejection): throw .unauthenticated(because: "the bearer token is not valid: \(rejection.reason)")
            }
        }
        guard let sas = SharedAccessSignature.parse(header) else {
            let scheme = header.prefix { $0 != " " }
            guard Validation.asciiCaseInsensitiveEquals(scheme.utf8, SharedAccessSignature.scheme.utf8) else {
                throw .unauthenticated(because: "the scheme '\(String(scheme).clipped)' is neither SharedAccessSignature nor Bearer.")
            }
            throw .unauthenticated(because: "the SharedAccessSignature is malformed: it needs sr, sig (base64 of 32 bytes), skn and se (epoch milliseconds), each once.")
        }
        guard sas.resource.lowercased() == application.id else {
            throw .unauthenticated(because: "the token is for the application '\(sas.resource.clipped)', not this one (\(application.id)).")
        }
        let token: APIToken?
        do {
            token = try store.apiToken(appID: application.id, id: sas.keyName)
        } catch {
            throw CentralService.storeFailure(error)
        }
        guard let token else {
            throw .unauthenticated(because: "no API token with id '\(sas.keyName.clipped)' exists in this application (deleted, reset, or never created).")
        }
        guard sas.isValid(for: application, token: token) else {
            throw .unauthenticated(because: "the signature of the API token '\(token.id.clipped)' does not match (forged, altered, or from before the token was re-created).")
        }
        guard token.expiryMilliseconds > now else {
            throw .unauthenticated(because: "the API token '\(token.id.clipped)' expired at \(Timestamp.iso8601(milliseconds: token.expiryMilliseconds)).")
        }
        let principal = Principal(identity: .apiToken(id: token.id), roles: token.roles, definitions: roles, credential: .apiToken(token))
        return (principal, token.expiryMilliseconds)
    }

    /// The application users a bearer identity is ("Authenticate and authorize IoT Central REST API calls"): a `servicePrincipal` user by tenant and object
    /// id, an `email` user by any of the token's names (case-insensitively), an `adGroup` user by tenant and one of
    /// the token's groups. The permissions are the union over all of them; no match is a valid identity that is no
    /// user of the app, which authorization answers 403.
    private func principal(for identity: BearerIdentity, application: Application, roles: [Role]) throws(CentralError) -> (Principal, Int64) {
        let users: [User]
        do { users = try store.users(appID: application.id, after: 0, limit: 100_000).items } catch {
            throw CentralService.storeFailure(error)
        }
        return (Self.principal(for: identity, among: users, roles: roles), identity.expiryMilliseconds)
    }

    /// The principal `identity` is among `users` (see `principal(for:application:roles:)`).
    static func principal(for identity: BearerIdentity, among users: [User], roles: [Role]) -> Principal {
        let names = Set(identity.names.map(CentralStore.emailKey))
        let groups = Set(identity.groups.map { $0.lowercased() })
        let tenant = identity.tenantId.lowercased(), object = identity.objectId.lowercased()
        var matched: [(user: User, by: String)] = []
        for user in users {
            switch user.type {
            case .servicePrincipal where user.tenantId?.lowercased() == tenant && user.objectId?.lowercased() == object:
                matched.append((user, "tenant and object id"))
            case .email where user.email.map { names.contains(CentralStore.emailKey($0)) } ?? false:
                matched.append((user, "email"))
            case .adGroup where user.tenantId?.lowercased() == tenant && (user.objectId.map { groups.contains($0.lowercased()) } ?? false):
                matched.append((user, "group membership"))
            default:
                break
            }
        }
        return Principal(
            identity: .bearer(tenantId: identity.tenantId, objectId: identity.objectId, users: matched.map(\.user.id)),
            roles: matched.flatMap(\.user.roles), definitions: roles, credential: .bearer(identity),
            matchedUsers: matched.map { MatchedUser(id: $0.user.id, type: $0.user.type, name: $0.user.email ?? $0.user.objectId ?? $0.user.id, matchedBy: $0.by) },
            assignmentUsers: matched.flatMap { entry in entry.user.roles.map { _ in entry.user.id } })
    }
}
