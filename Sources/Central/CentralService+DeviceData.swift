/// Handlers of what a device sends and is sent, for its default component and the components of its template (spec
/// operations Devices_ListComponents, Devices_GetProperties, _ReplaceProperties, _UpdateProperties,
/// _GetComponentProperties, _ReplaceComponentProperties, _UpdateComponentProperties, _GetTelemetryValue,
/// _GetComponentTelemetryValue, _RunCommand, _RunComponentCommand, _GetCommandHistory, _GetComponentCommandHistory;
/// "How to use the IoT Central REST API to control devices").
///
/// No device ever connects to the mock: the control plane (`PATCH /_mock/apps/{app}/devices/{deviceId}`) stands in
/// for it, setting reported property values, last telemetry values, command responses and whether it is connected.
/// Every operation first finds the device as `Devices_Get` does (404 outside an organization-scoped caller's subtree).
extension CentralService {
    /// Devices_ListComponents: the `Component` entries of the template's capability model, as published.
    func listComponents(_ context: RequestContext) throws -> Reply {
        let device = try deviceForData(context)
        return Reply(status: 200, body: .object([("value", .array(try components(of: device, context: context).map(\.entry)))]))
    }

    /// Devices_ListModules: the `EdgeModule` entries of the template's capability model, as published (an IoT Edge
    /// device template; other devices have none).
    func listModules(_ context: RequestContext) throws -> Reply {
        let device = try deviceForData(context)
        return Reply(status: 200, body: .object([("value", .array(try modules(of: device, appID: context.application.id).map(\.entry)))]))
    }

    /// Devices_ListModuleComponents: the `Component` entries of the module's model (its `target`); 404 for a module
    /// the template does not have.
    func listModuleComponents(_ context: RequestContext) throws -> Reply {
        let device = try deviceForData(context)
        let module = context.parameter("moduleName")
        guard let found = try modules(of: device, appID: context.application.id).first(where: { $0.name == module }) else {
            throw CentralError.notFound("module", id: module)
        }
        return Reply(status: 200, body: .object([("value", .array(Self.components(in: found.entry["target"] ?? .null).map(\.entry)))]))
    }

    /// Devices_GetProperties and Devices_GetComponentProperties (and the module forms): each property's value (the reported one, else the
    /// desired one) and `$metadata` with its `lastUpdateTime` and, for a desired value, `desiredValue` and
    /// `desiredVersion`; the default component's answer nests each component's, marked `"__t": "c"` (assumed shape,
    /// docs/fidelity.md).
    func getProperties(_ context: RequestContext) throws -> Reply {
        let device = try deviceForData(context)
        let component = try dataKey(context, device: device)
        var body = Self.propertiesJSON(try store.deviceData(appID: context.application.id, deviceID: device.id, component: component))
        if case .object(var members) = body {
            for each in try nestedComponents(context, device: device) {
                guard case .object(let nested) = Self.propertiesJSON(try store.deviceData(appID: context.application.id, deviceID: device.id, component: each.key)),
                      nested.count > 1 else { continue }
                members.append((each.name, .object([("__t", .string("c"))] + nested)))
            }
            body = .object(members)
        }
        return Reply(status: 200, body: body)
    }

