/// Handlers of `/api/users` (the 2022-07-31 spec; spec operations Users_List, _Get, _Create, _Update, _Remove).
extension CentralService {
    /// Users_List: an organization-scoped caller sees the users with a role on its organizations or below
    /// ("Manage users and roles in IoT Central").
    func listUsers(_ context: RequestContext) throws -> Reply {
        let page = try pageRequest(context, allowsMaxPageSize: context.version.hasMaxPageSize)
        let result: (items: [User], next: Int64?)
        let version = context.version
        if context.scope == .application {
            result = version.hasADGroupUsers
                ? try store.users(appID: context.application.id, after: page.after, limit: page.limit)
                : try store.users(appID: context.application.id, after: page.after, limit: page.limit) { $0.exists(in: version) }
        } else {
            let visible = context.scope.organizations(in: try organizationTree(context))  // one pass over the tree
            result = try store.users(appID: context.application.id, after: page.after, limit: page.limit) {
                $0.exists(in: version) && AccessScope.containsAny(of: $0.roles, in: visible)
            }
        }
        return listReply(result.items.map { $0.json(in: version) }, next: result.next, context: context)
    }

    /// Users_Get: 403 for a user an organization-scoped caller cannot see (assumed, docs/fidelity.md).
    func getUser(_ context: RequestContext) throws -> Reply {
        let id = context.parameter("userId")
        guard let user = try existingUser(id, context: context) else { throw CentralError.notFound("user", id: id) }
        guard AccessScope.containsAny(of: user.roles, in: context.scope.organizations(in: try organizationTree(context))) else {
            throw CentralError.forbidden("the user '\(id.clipped)' has no role on \(context.scope.description), where the caller holds '\(context.operation.permission)'.")
        }
        return Reply(status: 200, body: user.json(in: context.version))
    }

    /// Users_Create: creates the user, or, when the id exists with the same type and identity, replaces its
    /// roles (the spec's examples call this operation "Add or update"). Changing the type or identity of an
    /// existing id is refused like a PATCH of those fields. Read-only `id` in the body is ignored.
    func createUser(_ context: RequestContext) throws -> Reply {
        let id = context.parameter("userId")
        let version = context.version
        let stored = try store.user(appID: context.application.id, id: id)
        if let stored, !stored.exists(in: version) {
            throw CentralError.invalidBody("The user id '\(id.clipped)' is taken by a user that api-version \(version.rawValue) cannot show (an adGroup user, or one with organization roles only); use a newer api-version.")
        }
        // The id rules of the version apply to a new user; an existing one keeps the id it was made with.
        if stored == nil {
            if version.limitsIdentityIDs {
                guard Validation.isResourceID(id) else {
                    throw CentralError.invalidBody("The user id '\(id.clipped)' is not valid: use 1 to 48 letters, digits, '-' or '_'.")
                }
            } else {
                guard Validation.isUnlimitedID(id) else {
                    throw CentralError.invalidBody("The user id '\(id.clipped)' is not valid: use 1 to 255 characters without control characters or '/', and not '.' or '..'.")
                }
            }
        }
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        let typeText = try context.requiredString("type", in: body, for: "a user")
        guard let type = User.Kind.named(typeText, in: version) else {
            let known = User.Kind.allCases.filter { $0 != .adGroup || version.hasADGroupUsers }.map { $0.name(in: version) }
            throw CentralError.invalidBody("The user type '\(typeText.clipped)' is not known in api-version \(version.rawValue); use one of: \(known.joined(separator: ", ")).")
        }
        let given = try context.roleAssignments(in: body, store: store)
        let tree = try organizationTree(context)
        try context.authorizeGrant(given, tree: tree)
        let user: User
        switch type {
        case .email:
            let email = try context.requiredString("email", in: body, for: "an email user")
            // Only some versions give `email` the format `email`; in the others any address-like text is taken. An
            // existing user's email is compared with the stored one instead (it cannot change).
            guard stored != nil || (version.hasEmailFormat ? Validation.isEmail(email) : Validation.isFormatlessEmail(email)) else {
                throw CentralError.invalidBody("The field 'email' is not a valid email address: '\(email.clipped)'.")
            }
            user = User(id: id, type: type, email: email, roles: given)
        case .servicePrincipal, .adGroup:
            let what = type == .adGroup ? "an adGroup user" : "a servicePrincipal user"
            let tenantId = try context.requiredString("tenantId", in: body, for: what)
            let objectId = try context.requiredString("objectId", in: body, for: what)
            for (name, value) in [("tenantId", tenantId), ("objectId", objectId)] where !Validation.isGUID(value) {
                throw CentralError.invalidBody("The field '\(name)' must be a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47, not '\(value.clipped)'.")
            }
            user = User(id: id, type: type, tenantId: tenantId.lowercased(), objectId: objectId.lowercased(), roles: given)
        }
        var saved = user
        if let existing = stored {
            try context.authorizeChange(of: existing.roles, tree: tree, item: "user '\(id.clipped)'")
            try Self.checkIdentityUnchanged(existing, type: user.type, email: user.email, tenantId: user.tenantId, objectId: user.objectId)
            // The stored identity stays as it was written first; assignments the version cannot express stay too.
            saved = existing.with(roles: given + existing.roles.filter { !$0.exists(in: version) && !given.contains($0) })
        }
        try save(saved, context: context)
        return Reply(status: 200, body: saved.json(in: context.version))
    }

