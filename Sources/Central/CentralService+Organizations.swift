/// Handlers of `/api/organizations` (the 2022-07-31 spec; "Manage users and roles in IoT Central"; spec operations Organizations_List, _Get, _Create,
/// _Update, _Remove). An organization-scoped caller sees and changes only its organizations and their descendants.
extension CentralService {
    /// The application's organizations as a tree, read fresh from the store.
    func organizationTree(_ context: RequestContext) throws -> OrganizationTree {
        OrganizationTree(try store.organizations(appID: context.application.id))
    }

    /// Organizations_List: creation order, only what the caller may see, 100 a page.
    func listOrganizations(_ context: RequestContext) throws -> Reply {
        let page = try pageRequest(context, allowsMaxPageSize: false)
        let tree = try organizationTree(context)
        let inScope = context.scope.organizations(in: tree)
        let visible = try store.organizations(appID: context.application.id, after: page.after)
            .filter { inScope?.contains($0.organization.id) ?? true }
        let items = visible.prefix(page.limit)
        let next = visible.count > page.limit ? items.last?.cursor : nil
        return listReply(items.map(\.organization.json), next: next, context: context)
    }

    /// Organizations_Get: 404 when absent, 403 when outside the caller's organizations (assumed, docs/fidelity.md).
    func getOrganization(_ context: RequestContext) throws -> Reply {
        let (organization, tree) = try existingOrganization(context)
        try requireVisible(organization.id, context: context, tree: tree)
        return Reply(status: 200, body: organization.json)
    }

    /// Organizations_Create: creates the organization, or replaces the one with this id (the spec's example is
    /// "Add or update"). `displayName` is required (assumed); no `parent` makes it a child of the root.
    func createOrganization(_ context: RequestContext) throws -> Reply {
        let id = context.parameter("organizationId")
        if context.version.limitsIdentityIDs {
            guard Validation.isOrganizationID(id) else {
                throw CentralError.invalidBody("The organization id '\(id.clipped)' is not valid: use 2 to 48 lower-case letters, digits or '-', not starting with '-' and ending with a letter or digit.")
            }
        } else {
            guard Validation.isUnlimitedID(id) else {
                throw CentralError.invalidBody("The organization id '\(id.clipped)' is not valid: use 1 to 255 characters without control characters.")
            }
        }
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        let displayName = try Self.displayName(in: body, context: context)
        let parent = try context.optionalString("parent", in: body)
        let tree = try organizationTree(context)
        let existing = tree.organizations.first { $0.id == id }
        if existing != nil { try requireVisible(id, context: context, tree: tree) }
        if existing == nil || existing?.parent != parent { try requireParentAllowed(parent, context: context, tree: tree) }
        let organization = Organization(id: id, displayName: displayName, parent: parent)
        try save(organization, context: context)
        return Reply(status: 200, body: organization.json)
    }

    /// Organizations_Update: JSON or merge-patch; `displayName` may change, `parent` may change (re-parenting) or
    /// be null (a child of the root). `id` is read-only and ignored.
    func updateOrganization(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json", "application/merge-patch+json"])
        let (existing, tree) = try existingOrganization(context)
        try requireVisible(existing.id, context: context, tree: tree)
        let body = try context.jsonObjectBody()
        var displayName = existing.displayName
        if let value = body["displayName"] {
            guard value != .null else { throw CentralError.invalidBody("The field 'displayName' cannot be removed.") }
            displayName = try Self.displayName(in: body, context: context)
        }
        var parent = existing.parent
        if let value = body["parent"] {
            parent = value == .null ? nil : try context.optionalString("parent", in: body)
            if parent != existing.parent { try requireParentAllowed(parent, context: context, tree: tree) }
        }
        let updated = Organization(id: existing.id, displayName: displayName, parent: parent)
        try save(updated, context: context)
        return Reply(status: 200, body: updated.json)
    }

    /// Organizations_Remove: refused with 422 `OrganizationInUse` while it has children, users or API tokens with a
    /// role on it, or devices (the 2022-07-31 spec asks for a clear refusal; status and code assumed).
    func removeOrganization(_ context: RequestContext) throws -> Reply {
        let (existing, tree) = try existingOrganization(context)
        try requireVisible(existing.id, context: context, tree: tree)
        do {
            guard try store.deleteOrganization(appID: context.application.id, id: existing.id) else {
                throw CentralError.notFound("organization", id: existing.id)
            }
        } catch CentralStore.OrganizationConflict.inUse(let children, let users, let tokens, let devices) {
            var parts: [String] = []
            if !children.isEmpty { parts.append("child organizations (\(children.joined(separator: ", ")))") }
            if !users.isEmpty { parts.append("users with a role on it (\(users.joined(separator: ", ")))") }
            if !tokens.isEmpty { parts.append("API tokens with a role on it (\(tokens.joined(separator: ", ")))") }
            if !devices.isEmpty { parts.append("devices in it (\(devices.joined(separator: ", ")))") }
            throw CentralError.unprocessable(
                code: "OrganizationInUse",
                "The organization '\(existing.id)' cannot be deleted while it has \(parts.joined(separator: " and ")). Move or delete those first.")
        }
        return Reply(status: 204)
    }

    // MARK: Helpers

    /// The required `displayName` member, checked by `Validation.isDisplayName`.
    private static func displayName(in body: JSONValue, context: RequestContext) throws(CentralError) -> String {
        let name = try context.requiredString("displayName", in: body, for: "an organization")
        guard Validation.isDisplayName(name) else {
            throw .invalidBody("The field 'displayName' must be 1 to 200 characters, not only white space, without control characters.")
        }
        return name
    }

    private func existingOrganization(_ context: RequestContext) throws -> (Organization, OrganizationTree) {
        let id = context.parameter("organizationId")
        let tree = try organizationTree(context)
        guard let organization = tree.organizations.first(where: { $0.id == id }) else {
            throw CentralError.notFound("organization", id: id)
        }
        return (organization, tree)
    }

    private func requireVisible(_ id: String, context: RequestContext, tree: OrganizationTree) throws(CentralError) {
        guard context.scope.contains(id, in: tree) else {
            throw .forbidden("the organization '\(id.clipped)' lies outside \(context.scope.description), where the caller holds '\(context.operation.permission)'.")
        }
    }

    /// An organization-scoped caller may only place organizations below its own (never at the root).
    private func requireParentAllowed(_ parent: String?, context: RequestContext, tree: OrganizationTree) throws(CentralError) {
        guard context.scope != .application else { return }
        guard let parent else {
            throw .forbidden("only a caller holding '\(context.operation.permission)' on the whole application may place an organization at the root; the caller holds it on \(context.scope.description).")
        }
        if tree.contains(parent) { try requireVisible(parent, context: context, tree: tree) }
    }

    private func save(_ organization: Organization, context: RequestContext) throws {
        do {
            try store.save(organization, appID: context.application.id)
        } catch CentralStore.OrganizationConflict.parentMissing(let parent) {
            throw CentralError.missingReference("The parent organization '\(parent.clipped)' does not exist.")
        } catch CentralStore.OrganizationConflict.cycle(let parent) {
            throw CentralError.invalidBody("The organization '\(organization.id)' cannot move under '\(parent.clipped)': that is the organization itself or one of its descendants.")
        }
    }
}
