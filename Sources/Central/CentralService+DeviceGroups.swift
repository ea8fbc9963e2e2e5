/// Handlers of `/api/deviceGroups` (spec operations DeviceGroups_List, _Get, _Create, _Update, _Remove,
/// _GetDevices). Groups are documents served by the shared handlers (`CentralService+Documents.swift`): checked by
/// the spec's `DeviceGroup` model, scoped as devices are (an organization-scoped caller sees the groups of its
/// organizations' subtrees, others are 404, and cannot place one outside them, 403). A group's `displayName` is 1 to
/// 200 characters, not only white space, and its `filter` one `DeviceFilter` understands (422 otherwise). Its members
/// are the devices its `filter` selects, among those the caller may see and, when the group belongs to an
/// organization, those of that organization's subtree.
extension CentralService {
    static let deviceGroups = DocumentKind(
        kind: "deviceGroup", noun: "device group", model: "DeviceGroup", idParameter: "deviceGroupId", idCharacters: "-_",
        idMaxLength: 255, scoped: true, hasETag: true)

    var deviceGroupRules: DocumentRules {
        DocumentRules(complete: { document, _, _ in
            guard let name = document["displayName"]?.stringValue, Validation.isDisplayName(name) else {
                throw CentralError.invalidBody("The field 'displayName' must be a string of 1 to 200 characters, not only white space, without control characters.")
            }
            let text = document["filter"]?.stringValue ?? ""
            do throws(DeviceFilter.Unsupported) {
                _ = try DeviceFilter(parsing: text)
            } catch {
                throw CentralError.invalidBody("The filter '\(text.clipped)' is not supported: \(error.message). iotc-mock understands SELECT * FROM devices WHERE $field = value [AND ...] on $template, $id, $displayName, $provisioned, $simulated, $enabled and $organization.")
            }
            return document
        })
    }

    /// DeviceGroups_GetDevices: the devices the filter selects now, that the caller may see, within the group's
    /// organization when it has one; creation order, 100 a page.
    func listDeviceGroupDevices(_ context: RequestContext) throws -> Reply {
        let group = try visibleDocument(Self.deviceGroups, context)
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
}
