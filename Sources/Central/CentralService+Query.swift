/// Handler of `POST /api/query` (spec operation Query_Run; "How to use the IoT Central REST API to query devices"),
/// over the grammar `DeviceQuery` documents. The mock keeps each device's last values only, so a query gives at most
/// one row per device (the real service gives one per telemetry message in the window): the devices of the template
/// in `FROM` that the caller may see, with `$id`, `$ts` (the time of the device's latest telemetry value, absent
/// without one; `WITHIN_WINDOW` looks at it, so a device that sent no telemetry is in no window),
/// `$displayName`, `$provisioned`, `$simulated`, `$enabled`, and each last telemetry and property value by name
/// (`component.name` for a component's). `SELECT *` gives all of them; a selected column the device has no value for
/// is null. Rows keep creation order unless `ORDER BY` says otherwise.
extension CentralService {
    /// Query_Run: `{"query": "..."}` to `{"results": [...]}`.
    /// - Throws: 422 InvalidQuery naming what is not supported; 404 for a template that does not exist.
    func runQuery(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        try Self.checkModel(body, "QueryRequest", version: context.version)
        let text = body["query"]?.stringValue ?? ""
        let query: DeviceQuery
        do {
            query = try DeviceQuery(parsing: text)
        } catch {
            throw CentralError.unprocessable(code: "InvalidQuery", "The query is not supported by iotc-mock: \(error.message). The README's section on jobs and query gives the grammar it understands.")
        }
        guard try store.deviceTemplate(appID: context.application.id, id: query.template) != nil else {
            throw CentralError.notFound("device template", id: query.template)
        }
        let tree = try organizationTree(context)
        var rows: [DeviceQuery.Row] = []
        var after: Int64 = 0
        while true {
            let (devices, next) = try store.devices(appID: context.application.id, after: after, limit: 1000) { device in
                device.template == query.template && device.isVisible(to: context.scope, in: tree)
            }
            for device in devices {
                let row = try queryRow(device, context: context)
                if query.condition.map({ DeviceQuery.holds($0, for: row, now: context.now) }) ?? true { rows.append(row) }
            }
            guard let next else { break }
            after = next
        }
        if let order = query.orderBy {
            let key = order.column.component.map { "\($0).\(order.column.name)" } ?? order.column.name
            // Rows without a value come last, in either direction; equal ones keep creation order.
            rows = rows.enumerated().sorted { a, b in
                let x = a.element.values[key], y = b.element.values[key]
                guard x != y else { return a.offset < b.offset }
                guard let x else { return false }
                guard let y else { return true }
                return order.descending ? DeviceQuery.precedes(y, x) : DeviceQuery.precedes(x, y)
            }.map(\.element)
        }
        let results: [JSONValue] = rows.prefix(query.top ?? DeviceQuery.maxRows).map { row in
            guard let columns = query.columns else {
                return .object(row.values.sorted { ($0.key.hasPrefix("$") ? 0 : 1, $0.key) < ($1.key.hasPrefix("$") ? 0 : 1, $1.key) })
            }
            return .object(columns.map { column in
                (column.label, row.values[column.component.map { "\($0).\(column.name)" } ?? column.name] ?? .null)
            })
        }
        return Reply(status: 200, body: .object([("results", .array(results))]))
    }

    /// The values a query reads from one device.
    private func queryRow(_ device: Device, context: RequestContext) throws -> DeviceQuery.Row {
        var values: [String: JSONValue] = [
            "$id": .string(device.id), "$displayName": .string(device.displayName), "$provisioned": .bool(device.provisioned),
            "$simulated": .bool(device.simulated), "$enabled": .bool(device.enabled),
        ]
        var latest: Double = 0
        for (prefix, key) in [("", "")] + (try components(of: device, context: context)).map({ ("\($0.name).", $0.name) }) {
            let data = try store.deviceData(appID: context.application.id, deviceID: device.id, component: key)
            for (name, entry) in data.desired + data.reported { values[prefix + name] = entry["value"] ?? .null }
            for (name, entry) in data.telemetry {
                values[prefix + name] = entry["value"] ?? .null
                latest = max(latest, entry["time"]?.numberValue ?? 0)
            }
        }
        if latest > 0 { values["$ts"] = .string(Timestamp.iso8601(milliseconds: Int64(latest))) }
        return DeviceQuery.Row(values: values, time: Int64(latest))
    }
}
