/// Handlers of `/api/deviceTemplates` and `/api/devices` (spec operations DeviceTemplates_List, _Get, _Create,
/// _Update, _Remove, _ListDevices, _GetMerged; Devices_List, _Get, _Create, _Update, _Remove).
///
/// A device's `organizations` decide who sees it ("Manage IoT Central organizations": users in an organization see
/// the devices of that organization and its descendants): lists by an organization-scoped caller cover its subtrees
/// only, and a device outside them is answered 404 as if it did not exist (assumed, docs/fidelity.md); placing a
/// device in an organization outside them is 403.
extension CentralService {
    // MARK: Device templates

    /// DeviceTemplates_List: creation order, 100 a page.
    func listDeviceTemplates(_ context: RequestContext) throws -> Reply {
        if let options = try listOptions(context) {
            var all: [JSONValue] = []
            var after: Int64 = 0
            while true {
                let (items, next) = try store.deviceTemplates(appID: context.application.id, after: after, limit: 1000)
                all += items.map(\.json)
                guard let next else { break }
                after = next
            }
            return try optionedList(all, options: options, context: context)
        }
        let page = try pageRequest(context, allowsMaxPageSize: context.version.hasMaxPageSize)
        let (items, next) = try store.deviceTemplates(appID: context.application.id, after: page.after, limit: page.limit)
        return listReply(items.map(\.json), next: next, context: context)
    }

    /// DeviceTemplates_Get, and DeviceTemplates_GetMerged (the same document: the mock does not resolve `extends`,
    /// docs/fidelity.md).
    func getDeviceTemplate(_ context: RequestContext) throws -> Reply {
        Reply(status: 200, body: try existingTemplate(context).json)
    }

    /// DeviceTemplates_Create: publishes the template, or replaces the one with this id. The document is kept as
    /// sent; `@id` and `etag` are read-only. Checked: the id is a DTMI; `@type` is an array of strings with
    /// `ModelDefinition`; `capabilityModel` is an object whose `@id` (if any) is a DTMI and whose `@type` (if any) is
    /// `Interface`; `displayName` is a string or a map of language codes to strings (DTDL v2).
    func createDeviceTemplate(_ context: RequestContext) throws -> Reply {
        let id = context.parameter("deviceTemplateId")
        guard Validation.isDTMI(id) else {
            throw CentralError.invalidBody("The device template id '\(id.clipped)' is not valid: use a DTMI such as 'dtmi:contoso:thermostat;1'.")
        }
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        try Self.checkOwnModel(body, "DeviceTemplate", version: context.version)
        guard case .object(let members) = body else { throw CentralError.invalidBody("The request body must be a JSON object.") }
        try Self.validateTemplate(members)
        let template = DeviceTemplate(id: id, document: members, etag: try Self.newETag())
        try store.save(template, appID: context.application.id)
        return Reply(status: 200, body: template.json)
    }

    /// DeviceTemplates_Update: a JSON merge patch (RFC 7396) of the document; the result is checked as a create is.
    func updateDeviceTemplate(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json", "application/merge-patch+json"])
        let existing = try existingTemplate(context)
        let patch = try context.jsonObjectBody()
        guard case .object(let members) = JSONValue.object(existing.document).merging(patch) else {
            throw CentralError.invalidBody("The request body must be a JSON object.")
        }
        try Self.validateTemplate(members)
        let template = DeviceTemplate(id: existing.id, document: members, etag: try Self.newETag())
        try store.save(template, appID: context.application.id)
        return Reply(status: 200, body: template.json)
    }

    /// DeviceTemplates_Remove: refused with 422 `DeviceTemplateInUse` while devices are instances of it (assumed).
    func removeDeviceTemplate(_ context: RequestContext) throws -> Reply {
        let existing = try existingTemplate(context)
        do {
            guard try store.deleteDeviceTemplate(appID: context.application.id, id: existing.id) else {
                throw CentralError.notFound("device template", id: existing.id)
            }
        } catch CentralStore.DeviceConflict.templateInUse(let devices) {
            throw CentralError.unprocessable(
                code: "DeviceTemplateInUse",
                "The device template '\(existing.id)' cannot be deleted while devices use it (\(devices.joined(separator: ", "))). Delete them or assign them another template first.")
        }
        return Reply(status: 204)
    }