    /// Devices_ReplaceProperties (`replacing`) and Devices_UpdateProperties, and their component forms: the body's
    /// members become desired values (a replace drops the desired values it does not name; in an update, null drops
    /// one). On the device's own properties, a member named after a component of its template holds that
    /// component's values. Answered 202 with `$metadata.{name}.desiredValue` for each value, nested under each
    /// component named, as the device has yet to take them (the spec's example "Update device properties").
    func setProperties(_ context: RequestContext, replacing: Bool) throws -> Reply {
        try context.requireContentType(replacing ? ["application/json"] : ["application/json", "application/merge-patch+json"])
        let device = try deviceForData(context)
        let component = try dataKey(context, device: device)
        guard case .object(let members) = try context.jsonObjectBody() else { throw CentralError.invalidBody("The request body must be a JSON object.") }
        let nested = try nestedComponents(context, device: device)
        // The values of each component the body names ('' is the one of the path).
        var writes: [(component: String, values: [(String, JSONValue)])] = [(component, [])]
        for (name, value) in members {
            if let key = nested.first(where: { $0.name == name })?.key {
                guard case .object(let values) = value else {
                    throw CentralError.invalidBody("'\(name.clipped)' is a component of the device's template: give its property values as an object.")
                }
                writes.append((key, values))
            } else {
                writes[0].values.append((name, value))
            }
        }
        for (_, values) in writes {
            if let reserved = values.first(where: { $0.0.hasPrefix("$") || $0.0 == "__t" }) {
                throw CentralError.invalidBody("'\(reserved.0.clipped)' is not a property name: names starting with '$', and '__t', are reserved.")
            }
        }
        let written = writes.enumerated().filter { $0.offset == 0 || !$0.element.values.isEmpty }.map(\.element)
        try setDesired(written, appID: context.application.id, deviceID: device.id, replacing: replacing, now: context.now)
        var answer: [(String, JSONValue)] = []
        for (index, write) in written.enumerated() {
            let metadata: [(String, JSONValue)] = [("$metadata", .object(write.values.map { ($0.0, .object([("desiredValue", $0.1)])) }))]
            if index == 0 {
                if !write.values.isEmpty || written.count == 1 { answer += metadata }
            } else {
                answer.append((nested.first { $0.key == write.component }?.name ?? write.component, .object(metadata)))
            }
        }
        return Reply(status: 202, body: .object(answer))
    }

    /// Devices_GetTelemetryValue and Devices_GetComponentTelemetryValue: the last value the control plane set, with
    /// its time; 404 when none was (assumed).
    func getTelemetry(_ context: RequestContext) throws -> Reply {
        let device = try deviceForData(context)
        let component = try dataKey(context, device: device)
        let name = context.parameter("telemetryName")
        let data = try store.deviceData(appID: context.application.id, deviceID: device.id, component: component)
        guard let entry = data.telemetry.first(where: { $0.0 == name })?.1 else {
            throw CentralError.notFound("telemetry value", id: name)
        }
        return Reply(status: 200, body: .object([
            ("timestamp", .string(Timestamp.iso8601(milliseconds: Int64(entry["time"]?.numberValue ?? 0)))), ("value", entry["value"] ?? .null),
        ]))
    }

    /// Devices_RunCommand and Devices_RunComponentCommand: 201 with the response the control plane set for the
    /// command (`responseCode` 200 and no `response` when it set none); a device the control plane has not connected
    /// is not online: 404 `DeviceNotConnected`, and nothing is recorded (assumed, after IoT Hub's answer to a direct
    /// method on a device that is not online). `connectionTimeout` is 0 to 30 and `responseTimeout` 5 to 30 (the
    /// spec); neither waits, as there is no device.
    func runCommand(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json"])
        let device = try deviceForData(context)
        let component = try dataKey(context, device: device)
        let name = context.parameter("commandName")
        let body = try context.jsonObjectBody()
        var document: [(String, JSONValue)] = [("id", .string(Crypto.uuid()))]
        for (field, range) in [("connectionTimeout", 0...30), ("responseTimeout", 5...30)] {
            guard let value = body[field], value != .null else { continue }
            guard case .number(let number) = value, number == number.rounded(), range.contains(Int(exactly: number) ?? -1) else {
                throw CentralError.invalidBody("The field '\(field)' must be an integer from \(range.lowerBound) to \(range.upperBound).")
            }
            document.append((field, value))
        }
        if let request = body["request"] { document.append(("request", request)) }
        return Reply(status: 201, body: try recordRun(document, command: name, component: component, deviceID: device.id, appID: context.application.id))
    }

    /// Writes desired values, one write per component (its data key) with the values it names: a replace drops the
    /// desired values it does not name, and otherwise null drops one. One transaction for them all.
    func setDesired(_ writes: [(component: String, values: [(String, JSONValue)])], appID: String, deviceID: String, replacing: Bool, now: Int64) throws {
        try store.updateDeviceData(appID: appID, deviceID: deviceID, components: writes.map(\.component)) { component, data in
            guard let values = writes.first(where: { $0.component == component })?.values else { return }
            if replacing { data.desired = [] }
            // One version per write, as a device twin's desired `$version` counts patches.
            data.desiredVersion += 1
            for (name, value) in values {
                data.desired.removeAll { $0.0 == name }
                guard value != .null || replacing else { continue }
                data.desired.append((name, .object([
                    ("value", value), ("version", .number(Double(data.desiredVersion))), ("time", .number(Double(now))),
                ])))
            }
        }
    }

