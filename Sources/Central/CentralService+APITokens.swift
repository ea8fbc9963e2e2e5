import Foundation

/// Handlers of `/api/apiTokens` (the 2022-07-31 spec; spec operations ApiTokens_List, _Get, _Create, _Remove).
extension CentralService {
    /// Default lifetime of a new token when the body has no `expiry`: 365 days (the 2022-07-31 spec "about one year").
    static let defaultTokenLifetimeMilliseconds: Int64 = 365 * 24 * 3600 * 1000

    func listAPITokens(_ context: RequestContext) throws -> Reply {
        let page = try pageRequest(context, allowsMaxPageSize: false)
        let version = context.version
        let result = version.hasOrganizations
            ? try store.apiTokens(appID: context.application.id, after: page.after, limit: page.limit)
            : try store.apiTokens(appID: context.application.id, after: page.after, limit: page.limit) { $0.exists(in: version) }
        return listReply(result.items.map { $0.json(in: version) }, next: result.next, context: context)
    }

    /// ApiTokens_Get: 404 also for a token the api-version cannot express (organization roles only, in a version
    /// without organizations).
    func getAPIToken(_ context: RequestContext) throws -> Reply {
        let id = context.parameter("tokenId")
        guard let token = try store.apiToken(appID: context.application.id, id: id), token.exists(in: context.version) else {
            throw CentralError.notFound("API token", id: id)
        }
        return Reply(status: 200, body: token.json(in: context.version))
    }

    /// ApiTokens_Create: 200 with the token string, which is never shown again. An id in use is refused with
    /// 422 (assumed: the spec names no conflict answer); `expiry` must be an RFC 3339 date-time in the future.
    func createAPIToken(_ context: RequestContext) throws -> Reply {
        let id = context.parameter("tokenId")
        guard Validation.isResourceID(id) else {
            throw CentralError.invalidBody("The API token id '\(id.clipped)' is not valid: use 1 to 48 letters, digits, '-' or '_'.")
        }
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        let roles = try context.roleAssignments(in: body, store: store)
        try context.authorizeGrant(roles, tree: try organizationTree(context))
        var expiry = context.now + Self.defaultTokenLifetimeMilliseconds
        if let text = try context.optionalString("expiry", in: body) {
            guard let parsed = Timestamp.parseISO8601(text) else {
                throw CentralError.invalidBody("The field 'expiry' must be an RFC 3339 date-time from 1970 on, such as 2030-01-31T00:00:00.000Z, not '\(text.clipped)'.")
            }
            guard parsed > context.now else {
                throw CentralError.invalidBody("The field 'expiry' (\(text.clipped)) lies in the past; a token must expire in the future.")
            }
            expiry = parsed
        }
        let secret = try APIToken.newSecret()
        let token = APIToken(id: id, roles: roles, expiryMilliseconds: expiry, secretHash: Crypto.sha256(secret))
        defer { cache.invalidate() }
        let inserted: Bool
        do { inserted = try store.insert(token, appID: context.application.id) } catch let missing as CentralStore.MissingOrganization {
            throw CentralError.missingReference("No organization with id '\(missing.id.clipped)' exists.")
        }
        guard inserted else {
            throw CentralError.invalidBody("An API token with id '\(id.clipped)' exists already; delete it first or choose another id.")
        }
        let tokenString = SharedAccessSignature.string(
            applicationID: context.application.id, tokenID: token.id, expiryMilliseconds: token.expiryMilliseconds, secret: secret)
        guard case .object(var members) = token.json(in: context.version) else { return Reply(status: 200, body: token.json(in: context.version)) }
        members.append(("token", .string(tokenString)))
        return Reply(status: 200, body: .object(members))
    }

    func removeAPIToken(_ context: RequestContext) throws -> Reply {
        let id = context.parameter("tokenId")
        defer { cache.invalidate() }  // the deleted token must fail from the next request on
        if !context.version.hasOrganizations, let token = try store.apiToken(appID: context.application.id, id: id), !token.exists(in: context.version) {
            throw CentralError.notFound("API token", id: id)  // one the version cannot express is as good as absent
        }
        guard try store.deleteAPIToken(appID: context.application.id, id: id) else {
            throw CentralError.notFound("API token", id: id)
        }
        return Reply(status: 204)
    }
}