    /// DeviceTemplates_ListDevices: the devices of the template the caller may see.
    func listTemplateDevices(_ context: RequestContext) throws -> Reply {
        let template = try existingTemplate(context)
        return try listDevices(context) { $0.template == template.id }
    }

    private func existingTemplate(_ context: RequestContext) throws -> DeviceTemplate {
        let id = context.parameter("deviceTemplateId")
        guard let template = try store.deviceTemplate(appID: context.application.id, id: id) else {
            throw CentralError.notFound("device template", id: id)
        }
        return template
    }

    private static func validateTemplate(_ members: [(String, JSONValue)]) throws(CentralError) {
        let body = JSONValue.object(members)
        guard let types = body["@type"], types != .null else { throw .invalidBody("The field '@type' is required for a device template.") }
        guard let list = types.arrayValue, !list.isEmpty, list.allSatisfy({ $0.stringValue != nil }) else {
            throw .invalidBody("The field '@type' must be a non-empty array of strings, such as [\"ModelDefinition\", \"DeviceModel\"], not \(types.kindDescription).")
        }
        guard list.contains(.string("ModelDefinition")) else {
            throw .invalidBody("The field '@type' must contain \"ModelDefinition\" (and \"DeviceModel\" or \"EdgeModel\").")
        }
        guard let model = body["capabilityModel"], model != .null else {
            throw .invalidBody("The field 'capabilityModel' is required for a device template.")
        }
        guard case .object = model else { throw .invalidBody("The field 'capabilityModel' must be an object (a DTDL interface), not \(model.kindDescription).") }
        if let modelID = model["@id"] {
            guard let text = modelID.stringValue, Validation.isDTMI(text) else {
                throw .invalidBody("capabilityModel.@id must be a DTMI such as 'dtmi:contoso:thermostat;1'.")
            }
        }
        if let modelType = model["@type"] {
            let names = modelType.stringValue.map { [$0] } ?? modelType.arrayValue?.compactMap(\.stringValue) ?? []
            guard names.contains("Interface") else { throw .invalidBody("capabilityModel.@type must be \"Interface\".") }
        }
        if let contents = model["contents"], contents.arrayValue == nil {
            throw .invalidBody("capabilityModel.contents must be an array, not \(contents.kindDescription).")
        }
        if let name = body["displayName"] {
            switch name {
            case .string(let text) where Validation.isDisplayName(text): break
            case .object(let languages) where !languages.isEmpty && languages.allSatisfy({ $0.1.stringValue != nil }): break
            default:
                throw .invalidBody("The field 'displayName' must be a string of 1 to 200 characters or a map of language codes to strings.")
            }
        }
    }

    // MARK: Devices

    /// Devices_List: the devices the caller may see, creation order, 100 a page.
    func listDevices(_ context: RequestContext, matching isIncluded: @escaping (Device) -> Bool = { _ in true }) throws -> Reply {
        try checkExpand(context)
        let tree = try organizationTree(context)
        if let options = try listOptions(context) {
            var all: [JSONValue] = []
            var after: Int64 = 0
            while true {
                let (items, next) = try store.devices(appID: context.application.id, after: after, limit: 1000) {
                    isIncluded($0) && $0.isVisible(to: context.scope, in: tree)
                }
                all += items.map { $0.json(version: context.version) }
                guard let next else { break }
                after = next
            }
            return try optionedList(all, options: options, context: context)
        }
        let page = try pageRequest(context, allowsMaxPageSize: context.version.hasMaxPageSize && context.operation.operationID == "Devices_List")
        let (items, next) = try store.devices(appID: context.application.id, after: page.after, limit: page.limit) {
            isIncluded($0) && $0.isVisible(to: context.scope, in: tree)
        }
        return listReply(items.map { $0.json(version: context.version) }, next: next, context: context)
    }

