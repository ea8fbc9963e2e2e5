/// Handlers of `/api/deviceGroups` (spec operations DeviceGroups_List, _Get, _Create, _Update, _Remove,
/// _GetDevices). A group's members are the devices its `filter` selects (`DeviceFilter`), among those the caller may
/// see and, when the group belongs to an organization, those of that organization's subtree. Groups are scoped as
/// devices are: an organization-scoped caller sees the groups of its organizations' subtrees (others are 404) and
/// cannot place one outside them (403).
extension CentralService {
    static let deviceGroupKind = "deviceGroup"

    /// DeviceGroups_List: creation order, 100 a page (`maxpagesize` in 2022-10-31-preview).
    func listDeviceGroups(_ context: RequestContext) throws -> Reply {
        let tree = try organizationTree(context)
        if let options = try listOptions(context) {
            let all = try store.resources(appID: context.application.id, kind: Self.deviceGroupKind)
                .filter { Self.isVisible($0.document, scope: context.scope, tree: tree) }
                .map { Self.groupJSON($0.document, version: context.version) }
            return try optionedList(all, options: options, context: context)
        }
        let page = try pageRequest(context, allowsMaxPageSize: context.version.hasMaxPageSize)
        let visible = try store.resources(appID: context.application.id, kind: Self.deviceGroupKind)
            .filter { $0.cursor > page.after && Self.isVisible($0.document, scope: context.scope, tree: tree) }
        let items = visible.prefix(page.limit)
        let next = visible.count > page.limit ? items.last?.cursor : nil
        return listReply(items.map { Self.groupJSON($0.document, version: context.version) }, next: next, context: context)
    }

    /// DeviceGroups_Get.
    func getDeviceGroup(_ context: RequestContext) throws -> Reply {
        Reply(status: 200, body: Self.groupJSON(try visibleGroup(context), version: context.version))
    }

