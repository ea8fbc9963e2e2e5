/// Resources kept as JSON documents checked by the spec's model of them: dashboards, deployment manifests, data
/// export destinations and exports, enrollment groups, jobs, scheduled jobs and device relationships. The shared
/// rules are here; each kind adds its own (references, computed members) through `DocumentRules`.
///
/// A create (PUT) body is checked against the model (`SpecSchema`): a member of the wrong type, out of range, not
/// one of an enum's values or a required one missing is 422 InvalidBody naming it. Read-only members are ignored (a
/// body read with GET may be sent back as it is). An update (PATCH) is a JSON merge patch (RFC 7396) of the stored
/// document, and the result is checked as a create. Answers are shaped by the model of the request's api-version.
extension CentralService {
    /// How one kind of document is kept and addressed.
    struct DocumentKind: Sendable {
        /// The store's kind, and its name in messages ("dashboard").
        let kind: String
        let noun: String
        /// The spec model bodies are checked by (`Dashboard`).
        let model: String
        /// The path parameter of its id, and the characters an id may have besides letters and digits, and how many
        /// (the spec's parameter pattern; nil: any, as `Validation.isUnlimitedID`).
        let idParameter: String
        let idCharacters: String?
        let idMaxLength: Int
        /// Whether `organizations` scopes it as a device's does (docs/fidelity.md).
        let scoped: Bool
        /// Whether it carries an `etag`.
        let hasETag: Bool
        /// For a document under another resource (a device's relationship): that resource's path parameter. The
        /// store keys it `{parent}/{id}` and keeps the parent in the member `_parent` (never answered).
        var parentParameter: String? = nil
        /// The models to check it by when not the api-version's spec file (a kind only 2021-04-30-preview has).
        var models: SpecSchema? = nil
        /// Whether an id is used once: a `PUT` on an existing one is 409 (jobs).
        var createsOnce = false

        func schema(_ version: APIVersion) -> SpecSchema { models ?? SpecSchema.of(version) }

        func storeKey(_ context: RequestContext, id: String) -> String {
            parentParameter.map { "\(context.parameter($0))/\(id)" } ?? id
        }
    }

    /// What a kind adds to the shared rules: checks of references and members computed by the mock.
    struct DocumentRules {
        /// Called with the checked document (read-only members removed) and the stored one, if any; returns the
        /// document to store (it adds computed members and checks references).
        var complete: (_ document: JSONValue, _ existing: JSONValue?, _ context: RequestContext) throws -> JSONValue = { document, _, _ in document }
        /// Called once the document is stored (a new job makes the next request look for due turns).
        var saved: (_ document: JSONValue, _ context: RequestContext) -> Void = { _, _ in }
        /// Called before a delete, to refuse it (a destination still used by an export).
        var beforeRemove: (_ document: JSONValue, _ context: RequestContext) throws -> Void = { _, _ in }
        /// The document as answered (computed members that change with time, such as a job's progress).
        var present: (_ document: JSONValue, _ context: RequestContext) throws -> JSONValue = { document, _ in document }
    }

    /// A list of a kind, creation order, 100 a page (`maxpagesize` where the operation takes it), only the documents
    /// the caller may see and `include` keeps.
    func listDocuments(_ kind: DocumentKind, _ context: RequestContext, rules: DocumentRules = DocumentRules(),
                       include: (JSONValue) throws -> Bool = { _ in true }) throws -> Reply {
        let tree = try organizationTree(context)
        let options = try listOptions(context)
        let page = try pageRequest(context, allowsMaxPageSize: context.version.hasMaxPageSize)
        // With list options every item is answered in their order and paged by position; else by creation cursor.
        let visible = try store.resources(appID: context.application.id, kind: kind.kind)
            .filter { (options != nil || $0.cursor > page.after) && Self.isVisible($0.document, kind: kind, scope: context.scope, tree: tree) }
            .filter { document in kind.parentParameter.map { document.document["_parent"] == .string(context.parameter($0)) } ?? true }
            .filter { try include($0.document) }
        if let options {
            return try optionedList(try visible.map { try documentJSON(try rules.present($0.document, context), kind: kind, context: context) },
                                    options: options, context: context)
        }
        let items = visible.prefix(page.limit)
        let next = visible.count > page.limit ? items.last?.cursor : nil
        return listReply(try items.map { try documentJSON(try rules.present($0.document, context), kind: kind, context: context) }, next: next, context: context)
    }