    /// Devices_Get: 404 when absent or outside the caller's organizations.
    func getDevice(_ context: RequestContext) throws -> Reply {
        try checkExpand(context)
        let (device, _) = try visibleDevice(context)
        return Reply(status: 200, body: device.json(version: context.version))
    }

    /// Devices_Create: creates the device, or replaces the one with this id. `displayName` defaults to the id,
    /// `enabled` to true, `simulated` to false; `template` must exist; `organizations` takes one organization
    /// (assumed: a device belongs to at most one), inside the caller's; an organization-scoped caller that names none
    /// places the device in its own organization (when it has exactly one).
    func createDevice(_ context: RequestContext) throws -> Reply {
        try checkExpand(context)
        let id = context.parameter("deviceId")
        guard Validation.isDeviceID(id) else {
            throw CentralError.invalidBody("The device id '\(id.clipped)' is not valid: use 1 to 128 ASCII letters, digits or - . % _ * ? ! ( ) , : = @ $ '.")
        }
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        try Self.checkOwnModel(body, "Device", version: context.version)
        let tree = try organizationTree(context)
        let existing = try store.device(appID: context.application.id, id: id)
        if let existing, !existing.isVisible(to: context.scope, in: tree) {
            throw CentralError.forbidden("a device with the id '\(id.clipped)' exists outside \(context.scope.description), where the caller holds '\(context.operation.permission)'.")
        }
        // A replace keeps what the body cannot set: `provisioned` is read-only.
        var device = Device(id: id, displayName: id, template: nil, enabled: true, simulated: false, provisioned: existing?.provisioned ?? false, organizations: [], etag: "")
        try apply(body, to: &device, context: context, tree: tree, creating: true)
        try save(device, context: context)
        return Reply(status: 200, body: device.json(version: context.version))
    }

    /// Devices_Update: JSON or merge-patch; `displayName`, `template`, `enabled`, `simulated` and `organizations` may
    /// change (`template` and `organizations` may be null: no template, no organization).
    func updateDevice(_ context: RequestContext) throws -> Reply {
        try checkExpand(context)
        try context.requireContentType(["application/json", "application/merge-patch+json"])
        var (device, tree) = try visibleDevice(context)
        try apply(try context.jsonObjectBody(), to: &device, context: context, tree: tree, creating: false)
        try save(device, context: context)
        return Reply(status: 200, body: device.json(version: context.version))
    }

    /// Devices_Remove: 204; 404 when absent or outside the caller's organizations.
    func removeDevice(_ context: RequestContext) throws -> Reply {
        try checkExpand(context)
        let (device, _) = try visibleDevice(context)
        guard try store.deleteDevice(appID: context.application.id, id: device.id) else { throw CentralError.notFound("device", id: device.id) }
        return Reply(status: 204)
    }

    /// The list options the request gives for this operation in this version (`filter`, `orderby`; `$filter`,
    /// `$orderby`, `$top`), or nil for none; options the operation does not take are ignored, as every undeclared
    /// query parameter is.
    /// - Throws: 422 InvalidQuery for options outside the subset `ListOptions` understands.
    func listOptions(_ context: RequestContext) throws(CentralError) -> ListOptions? {
        let names = context.version.listOptions(of: context.operation.operationID)
        func value(_ name: String) throws(CentralError) -> String? {
            guard names.contains(name) else { return nil }
            let values = context.request.queryValues(name)
            guard Set(values).count <= 1 else { throw .badRequest("The parameter \(name) is given more than once with different values.") }
            return values.last
        }
        var filter = try value("filter"), orderBy = try value("orderby")
        if filter == nil { filter = try value("$filter") }
        if orderBy == nil { orderBy = try value("$orderby") }
        let top = try value("$top")
        guard filter != nil || orderBy != nil || top != nil else { return nil }
        if let top, !(top.utf8.count <= 9 && top.allSatisfy { $0.isASCII && $0.isNumber } && (Int(top) ?? 0) >= 1) {
            throw .badRequest("$top must be a positive integer, not '\(top.clipped)'.")
        }
        let (filterName, orderName) = names.contains("filter") ? ("filter", "orderby") : ("$filter", "$orderby")
        do {
            let options = try ListOptions(filter: filter, orderBy: orderBy, top: top)
            if let model = Self.listedModel[context.operation.operationID], let types = SpecSchema.of(context.version).memberTypes(of: model) {
                try options.check(against: types)
            }
            return options
        } catch {
            throw .unprocessable(
                code: "InvalidQuery",
                "The list options are not understood: \(error.message). iotc-mock understands \(filterName)=field eq|ne|gt|ge|lt|le value, contains|startswith|endswith(field, 'text'), joined by and, or, not; \(orderName)=field [asc|desc], ...")
        }
    }

