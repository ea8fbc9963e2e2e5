import Storage

/// Devices and device templates in SQLite (migration 4). Every write is one transaction that checks what it refers
/// to (the template, the organizations) inside it, so a refused request writes nothing.
extension CentralStore {
    /// A write names a device template or an organization that does not exist (checked inside the transaction).
    public enum DeviceConflict: Error, Sendable, Equatable {
        case templateMissing(String)
        case organizationMissing(String)
        /// The template still has devices (up to 5 ids).
        case templateInUse(devices: [String])
    }

    // MARK: Device templates

    public func deviceTemplate(appID: String, id: String) throws -> DeviceTemplate? {
        try database.query("SELECT seq, id, document, etag FROM device_templates WHERE app_id = ? AND id = ?", [.text(appID), .text(id)])
            .first.map(Self.deviceTemplate)
    }

    /// One page of templates in creation order.
    public func deviceTemplates(appID: String, after: Int64, limit: Int) throws -> (items: [DeviceTemplate], next: Int64?) {
        try page(
            "SELECT seq, id, document, etag FROM device_templates WHERE app_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            appID: appID, after: after, limit: limit, Self.deviceTemplate)
    }

    /// Creates the template, or replaces the document of the one with the same id (keeping its place in lists).
    /// - Returns: whether it was created.
    @discardableResult
    public func save(_ template: DeviceTemplate, appID: String) throws -> Bool {
        let text = String(decoding: JSONValue.object(template.document).serialized, as: UTF8.self)
        return try database.transaction { tx in
            let updated = try tx.query(
                "UPDATE device_templates SET document = ?, etag = ? WHERE app_id = ? AND id = ? RETURNING seq",
                [.text(text), .text(template.etag), .text(appID), .text(template.id)])
            guard updated.isEmpty else { return false }
            try tx.query(
                "INSERT INTO device_templates (app_id, id, document, etag) VALUES (?, ?, ?, ?)",
                [.text(appID), .text(template.id), .text(text), .text(template.etag)])
            return true
        }
    }

    /// Deletes a template no device is an instance of.
    /// - Returns: whether it existed.
    /// - Throws: `DeviceConflict.templateInUse`, writing nothing.
    public func deleteDeviceTemplate(appID: String, id: String) throws -> Bool {
        try database.transaction { tx in
            let devices = try tx.query(
                "SELECT id FROM devices WHERE app_id = ? AND template = ? ORDER BY seq LIMIT 5", [.text(appID), .text(id)]).compactMap { $0[0].text }
            guard devices.isEmpty else { throw DeviceConflict.templateInUse(devices: devices) }
            return try !tx.query("DELETE FROM device_templates WHERE app_id = ? AND id = ? RETURNING seq", [.text(appID), .text(id)]).isEmpty
        }
    }

    private static func deviceTemplate(_ row: SQLiteRow) -> DeviceTemplate {
        var members: [(String, JSONValue)] = []
        if let text = row[2].text, case .object(let parsed)? = try? JSONValue.parse(Array(text.utf8)) { members = parsed }
        return DeviceTemplate(id: row[1].text ?? "", document: members, etag: row[3].text ?? "")
    }

    // MARK: Devices

    public func device(appID: String, id: String) throws -> Device? {
        try database.query("SELECT \(Self.deviceColumns) FROM devices WHERE app_id = ? AND id = ?", [.text(appID), .text(id)])
            .first.map(Self.device)
    }

    /// One page of the devices `isIncluded` lets through, in creation order.
    public func devices(appID: String, after: Int64, limit: Int, where isIncluded: (Device) -> Bool) throws -> (items: [Device], next: Int64?) {
        try filteredPage(
            "SELECT \(Self.deviceColumns) FROM devices WHERE app_id = ? AND seq > ? ORDER BY seq",
            appID: appID, after: after, limit: limit, map: Self.device, where: isIncluded)
    }

    /// Creates the device, or replaces the one with the same id.
    /// - Returns: whether it was created.
    /// - Throws: `DeviceConflict.templateMissing` or `.organizationMissing`, writing nothing.
    @discardableResult
    public func save(_ device: Device, appID: String) throws -> Bool {
        try database.transaction { tx in
            if let template = device.template,
               try tx.query("SELECT 1 FROM device_templates WHERE app_id = ? AND id = ?", [.text(appID), .text(template)]).isEmpty {
                throw DeviceConflict.templateMissing(template)
            }
            for organization in device.organizations
            where try tx.query("SELECT 1 FROM organizations WHERE app_id = ? AND id = ?", [.text(appID), .text(organization)]).isEmpty {
                throw DeviceConflict.organizationMissing(organization)
            }
            let organizations = String(decoding: JSONValue.array(device.organizations.map(JSONValue.string)).serialized, as: UTF8.self)
            let values: [SQLiteValue] = [
                .text(device.displayName), .optionalText(device.template), .integer(device.enabled ? 1 : 0), .integer(device.simulated ? 1 : 0),
                .integer(device.provisioned ? 1 : 0), .text(organizations), .integer(device.isEdge ? 1 : 0), .text(device.etag),
            ]
            let updated = try tx.query(
                "UPDATE devices SET display_name = ?, template = ?, enabled = ?, simulated = ?, provisioned = ?, organizations = ?, edge = ?, etag = ? WHERE app_id = ? AND id = ? RETURNING seq",
                values + [.text(appID), .text(device.id)])
            guard updated.isEmpty else { return false }
            try tx.query(
                "INSERT INTO devices (display_name, template, enabled, simulated, provisioned, organizations, edge, etag, app_id, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values + [.text(appID), .text(device.id)])
            return true
        }
    }

    /// Deletes a device, with its data, command history and attestation; returns whether it existed.
    public func deleteDevice(appID: String, id: String) throws -> Bool {
        try database.transaction { tx in
            try tx.query("DELETE FROM device_commands WHERE app_id = ? AND device_id = ?", [.text(appID), .text(id)])
            try tx.query("DELETE FROM device_data WHERE app_id = ? AND device_id = ?", [.text(appID), .text(id)])
            // What belongs to the device: its attestation, cloud properties and applied manifest (keyed by its id), its
            // relationships (keyed `{device}/{relationship}`) and the relationships of other devices that target it.
            try tx.query(
                "DELETE FROM resources WHERE app_id = ? AND kind IN ('attestation', 'cloudProperties', 'appliedDeploymentManifest') AND id = ?",
                [.text(appID), .text(id)])
            try tx.query(
                """
                DELETE FROM resources WHERE app_id = ? AND kind = 'relationship'
                AND (substr(id, 1, length(?) + 1) = ? || '/' OR json_extract(document, '$.target') = ?)
                """,
                [.text(appID), .text(id), .text(id), .text(id)])
            return try !tx.query("DELETE FROM devices WHERE app_id = ? AND id = ? RETURNING seq", [.text(appID), .text(id)]).isEmpty
        }
    }

    // MARK: Device data

    /// What is known of one component of a device ('' is the default component): each member an object of name ->
    /// entry (`desired`: `{value, version, time}`; `reported` and `telemetry`: `{value, time}`; `responses`:
    /// `{responseCode, response}`); `desiredVersion` counts the writes of desired values.
    public struct DeviceData: Sendable, Equatable {
        public var desired: [(String, JSONValue)] = []
        public var reported: [(String, JSONValue)] = []
        public var telemetry: [(String, JSONValue)] = []
        public var responses: [(String, JSONValue)] = []
        public var desiredVersion: Int64 = 0

        public init() {}

        public static func == (lhs: DeviceData, rhs: DeviceData) -> Bool {
            JSONValue.object(lhs.desired) == .object(rhs.desired) && JSONValue.object(lhs.reported) == .object(rhs.reported)
                && JSONValue.object(lhs.telemetry) == .object(rhs.telemetry) && JSONValue.object(lhs.responses) == .object(rhs.responses)
                && lhs.desiredVersion == rhs.desiredVersion
        }
    }

    public func deviceData(appID: String, deviceID: String, component: String) throws -> DeviceData {
        Self.deviceData(try database.query(Self.deviceDataQuery, [.text(appID), .text(deviceID), .text(component)]).first)
    }

    private static let deviceDataQuery =
        "SELECT desired, reported, telemetry, responses, desired_version FROM device_data WHERE app_id = ? AND device_id = ? AND component = ?"

    private static func deviceData(_ row: SQLiteRow?) -> DeviceData {
        var data = DeviceData()
        guard let row else { return data }
        func members(_ value: SQLiteValue) -> [(String, JSONValue)] {
            guard let text = value.text, case .object(let members)? = try? JSONValue.parse(Array(text.utf8)) else { return [] }
            return members
        }
        data.desired = members(row[0])
        data.reported = members(row[1])
        data.telemetry = members(row[2])
        data.responses = members(row[3])
        data.desiredVersion = row[4].integer ?? 0
        return data
    }

    /// Changes the data of each of `components` with `change` (called once per component), all in one transaction,
    /// so a write that fails part way leaves nothing changed; `connected`, when given, sets whether the device is
    /// connected. False when the device does not exist.
    @discardableResult
    public func updateDeviceData(
        appID: String, deviceID: String, components: [String], connected: Bool? = nil, _ change: (String, inout DeviceData) throws -> Void
    ) throws -> Bool {
        try database.transaction { tx in
            guard !(try tx.query("SELECT 1 FROM devices WHERE app_id = ? AND id = ?", [.text(appID), .text(deviceID)]).isEmpty) else { return false }
            func text(_ members: [(String, JSONValue)]) -> SQLiteValue { .text(String(decoding: JSONValue.object(members).serialized, as: UTF8.self)) }
            for component in components {
                var data = Self.deviceData(try tx.query(Self.deviceDataQuery, [.text(appID), .text(deviceID), .text(component)]).first)
                try change(component, &data)
                try tx.query(
                    """
                    INSERT INTO device_data (app_id, device_id, component, desired, reported, telemetry, responses, desired_version)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (app_id, device_id, component) DO UPDATE SET desired = excluded.desired, reported = excluded.reported,
                        telemetry = excluded.telemetry, responses = excluded.responses, desired_version = excluded.desired_version
                    """,
                    [.text(appID), .text(deviceID), .text(component), text(data.desired), text(data.reported), text(data.telemetry), text(data.responses),
                     .integer(data.desiredVersion)])
            }
            if let connected {
                // A device the control plane connects has been provisioned, as a real one would be on its first connection.
                try tx.query(
                    "UPDATE devices SET connected = ?, provisioned = CASE WHEN ? THEN 1 ELSE provisioned END WHERE app_id = ? AND id = ?",
                    [.integer(connected ? 1 : 0), .integer(connected ? 1 : 0), .text(appID), .text(deviceID)])
            }
            return true
        }
    }

    /// Whether the control plane has connected the device.
    public func isConnected(appID: String, deviceID: String) throws -> Bool {
        try database.query("SELECT connected FROM devices WHERE app_id = ? AND id = ?", [.text(appID), .text(deviceID)]).first?[0].integer == 1
    }

    /// Records a command run (the last 100 of each command of a component are kept).
    public func recordCommand(appID: String, deviceID: String, component: String, name: String, document: JSONValue) throws {
        let keys: [SQLiteValue] = [.text(appID), .text(deviceID), .text(component), .text(name)]
        try database.transaction { tx in
            try tx.query(
                "INSERT INTO device_commands (app_id, device_id, component, name, document) VALUES (?, ?, ?, ?, ?)",
                keys + [.text(String(decoding: document.serialized, as: UTF8.self))])
            try tx.query(
                """
                DELETE FROM device_commands WHERE app_id = ? AND device_id = ? AND component = ? AND name = ? AND seq NOT IN
                (SELECT seq FROM device_commands WHERE app_id = ?1 AND device_id = ?2 AND component = ?3 AND name = ?4 ORDER BY seq DESC LIMIT 100)
                """, keys)
        }
    }

    /// The runs of a command, newest first.
    public func commandHistory(appID: String, deviceID: String, component: String, name: String) throws -> [JSONValue] {
        try database.query(
            "SELECT document FROM device_commands WHERE app_id = ? AND device_id = ? AND component = ? AND name = ? ORDER BY seq DESC",
            [.text(appID), .text(deviceID), .text(component), .text(name)]).compactMap { row in
                row[0].text.flatMap { try? JSONValue.parse(Array($0.utf8)) }
            }
    }

    private static let deviceColumns = "seq, id, display_name, template, enabled, simulated, provisioned, organizations, etag, edge"

    private static func device(_ row: SQLiteRow) -> Device {
        var organizations: [String] = []
        if let text = row[7].text, let values = (try? JSONValue.parse(Array(text.utf8)))?.arrayValue {
            organizations = values.compactMap(\.stringValue)
        }
        return Device(
            id: row[1].text ?? "", displayName: row[2].text ?? "", template: row[3].text, enabled: row[4].integer == 1,
            simulated: row[5].integer == 1, provisioned: row[6].integer == 1, organizations: organizations, isEdge: row[9].integer == 1,
            etag: row[8].text ?? "")
    }
}
