/// A device of an application (spec definition `Device`): its id, `displayName`, the device template it is an
/// instance of (`template`, absent while unassigned), `enabled`, `simulated`, `provisioned` (read-only: no device
/// ever connects to the mock, so always false) and the organizations it belongs to (from `1.1-preview` on).
public struct Device: Sendable, Equatable {
    public var id: String
    public var displayName: String
    public var template: String?
    public var enabled: Bool
    public var simulated: Bool
    public var provisioned: Bool
    public var organizations: [String]
    /// An IoT Edge device (spec member `type: ["iotEdge"]`, 2022-10-31-preview).
    public var isEdge: Bool
    /// Changes on every write (spec member `etag`; a quoted opaque string).
    public var etag: String

    public init(id: String, displayName: String, template: String?, enabled: Bool, simulated: Bool, provisioned: Bool = false, organizations: [String], isEdge: Bool = false, etag: String) {
        self.id = id
        self.displayName = displayName
        self.template = template
        self.enabled = enabled
        self.simulated = simulated
        self.provisioned = provisioned
        self.organizations = organizations
        self.isEdge = isEdge
        self.etag = etag
    }

    /// The spec's shape in `version`: `organizations` only where the version has organizations, and only when the
    /// device belongs to one.
    public func json(version: APIVersion) -> JSONValue {
        var members: [(String, JSONValue)] = [("id", .string(id)), ("etag", .string(etag)), ("displayName", .string(displayName))]
        if let template { members.append(("template", .string(template))) }
        members += [("simulated", .bool(simulated)), ("provisioned", .bool(provisioned)), ("enabled", .bool(enabled))]
        if version.hasOrganizations && !organizations.isEmpty { members.append(("organizations", .array(organizations.map(JSONValue.string)))) }
        if version.hasDeviceType && isEdge { members.append(("type", .array([.string("iotEdge")]))) }
        return .object(members)
    }

    /// Whether a caller with `scope` may see this device: an application-wide caller sees every device; an
    /// organization-scoped one only the devices of its organizations and their descendants (assumed: a device in no
    /// organization belongs to the root, which such a caller does not see; docs/fidelity.md).
    public func isVisible(to scope: AccessScope, in tree: OrganizationTree) -> Bool {
        guard let visible = scope.organizations(in: tree) else { return true }
        return organizations.contains { visible.contains($0) }
    }
}

/// A device template (spec definition `DeviceTemplate`): a DTDL document kept as sent, apart from its read-only
/// members `@id` (the template's id) and `etag`.
public struct DeviceTemplate: Sendable, Equatable {
    public var id: String
    /// The members of the document other than `@id` and `etag`, in the order they were sent.
    public var document: [(String, JSONValue)]
    public var etag: String

    public init(id: String, document: [(String, JSONValue)], etag: String) {
        self.id = id
        self.document = document.filter { $0.0 != "@id" && $0.0 != "etag" }
        self.etag = etag
    }

    public static func == (lhs: DeviceTemplate, rhs: DeviceTemplate) -> Bool {
        lhs.id == rhs.id && lhs.etag == rhs.etag && JSONValue.object(lhs.document) == JSONValue.object(rhs.document)
    }

    /// The document with `@id` first and `etag` after `@type`, as the service answers.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("@id", .string(id))]
        for member in document {
            members.append(member)
            if member.0 == "@type" { members.append(("etag", .string(etag))) }
        }
        if !members.contains(where: { $0.0 == "etag" }) { members.append(("etag", .string(etag))) }
        return .object(members)
    }

    /// The template's display name, when it has a plain-text one.
    public var displayName: String? { document.first { $0.0 == "displayName" }?.1.stringValue }
}