    /// DeviceGroups_Create: creates the group or replaces the one with this id. `displayName` and `filter` are
    /// required; `description` is kept when given; `organizations` follows the rules of a device's.
    func createDeviceGroup(_ context: RequestContext) throws -> Reply {
        let id = context.parameter("deviceGroupId")
        guard !id.isEmpty, id.utf8.count <= 255, id.utf8.allSatisfy({ Validation.isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            throw CentralError.invalidBody("The device group id '\(id.clipped)' is not valid: use 1 to 255 letters, digits, '-' or '_'.")
        }
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        try Self.checkModel(body, "DeviceGroup", version: context.version)
        let tree = try organizationTree(context)
        if let existing = try store.resource(appID: context.application.id, kind: Self.deviceGroupKind, id: id),
           !Self.isVisible(existing, scope: context.scope, tree: tree) {
            throw CentralError.forbidden("a device group with the id '\(id.clipped)' exists outside \(context.scope.description), where the caller holds '\(context.operation.permission)'.")
        }
        let group = try deviceGroup(id: id, from: body, base: nil, context: context, tree: tree)
        try store.save(resource: group, appID: context.application.id, kind: Self.deviceGroupKind, id: id)
        return Reply(status: 200, body: Self.groupJSON(group, version: context.version))
    }

    /// DeviceGroups_Update: JSON or merge-patch of `displayName`, `filter`, `description`, `organizations`.
    func updateDeviceGroup(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json", "application/merge-patch+json"])
        let existing = try visibleGroup(context)
        let group = try deviceGroup(
            id: context.parameter("deviceGroupId"), from: try context.jsonObjectBody(), base: existing, context: context, tree: try organizationTree(context))
        try store.save(resource: group, appID: context.application.id, kind: Self.deviceGroupKind, id: context.parameter("deviceGroupId"))
        return Reply(status: 200, body: Self.groupJSON(group, version: context.version))
    }

    /// DeviceGroups_Remove: 204 (the devices stay).
    func removeDeviceGroup(_ context: RequestContext) throws -> Reply {
        _ = try visibleGroup(context)
        _ = try store.deleteResource(appID: context.application.id, kind: Self.deviceGroupKind, id: context.parameter("deviceGroupId"))
        return Reply(status: 204)
    }

    /// DeviceGroups_GetDevices: the devices the filter selects now, that the caller may see, within the group's
    /// organization when it has one; creation order, 100 a page.
    func listDeviceGroupDevices(_ context: RequestContext) throws -> Reply {
        let group = try visibleGroup(context)
        let isMember = Self.membership(of: group, context: context, tree: try organizationTree(context))
        if let options = try listOptions(context) {
            var all: [JSONValue] = []
            var after: Int64 = 0
            while true {
                let (items, next) = try store.devices(appID: context.application.id, after: after, limit: 1000, where: isMember)
                all += items.map { $0.json(version: context.version) }
                guard let next else { break }
                after = next
            }
            return try optionedList(all, options: options, context: context)
        }
        let page = try pageRequest(context, allowsMaxPageSize: context.version.hasMaxPageSize)
        let (items, next) = try store.devices(appID: context.application.id, after: page.after, limit: page.limit, where: isMember)
        return listReply(items.map { $0.json(version: context.version) }, next: next, context: context)
    }

    /// Whether a device belongs to `group` for this caller: the filter selects it, the caller may see it and, when
    /// the group belongs to an organization, it lies in that organization's subtree.
    static func membership(of group: JSONValue, context: RequestContext, tree: OrganizationTree) -> (Device) -> Bool {
        let filter = (try? DeviceFilter(parsing: group["filter"]?.stringValue ?? "")) ?? DeviceFilter(conditions: [])
        let within = (group["organizations"]?.arrayValue ?? []).compactMap(\.stringValue)
        let subtree = within.isEmpty ? nil : tree.subtrees(of: Set(within))
        return { device in
            filter.matches(device) && device.isVisible(to: context.scope, in: tree)
                && (subtree.map { scope in device.organizations.contains { scope.contains($0) } } ?? true)
        }
    }

    // MARK: Helpers

    private func visibleGroup(_ context: RequestContext) throws -> JSONValue {
        let id = context.parameter("deviceGroupId")
        guard let group = try store.resource(appID: context.application.id, kind: Self.deviceGroupKind, id: id),
              Self.isVisible(group, scope: context.scope, tree: try organizationTree(context)) else {
            throw CentralError.notFound("device group", id: id)
        }
        return group
    }

    static func isVisible(_ group: JSONValue, scope: AccessScope, tree: OrganizationTree) -> Bool {
        guard let visible = scope.organizations(in: tree) else { return true }
        return (group["organizations"]?.arrayValue ?? []).contains { $0.stringValue.map(visible.contains) ?? false }
    }

    /// The stored document: `id`, `displayName`, `filter`, `description`?, `organizations`, `etag`.
    private func deviceGroup(id: String, from body: JSONValue, base: JSONValue?, context: RequestContext, tree: OrganizationTree) throws -> JSONValue {
        var displayName = base?["displayName"]?.stringValue, filter = base?["filter"]?.stringValue
        var description = base?["description"]?.stringValue
        if let value = body["displayName"] {
            guard let text = value.stringValue, Validation.isDisplayName(text) else {
                throw CentralError.invalidBody("The field 'displayName' must be a string of 1 to 200 characters, not only white space, without control characters.")
            }
            displayName = text
        }
        if let value = body["filter"] {
            guard let text = value.stringValue else { throw CentralError.invalidBody("The field 'filter' must be a string, not \(value.kindDescription).") }
            do {
                _ = try DeviceFilter(parsing: text)
            } catch {
                throw CentralError.invalidBody("The filter '\(text.clipped)' is not supported: \(error.message). iotc-mock understands SELECT * FROM devices WHERE $field = value [AND ...] on $template, $id, $displayName, $provisioned, $simulated, $enabled and $organization.")
            }
            filter = text
        }
        if let value = body["description"] {
            guard value == .null || value.stringValue != nil else { throw CentralError.invalidBody("The field 'description' must be a string.") }
            description = value.stringValue
        }
        guard let displayName else { throw CentralError.invalidBody("The field 'displayName' is required for a device group.") }
        guard let filter else { throw CentralError.invalidBody("The field 'filter' is required for a device group.") }
        let organizations = try scopedOrganizations(
            body, current: (base?["organizations"]?.arrayValue ?? []).compactMap(\.stringValue), creating: base == nil, what: "device group",
            context: context, tree: tree)
        for organization in organizations where !tree.contains(organization) {
            throw CentralError.missingReference("The organization '\(organization.clipped)' does not exist.")
        }
        var members: [(String, JSONValue)] = [("id", .string(id)), ("etag", .string(try Self.newETag())), ("displayName", .string(displayName)), ("filter", .string(filter))]
        if let description { members.append(("description", .string(description))) }
        if !organizations.isEmpty { members.append(("organizations", .array(organizations.map(JSONValue.string)))) }
        return .object(members)
    }

    /// The group in `version`'s shape (`organizations` only where the version has them).
    private static func groupJSON(_ group: JSONValue, version: APIVersion) -> JSONValue {
        guard case .object(let members) = group else { return group }
        return .object(members.filter { $0.0 != "organizations" || version.hasOrganizations })
    }
}