    /// The document with the id in the path, if the caller may see it.
    /// - Throws: 404 when there is none (or it lies outside the caller's organizations).
    func visibleDocument(_ kind: DocumentKind, _ context: RequestContext) throws -> JSONValue {
        let id = context.parameter(kind.idParameter)
        guard let document = try store.resource(appID: context.application.id, kind: kind.kind, id: kind.storeKey(context, id: id)),
              Self.isVisible(document, kind: kind, scope: context.scope, tree: try organizationTree(context)) else {
            throw CentralError.notFound(kind.noun, id: id)
        }
        return document
    }

    func getDocument(_ kind: DocumentKind, _ context: RequestContext, rules: DocumentRules = DocumentRules()) throws -> Reply {
        Reply(status: 200, body: try documentJSON(try rules.present(try visibleDocument(kind, context), context), kind: kind, context: context))
    }

    /// PUT: creates the document or replaces the one with this id.
    /// - Throws: 422 for an id or body that breaks the rules, 403 for a document (or organization) outside the caller's.
    func putDocument(_ kind: DocumentKind, _ context: RequestContext, rules: DocumentRules = DocumentRules()) throws -> Reply {
        let id = context.parameter(kind.idParameter)
        try Self.checkID(id, kind: kind)
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        let tree = try organizationTree(context)
        let existing = try store.resource(appID: context.application.id, kind: kind.kind, id: kind.storeKey(context, id: id))
        if let existing, !Self.isVisible(existing, kind: kind, scope: context.scope, tree: tree) {
            throw CentralError.forbidden("a \(kind.noun) with the id '\(id.clipped)' exists outside \(context.scope.description), where the caller holds '\(context.operation.permission)'.")
        }
        let document = try checkedDocument(body, id: id, kind: kind, existing: existing, context: context, tree: tree)
        let conflict = CentralError.conflict("A \(kind.noun) with the id '\(id.clipped)' exists; a \(kind.noun) cannot be changed. Use another id.")
        if kind.createsOnce && existing != nil { throw conflict }
        let stored = try rules.complete(document, existing, context)
        if kind.createsOnce {
            guard try store.insert(resource: stored, appID: context.application.id, kind: kind.kind, id: kind.storeKey(context, id: id)) else { throw conflict }
        } else {
            try store.save(resource: stored, appID: context.application.id, kind: kind.kind, id: kind.storeKey(context, id: id))
        }
        rules.saved(stored, context)
        return Reply(status: 200, body: try documentJSON(try rules.present(stored, context), kind: kind, context: context))
    }

    /// PATCH: a JSON merge patch of the stored document, checked as a PUT.
    func patchDocument(_ kind: DocumentKind, _ context: RequestContext, rules: DocumentRules = DocumentRules()) throws -> Reply {
        try context.requireContentType(["application/json", "application/merge-patch+json"])
        let existing = try visibleDocument(kind, context)
        let patch = try context.jsonObjectBody()
        let id = context.parameter(kind.idParameter)
        let merged = Self.withoutComputed(existing, kind: kind, context: context).merging(patch)
        let document = try checkedDocument(merged, id: id, kind: kind, existing: existing, context: context,
                                           tree: try organizationTree(context), organizationsGiven: patch["organizations"] != nil)
        let stored = try rules.complete(document, existing, context)
        try store.save(resource: stored, appID: context.application.id, kind: kind.kind, id: kind.storeKey(context, id: id))
        rules.saved(stored, context)
        return Reply(status: 200, body: try documentJSON(try rules.present(stored, context), kind: kind, context: context))
    }

    /// DELETE: 204.
    func removeDocument(_ kind: DocumentKind, _ context: RequestContext, rules: DocumentRules = DocumentRules()) throws -> Reply {
        let document = try visibleDocument(kind, context)
        try rules.beforeRemove(document, context)
        _ = try store.deleteResource(appID: context.application.id, kind: kind.kind, id: kind.storeKey(context, id: context.parameter(kind.idParameter)))
        return Reply(status: 204)
    }

    // MARK: Shared rules