    /// Runs a command on a connected device: `document` (the run's `id`, timeouts and `request`) with the response the
    /// control plane set (`responseCode` 200 and no `response` when it set none), recorded in the command's history.
    /// - Throws: 404 DeviceNotConnected for a device the control plane has not connected (nothing is recorded).
    func recordRun(_ document: [(String, JSONValue)], command name: String, component: String, deviceID: String, appID: String) throws -> JSONValue {
        guard try store.isConnected(appID: appID, deviceID: deviceID) else {
            throw CentralError(
                status: 404, code: "DeviceNotConnected",
                message: "The device '\(deviceID)' is not connected, so the command '\(name.clipped)' cannot run. (iotc-mock: connect it with PATCH /_mock/apps/{app}/devices/\(deviceID) {\"connected\": true}.)")
        }
        var document = document
        let configured = try store.deviceData(appID: appID, deviceID: deviceID, component: component).responses.first { $0.0 == name }?.1
        if let response = configured?["response"] { document.append(("response", response)) }
        document.append(("responseCode", configured?["responseCode"] ?? .number(200)))
        try store.recordCommand(appID: appID, deviceID: deviceID, component: component, name: name, document: .object(document))
        return .object(document)
    }

    /// Devices_GetCommandHistory and Devices_GetComponentCommandHistory: the runs of the command, newest first (the
    /// last 100 are kept).
    func commandHistory(_ context: RequestContext) throws -> Reply {
        let device = try deviceForData(context)
        let component = try dataKey(context, device: device)
        let runs = try store.commandHistory(appID: context.application.id, deviceID: device.id, component: component, name: context.parameter("commandName"))
        return Reply(status: 200, body: .object([("value", .array(runs))]))
    }

    // MARK: The control plane's stand-in for the device