    /// Users_Update: JSON or merge-patch body; only `roles` can change (the 2022-07-31 spec). `type`, `email`,
    /// `tenantId` and `objectId` may be repeated unchanged but not changed; `id` is read-only and ignored.
    func updateUser(_ context: RequestContext) throws -> Reply {
        let id = context.parameter("userId")
        try context.requireContentType(context.version.usersUpdateTakesMergePatch ? ["application/json", "application/merge-patch+json"] : ["application/json"])
        guard let existing = try existingUser(id, context: context) else { throw CentralError.notFound("user", id: id) }
        let tree = try organizationTree(context)
        try context.authorizeChange(of: existing.roles, tree: tree, item: "user '\(id.clipped)'")
        let body = try context.jsonObjectBody()
        let typeText = try context.optionalString("type", in: body)
        if let typeText, User.Kind.named(typeText, in: context.version) == nil {
            throw CentralError.invalidBody("The user type '\(typeText.clipped)' is not known in api-version \(context.version.rawValue).")
        }
        try Self.checkIdentityUnchanged(
            existing, type: typeText.flatMap { User.Kind.named($0, in: context.version) }, email: try context.optionalString("email", in: body),
            tenantId: try context.optionalString("tenantId", in: body), objectId: try context.optionalString("objectId", in: body))
        var updated = existing
        if let roles = body["roles"] {
            guard roles != .null else { throw CentralError.invalidBody("The field 'roles' cannot be removed: a user needs at least one role.") }
            let given = try context.roleAssignments(in: body, store: store)
            try context.authorizeGrant(given, tree: tree)
            // Assignments the version cannot express (organization roles, in 1.0) are kept as they are.
            updated = existing.with(roles: given + existing.roles.filter { !$0.exists(in: context.version) && !given.contains($0) })
        }
        try save(updated, context: context)
        return Reply(status: 200, body: updated.json(in: context.version))
    }

    /// Users_Remove: refused with 422 `LastAdministrator` for the last user holding Administrator
    /// application-wide ("Manage users and roles in IoT Central").
    func removeUser(_ context: RequestContext) throws -> Reply {
        let id = context.parameter("userId")
        guard let existing = try existingUser(id, context: context) else { throw CentralError.notFound("user", id: id) }
        try context.authorizeChange(of: existing.roles, tree: try organizationTree(context), item: "user '\(id.clipped)'")
        defer { cache.invalidate() }
        do {
            guard try store.deleteUser(appID: context.application.id, id: id, rules: userRules) else { throw CentralError.notFound("user", id: id) }
        } catch CentralStore.UserConflict.lastAdministrator {
            throw Self.lastAdministrator(id)
        }
        return Reply(status: 204)
    }

    /// The user with this id as the request's api-version sees it: nil when absent, or when the version cannot
    /// express it (an `adGroup` user in 1.0).
    private func existingUser(_ id: String, context: RequestContext) throws -> User? {
        guard let user = try store.user(appID: context.application.id, id: id), user.exists(in: context.version) else { return nil }
        return user
    }

    static func lastAdministrator(_ id: String) -> CentralError {
        .unprocessable(
            code: "LastAdministrator",
            "The user '\(id.clipped)' is the last user with the Administrator role on the whole application; an application must keep at least one. Give another user that role first.")
    }

    private func save(_ user: User, context: RequestContext) throws {
        defer { cache.invalidate() }  // bearer principals are derived from the users
        do {
            try store.save(user, appID: context.application.id, rules: userRules)
        } catch CentralStore.UserConflict.lastAdministrator {
            throw Self.lastAdministrator(user.id)
        } catch CentralStore.UserConflict.roleAssignmentLimit(let limit) {
            throw CentralError.unprocessable(
                code: "RoleAssignmentLimit",
                "The users of this application may hold at most \(limit) role assignments together (an adGroup user's assignment counts once); remove some first.")
        } catch let missing as CentralStore.MissingOrganization {
            throw CentralError.missingReference("No organization with id '\(missing.id.clipped)' exists.")
        } catch CentralStore.UserConflict.emailInUse(let other) {
            throw CentralError.invalidBody("The email '\((user.email ?? "").clipped)' already belongs to the user '\(other.clipped)' of this application.")
        } catch CentralStore.UserConflict.identityInUse(let other) {
            throw CentralError.invalidBody("The tenantId and objectId already belong to the user '\(other.clipped)' of this application.")
        }
    }

    /// Refuses (422) a body that would change the type or identity of an existing user. Values are compared as the
    /// service would: type exactly, email and GUIDs case-insensitively (`CentralStore.emailKey`). A nil value means "not given".
    private static func checkIdentityUnchanged(_ user: User, type: User.Kind?, email: String?, tenantId: String?, objectId: String?) throws(CentralError) {
        let fields: [(String, String?, String?, Bool)] = [
            ("type", type?.rawValue, user.type.rawValue, false),
            ("email", email, user.email, true),
            ("tenantId", tenantId, user.tenantId, true),
            ("objectId", objectId, user.objectId, true),
        ]
        for (name, given, current, ignoringCase) in fields {
            guard let given else { continue }
            let same = ignoringCase ? CentralStore.emailKey(given) == current.map(CentralStore.emailKey) : given == current
            guard same else {
                throw .invalidBody("The field '\(name)' of the user '\(user.id)' cannot be changed; only 'roles' can. Delete the user and add it again instead.")
            }
        }
    }
}
