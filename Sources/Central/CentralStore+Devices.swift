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

    /// Deletes a device; returns whether it existed.
    public func deleteDevice(appID: String, id: String) throws -> Bool {
        try !database.query("DELETE FROM devices WHERE app_id = ? AND id = ? RETURNING seq", [.text(appID), .text(id)]).isEmpty
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