    /// Checks `body` against the kind's model in the request's api-version and returns it without read-only members,
    /// with `id`, a fresh `etag` and the organizations the scope rules give.
    private func checkedDocument(_ body: JSONValue, id: String, kind: DocumentKind, existing: JSONValue?, context: RequestContext,
                                 tree: OrganizationTree, organizationsGiven: Bool? = nil) throws -> JSONValue {
        let schema = kind.schema(context.version)
        do {
            try schema.validate(body, model: kind.model)
        } catch {
            throw CentralError.invalidBody(error.message)
        }
        guard case .object(var members) = schema.shape(body, model: kind.model, droppingReadOnly: true) else {
            throw CentralError.invalidBody("The body must be a JSON object.")
        }
        members.removeAll { $0.0 == "id" || $0.0 == "etag" || $0.0 == "organizations" }
        var document: [(String, JSONValue)] = [("id", .string(id))]
        if kind.hasETag { document.append(("etag", .string(try Self.newETag()))) }
        if let parent = kind.parentParameter { document.append(("_parent", .string(context.parameter(parent)))) }
        document += members
        if kind.scoped {
            let current = (existing?["organizations"]?.arrayValue ?? []).compactMap(\.stringValue)
            let given: JSONValue = (organizationsGiven ?? true) ? body : .object([])
            let organizations = try scopedOrganizations(given, current: current, creating: existing == nil, what: kind.noun, context: context, tree: tree)
            for organization in organizations where !tree.contains(organization) {
                throw CentralError.missingReference("The organization '\(organization.clipped)' does not exist.")
            }
            if !organizations.isEmpty { document.append(("organizations", .array(organizations.map(JSONValue.string)))) }
        }
        return .object(document)
    }

    /// `document` with `members` added (replacing members of the same names).
    static func adding(_ members: [(String, JSONValue)], to document: JSONValue) -> JSONValue {
        guard case .object(var current) = document else { return document }
        for (name, value) in members {
            if let index = current.firstIndex(where: { $0.0 == name }) { current[index].1 = value } else { current.append((name, value)) }
        }
        return .object(current)
    }

    /// Checks `body` against the spec model `model` of `version`.
    /// - Throws: 422 InvalidBody naming the first member that breaks it.
    static func checkModel(_ body: JSONValue, _ model: String, version: APIVersion) throws(CentralError) {
        do { try SpecSchema.of(version).validate(body, model: model) } catch { throw .invalidBody(error.message) }
    }

    /// `checkModel` in the two api-versions whose spec files the models come from (2022-07-31, 2022-10-31-preview),
    /// for handlers whose older versions have models of their own (a device's `instanceOf` in 2021-04-30-preview).
    static func checkOwnModel(_ body: JSONValue, _ model: String, version: APIVersion) throws(CentralError) {
        guard version == .v2022_07_31 || version == .v2022_10_31_preview else { return }
        try checkModel(body, model, version: version)
    }

    /// The stored document without what the mock computes (read-only members), as the base of a merge patch.
    private static func withoutComputed(_ document: JSONValue, kind: DocumentKind, context: RequestContext) -> JSONValue {
        kind.schema(context.version).shape(document, model: kind.model, droppingReadOnly: true)
    }

    /// The document in the shape of the request's api-version's model.
    func documentJSON(_ document: JSONValue, kind: DocumentKind, context: RequestContext) throws -> JSONValue {
        let schema = kind.schema(context.version)
        guard schema.has(kind.model) else { return document }
        var shaped = schema.shape(document, model: kind.model)
        if !context.version.hasOrganizations, case .object(let members) = shaped { shaped = .object(members.filter { $0.0 != "organizations" }) }
        return shaped
    }

    static func isVisible(_ document: JSONValue, kind: DocumentKind, scope: AccessScope, tree: OrganizationTree) -> Bool {
        guard kind.scoped, let visible = scope.organizations(in: tree) else { return true }
        return (document["organizations"]?.arrayValue ?? []).contains { $0.stringValue.map(visible.contains) ?? false }
    }

    /// - Throws: 422 for an id outside the kind's pattern.
    static func checkID(_ id: String, kind: DocumentKind) throws(CentralError) {
        guard let extra = kind.idCharacters else {
            guard Validation.isUnlimitedID(id) else {
                throw .invalidBody("The \(kind.noun) id '\(id.clipped)' is not valid: use 1 to 255 characters without '/' or control characters.")
            }
            return
        }
        guard !id.isEmpty, id.utf8.count <= kind.idMaxLength, id.utf8.allSatisfy({ Validation.isAlphanumeric($0) || extra.utf8.contains($0) }) else {
            let others = extra.map { "'\($0)'" }.joined(separator: ", ")
            throw .invalidBody("The \(kind.noun) id '\(id.clipped)' is not valid: use 1 to \(kind.idMaxLength) ASCII letters, digits\(others.isEmpty ? "" : " or \(others)") (the spec's pattern).")
        }
    }
}