    /// The spec model of the items each list with list options answers, whose members its fields must name.
    static let listedModel = [
        "Devices_List": "Device", "DeviceGroups_GetDevices": "Device", "DeviceTemplates_List": "DeviceTemplate",
        "DeviceGroups_List": "DeviceGroup", "Dashboards_List": "Dashboard", "DeploymentManifests_List": "DeploymentManifest",
    ]

    /// A list with the caller's list options: `items` (every item the caller may see, in creation order) filtered,
    /// sorted and cut to `$top`, then paged by position (`$skiptoken` is the position of the next page).
    func optionedList(_ items: [JSONValue], options: ListOptions, context: RequestContext) throws -> Reply {
        let page = try pageRequest(context, allowsMaxPageSize: context.version.hasMaxPageSize && Self.listsTakingMaxPageSize.contains(context.operation.operationID))
        var selected = options.sorted(items.filter(options.matches))
        if let top = options.top { selected = Array(selected.prefix(top)) }
        let start = Int(min(page.after, Int64(selected.count)))
        let slice = selected[start...].prefix(page.limit)
        let next = start + slice.count < selected.count ? Int64(start + slice.count) : nil
        return listReply(Array(slice), next: next, context: context)
    }

    /// `expand` (2022-10-31-preview): checked against the spec's pattern, then ignored (docs/fidelity.md).
    private func checkExpand(_ context: RequestContext) throws(CentralError) {
        guard context.version.hasDeviceExpand, let value = context.request.queryValues("expand").last else { return }
        guard value.utf8.count <= 255, value.utf8.allSatisfy({ Validation.isAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else {
            throw .badRequest("expand must be at most 255 letters, digits or '-', not '\(value.clipped)'.")
        }
    }

    /// The device of the path, with the organization tree: 404 when absent or outside the caller's organizations.
    func visibleDevice(_ context: RequestContext) throws -> (Device, OrganizationTree) {
        let id = context.parameter("deviceId")
        let tree = try organizationTree(context)
        guard let device = try store.device(appID: context.application.id, id: id), device.isVisible(to: context.scope, in: tree) else {
            throw CentralError.notFound("device", id: id)
        }
        return (device, tree)
    }

    /// Applies the writable members of `body` to `device` (a create starts from the defaults).
    private func apply(_ body: JSONValue, to device: inout Device, context: RequestContext, tree: OrganizationTree, creating: Bool) throws {
        if let value = body["displayName"] {
            guard value != .null || creating else { throw CentralError.invalidBody("The field 'displayName' cannot be removed.") }
            if value != .null {
                guard let name = value.stringValue, Validation.isDisplayName(name) else {
                    throw CentralError.invalidBody("The field 'displayName' must be a string of 1 to 200 characters, not only white space, without control characters.")
                }
                device.displayName = name
            }
        }
        if let value = body["template"] {
            guard value == .null || value.stringValue != nil else {
                throw CentralError.invalidBody("The field 'template' must be a string (a device template id), not \(value.kindDescription).")
            }
            device.template = value.stringValue
        }
        for (name, keyPath) in [("enabled", \Device.enabled), ("simulated", \Device.simulated)] {
            guard let value = body[name], value != .null else { continue }
            guard case .bool(let flag) = value else { throw CentralError.invalidBody("The field '\(name)' must be a boolean, not \(value.kindDescription).") }
            device[keyPath: keyPath] = flag
        }
        if context.version.hasDeviceType, let value = body["type"], value != .null {
            // 2022-10-31-preview: `type` is an array of "iotEdge" (x-ms-enum DeviceType); `deploymentManifest` is not
            // kept yet (deployment manifests are not emulated, docs/fidelity.md).
            guard let list = value.arrayValue, list.allSatisfy({ $0 == .string("iotEdge") }) else {
                throw CentralError.invalidBody("The field 'type' must be an array of device types: [\"iotEdge\"] or [].")
            }
            device.isEdge = !list.isEmpty
        }
        if device.simulated && device.template == nil {
            throw CentralError.invalidBody("A simulated device needs a template: set 'template' to a device template id.")
        }
        device.organizations = try scopedOrganizations(body, current: device.organizations, creating: creating, what: "device", context: context, tree: tree)
        device.etag = try Self.newETag()
    }

    /// The organization of an item scoped as devices are (a device, a device group): the body's `organizations` when
    /// it has one (an array of at most one id; null or [] for none; only in versions with organizations), else on a
    /// create the caller's own organization when it is organization-scoped, else `current`. An organization-scoped
    /// caller may not leave the item outside every organization, nor place it in one outside its subtrees (403); an
    /// organization that does not exist is left for the caller to refuse.
    func scopedOrganizations(_ body: JSONValue, current: [String], creating: Bool, what: String, context: RequestContext, tree: OrganizationTree) throws -> [String] {
        var organizations = current
        if let value = body["organizations"] {
            guard context.version.hasOrganizations else {
                throw CentralError.invalidBody("The field 'organizations' is not supported in api-version \(context.version.rawValue).")
            }
            let list = value == .null ? [] : value.arrayValue
            guard let list, list.allSatisfy({ $0.stringValue != nil }) else {
                throw CentralError.invalidBody("The field 'organizations' must be an array of organization ids (strings), not \(value.arrayValue == nil ? value.kindDescription : "an array with other values").")
            }
            guard list.count <= 1 else { throw CentralError.invalidBody("A \(what) belongs to one organization at most; 'organizations' names \(list.count).") }
            organizations = list.compactMap(\.stringValue)
        } else if creating, case .organizations(let roots) = context.scope {
            guard roots.count == 1, let own = roots.first else {
                throw CentralError.invalidBody("Name the \(what)'s organization in 'organizations': the caller belongs to \(roots.count) organizations.")
            }
            organizations = [own]
        }
        if context.scope != .application {
            guard let organization = organizations.first else {
                throw CentralError.forbidden("only a caller holding '\(context.operation.permission)' on the whole application may place a \(what) outside every organization; the caller holds it on \(context.scope.description).")
            }
            if tree.contains(organization) && !context.scope.contains(organization, in: tree) {
                throw CentralError.forbidden("the organization '\(organization.clipped)' lies outside \(context.scope.description), where the caller holds '\(context.operation.permission)'.")
            }
        }
        return organizations
    }

    private func save(_ device: Device, context: RequestContext) throws {
        do {
            try store.save(device, appID: context.application.id)
        } catch CentralStore.DeviceConflict.templateMissing(let template) {
            throw CentralError.missingReference("The device template '\(template.clipped)' does not exist.")
        } catch CentralStore.DeviceConflict.organizationMissing(let organization) {
            throw CentralError.missingReference("The organization '\(organization.clipped)' does not exist.")
        }
    }

    /// A fresh entity tag: a quoted opaque string, as the service's look (`"~…"`).
    static func newETag() throws -> String {
        "\"~" + Crypto.hex(try Crypto.randomBytes(6)) + "\""
    }
}