    /// What the device would do, set by the control plane (`PATCH /_mock/apps/{app}/devices/{deviceId}`). `body`
    /// members, all optional: `connected` (boolean); `reported` (property name -> value: the device reports it);
    /// `telemetry` (name -> value: its last value, at `timestamp` or now); `commands` (name -> `{"responseCode":
    /// integer, "response": any}`: how the device answers that command). In `reported`, `telemetry` and `commands`, a
    /// member named after a component of the device's template holds that component's values, and one named after a
    /// module (an IoT Edge template's `EdgeModule`) holds the module's values, with its components' values nested
    /// under their names; a value of null removes one. Setting anything connects the device unless `connected` says otherwise, and marks it
    /// provisioned, as a device's first connection does.
    /// - Returns: the device's properties, as `Devices_GetProperties` answers, with `connected`.
    /// - Throws: `CentralError` 404 when the device does not exist, 400 for a body that does not have this shape.
    public func simulateDevice(applicationID: String, deviceID: String, body: [UInt8], now: Int64) throws -> JSONValue {
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(body) } catch { throw CentralError.badRequest(error.message) }
        guard case .object(let members) = parsed else { throw CentralError.badRequest("The body must be a JSON object.") }
        if let unknown = members.first(where: { !["connected", "reported", "telemetry", "commands", "timestamp"].contains($0.0) }) {
            throw CentralError.badRequest("Unknown member '\(unknown.0.clipped)': use connected, reported, telemetry, commands and timestamp.")
        }
        try catchUpJobs(appID: applicationID, now: now)
        guard let device = try store.device(appID: applicationID, id: deviceID) else { throw CentralError.notFound("device", id: deviceID) }
        var connected = true
        if let value = parsed["connected"] {
            guard case .bool(let flag) = value else { throw CentralError.badRequest("'connected' must be a boolean.") }
            connected = flag
        }
        var time = now
        if let value = parsed["timestamp"] {
            guard let text = value.stringValue, let parsedTime = Timestamp.parseISO8601(text) else {
                throw CentralError.badRequest("'timestamp' must be an RFC 3339 date-time from 1970 on, such as 2026-12-05T10:00:00Z.")
            }
            time = parsedTime
        }
        let componentNames = Set(try components(of: device, appID: applicationID).map(\.name))
        let modules = try modules(of: device, appID: applicationID)
        // The values of each component (its data key, as `dataKey` gives it): (component, member, name, value).
        var changes: [(component: String, member: String, name: String, value: JSONValue)] = []
        for member in ["reported", "telemetry", "commands"] {
            guard let value = parsed[member] else { continue }
            guard case .object(let entries) = value else { throw CentralError.badRequest("'\(member)' must be an object of names and values.") }
            for (name, entry) in entries {
                let module = componentNames.contains(name) ? nil : modules.first { $0.name == name }
                guard componentNames.contains(name) || module != nil else {
                    changes.append(("", member, name, entry))
                    continue
                }
                guard case .object(let nested) = entry else {
                    throw CentralError.badRequest("\(member).\(name.clipped) names a \(module == nil ? "component" : "module") of the device's template: give its values as an object.")
                }
                guard let module else {
                    changes += nested.map { (name, member, $0.0, $0.1) }
                    continue
                }
                // A module's values, and its components' values nested under their names.
                let moduleComponents = Set(Self.components(in: module.entry["target"] ?? .null).map(\.name))
                for (inner, innerValue) in nested {
                    guard moduleComponents.contains(inner) else {
                        changes.append(("\(name)/", member, inner, innerValue))
                        continue
                    }
                    guard case .object(let values) = innerValue else {
                        throw CentralError.badRequest("\(member).\(name.clipped).\(inner.clipped) names a component of the module: give its values as an object.")
                    }
                    changes += values.map { ("\(name)/\(inner)", member, $0.0, $0.1) }
                }
            }
        }
        for change in changes {
            if change.name.hasPrefix("$") || change.name == "__t" {
                throw CentralError.badRequest("'\(change.name.clipped)' is not a name a device can use: names starting with '$', and '__t', are reserved.")
            }
            guard change.member == "commands" && change.value != .null else { continue }
            guard case .object = change.value,
                  change.value["responseCode"].map({ $0.numberValue.map { $0 == $0.rounded() && (100...599).contains($0) } ?? false }) ?? true else {
                throw CentralError.badRequest("commands.\(change.name.clipped) must be an object with an integer 'responseCode' from 100 to 599 and any 'response'.")
            }
        }
        // Every component in one transaction (the default one first, which also records `connected`).
        let touched = [""] + Set(changes.map(\.component)).subtracting([""]).sorted()
        try store.updateDeviceData(appID: applicationID, deviceID: deviceID, components: touched, connected: connected) { component, data in
            for change in changes where change.component == component {
                let entry: JSONValue = change.member == "commands" ? change.value : .object([("value", change.value), ("time", .number(Double(time)))])
                switch change.member {
                case "reported":
                    data.reported.removeAll { $0.0 == change.name }
                    if change.value != .null { data.reported.append((change.name, entry)) }
                case "telemetry":
                    data.telemetry.removeAll { $0.0 == change.name }
                    if change.value != .null { data.telemetry.append((change.name, entry)) }
                default:
                    data.responses.removeAll { $0.0 == change.name }
                    if change.value != .null { data.responses.append((change.name, entry)) }
                }
            }
        }
        return .object([("connected", .bool(connected)), ("properties", Self.propertiesJSON(try store.deviceData(appID: applicationID, deviceID: deviceID, component: "")))])
    }

    // MARK: Helpers

    /// A `Component` of a template's capability model: its `name` and its entry as published.
    struct TemplateComponent {
        var name: String
        var entry: JSONValue
    }

    /// The components of the device's template (none without a template).
    func components(of device: Device, context: RequestContext) throws -> [TemplateComponent] {
        try components(of: device, appID: context.application.id)
    }

    func components(of device: Device, appID: String) throws -> [TemplateComponent] {
        guard let id = device.template, let template = try store.deviceTemplate(appID: appID, id: id) else { return [] }
        return Self.components(in: JSONValue.object(template.document)["capabilityModel"] ?? .null)
    }

    /// The modules of the device's template: the `EdgeModule` (or `SemanticType/EdgeModule`) relationships of its
    /// capability model, each with the module's model as its `target` (an IoT Edge device template).
    func modules(of device: Device, appID: String) throws -> [TemplateComponent] {
        guard let id = device.template, let template = try store.deviceTemplate(appID: appID, id: id) else { return [] }
        return Self.entries(of: "EdgeModule", in: JSONValue.object(template.document)["capabilityModel"] ?? .null)
    }

    /// The `Component` entries of a model, or of each model of an array of models (a module's `target`).
    static func components(in model: JSONValue) -> [TemplateComponent] { entries(of: "Component", in: model) }

    private static func entries(of type: String, in model: JSONValue) -> [TemplateComponent] {
        let models = model.arrayValue ?? [model]
        return models.flatMap { model in
            (model["contents"]?.arrayValue ?? []).compactMap { entry in
                let types = entry["@type"].map { $0.stringValue.map { [$0] } ?? $0.arrayValue?.compactMap(\.stringValue) ?? [] } ?? []
                // `EdgeModule` is written `SemanticType/EdgeModule` too (the spec's example "Get modules from an Edge device").
                guard types.contains(where: { $0 == type || $0.hasSuffix("/" + type) }), let name = entry["name"]?.stringValue else { return nil }
                return TemplateComponent(name: name, entry: entry)
            }
        }
    }

    private func deviceForData(_ context: RequestContext) throws -> Device {
        // `unmodeled` (a boolean in the versions that have it): checked, then ignored, since the mock does not check
        // properties against the template (every property counts as modeled).
        if context.version.hasUnmodeledProperties, context.operation.operationID.contains("Properties"),
           let value = context.request.queryValues("unmodeled").last, value != "true" && value != "false" {
            throw CentralError.badRequest("unmodeled must be true or false, not '\(value.clipped)'.")
        }
        return try visibleDevice(context).0
    }

    /// Where the data of what the path names is kept: '' for the device's default component, the component's name,
    /// `{module}/` for a module's default component and `{module}/{component}` for a module's component.
    /// - Throws: 404 when the device's template has no such module or component.
    private func dataKey(_ context: RequestContext, device: Device) throws -> String {
        var prefix = ""
        var available = try components(of: device, context: context)
        if let module = context.parameters["moduleName"] {
            guard let found = try modules(of: device, appID: context.application.id).first(where: { $0.name == module }) else {
                throw CentralError.notFound("module", id: module)
            }
            prefix = module + "/"
            available = Self.components(in: found.entry["target"] ?? .null)
        }
        guard let name = context.parameters["componentName"] else { return prefix }
        guard available.contains(where: { $0.name == name }) else { throw CentralError.notFound("component", id: name) }
        return prefix + name
    }

    /// The components whose values nest in the answer for the default component of the device (its template's) or of
    /// a module (the module's), with where their data is kept; none when the path names a component.
    private func nestedComponents(_ context: RequestContext, device: Device) throws -> [(name: String, key: String)] {
        guard context.parameters["componentName"] == nil else { return [] }
        if let module = context.parameters["moduleName"] {
            let found = try modules(of: device, appID: context.application.id).first { $0.name == module }
            return Self.components(in: found?.entry["target"] ?? .null).map { ($0.name, "\(module)/\($0.name)") }
        }
        return try components(of: device, context: context).map { ($0.name, $0.name) }
    }

    /// One component's properties as the service shows them.
    static func propertiesJSON(_ data: CentralStore.DeviceData) -> JSONValue {
        var values: [(String, JSONValue)] = []
        var metadata: [(String, JSONValue)] = []
        var names = data.reported.map(\.0)
        for (name, _) in data.desired where !names.contains(name) { names.append(name) }
        for name in names {
            let reported = data.reported.first { $0.0 == name }?.1
            let desired = data.desired.first { $0.0 == name }?.1
            values.append((name, reported?["value"] ?? desired?["value"] ?? .null))
            var entry: [(String, JSONValue)] = []
            let time = max(reported?["time"]?.numberValue ?? 0, desired?["time"]?.numberValue ?? 0)
            entry.append(("lastUpdateTime", .string(Timestamp.iso8601(milliseconds: Int64(time)))))
            if let desired {
                entry.append(("desiredValue", desired["value"] ?? .null))
                entry.append(("desiredVersion", desired["version"] ?? .number(0)))
            }
            metadata.append((name, .object(entry)))
        }
        return .object(values + [("$metadata", .object(metadata))])
    }
}
