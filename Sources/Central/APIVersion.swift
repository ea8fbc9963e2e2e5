/// The `api-version` values of IoT Central's REST API (the IoT Central REST API reference), oldest first.
public enum APIVersion: String, Sendable, CaseIterable, Comparable {
    case v1_0 = "1.0"
    case v1_1_preview = "1.1-preview"
    case v1_2_preview = "1.2-preview"
    case v2021_04_30_preview = "2021-04-30-preview"
    case v2022_05_31 = "2022-05-31"
    case v2022_06_30_preview = "2022-06-30-preview"
    case v2022_07_31 = "2022-07-31"
    case v2022_10_31_preview = "2022-10-31-preview"

    public static func < (lhs: APIVersion, rhs: APIVersion) -> Bool {
        lhs.ordinal < rhs.ordinal
    }

    private var ordinal: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    /// Whether `adGroup` users exist in this version (the IoT Central REST API reference: not in 1.0).
    public var hasADGroupUsers: Bool { self != .v1_0 }
    /// Whether role assignments may name an `organization` (the IoT Central REST API reference: not in 1.0 nor 2021-04-30-preview).
    public var hasOrganizations: Bool { self != .v1_0 && self != .v2021_04_30_preview }
    /// Whether `GET /users`, `GET /devices` and `GET /deviceTemplates` take `maxpagesize` (the IoT Central REST API
    /// reference: 2022-10-31-preview).
    public var hasMaxPageSize: Bool { self == .v2022_10_31_preview }
    /// The list options (OData) `operationID` takes in this version, as the official specs declare them: `$filter`,
    /// `$top`, `$orderby` on Devices_List and DeviceTemplates_List (1.1-preview) and DeviceGroups_List (1.2-preview,
    /// 2022-06-30-preview, where DeviceGroups_GetDevices takes `$top`); `filter` and `orderby` on Dashboards_List,
    /// DeviceGroups_List, DeviceTemplates_List and Devices_List, `filter` on DeploymentManifests_List
    /// (2022-10-31-preview).
    public func listOptions(of operationID: String) -> [String] {
        switch self {
        case .v1_1_preview:
            ["Devices_List", "DeviceTemplates_List"].contains(operationID) ? ["$filter", "$top", "$orderby"] : []
        case .v1_2_preview, .v2022_06_30_preview:
            ["Devices_List", "DeviceTemplates_List", "DeviceGroups_List"].contains(operationID) ? ["$filter", "$top", "$orderby"]
                : self == .v2022_06_30_preview && operationID == "DeviceGroups_GetDevices" ? ["$top"] : []
        case .v2022_10_31_preview:
            ["Dashboards_List", "DeviceGroups_List", "DeviceTemplates_List", "Devices_List"].contains(operationID) ? ["filter", "orderby"]
                : operationID == "DeploymentManifests_List" ? ["filter"] : []
        default: []
        }
    }
    /// Whether the device and component property operations take `unmodeled` (a boolean; 2022-06-30-preview and
    /// 2022-10-31-preview).
    public var hasUnmodeledProperties: Bool { self == .v2022_06_30_preview || self == .v2022_10_31_preview }
    /// Whether the device operations take `expand` (2022-10-31-preview).
    public var hasDeviceExpand: Bool { self == .v2022_10_31_preview }
    /// Whether a device has `type` (`["iotEdge"]`) and `deploymentManifest` (2022-10-31-preview).
    public var hasDeviceType: Bool { self == .v2022_10_31_preview }
    /// Whether the file upload configuration has `readAccess` (2022-10-31-preview).
    public var hasFileUploadReadAccess: Bool { self == .v2022_10_31_preview }

    /// The version an `api-version` value names: one of the eight, or `preview`, the 2021-04-30-preview spec's own
    /// default (`info.version` and the `api-version` parameter's default there; Azure CLI's IoT extension sends it).
    public init?(named value: String) {
        if value == "preview" { self = .v2021_04_30_preview } else { self.init(rawValue: value) }
    }

    /// Whether user `type` values are the subtypes' definition names (`EmailUser`, ...): 2021-04-30-preview, whose
    /// subtypes have no `x-ms-discriminator-value`.
    public var namesUserTypesByDefinition: Bool { self == .v2021_04_30_preview }

    /// Whether `EmailUser.email` has `format: email` in this version's spec (1.0, 1.1-preview,
    /// 2021-04-30-preview); later versions give it no format.
    public var hasEmailFormat: Bool { [.v1_0, .v1_1_preview, .v2021_04_30_preview].contains(self) }

    /// Whether `Users_Update` consumes `application/merge-patch+json` besides `application/json` (from 1.2-preview
    /// on, not in 2021-04-30-preview: the specs of 1.0, 1.1-preview and 2021-04-30-preview give it no `consumes`, so
    /// only the top-level `application/json` applies).
    public var usersUpdateTakesMergePatch: Bool { ![.v1_0, .v1_1_preview, .v2021_04_30_preview].contains(self) }

    /// Whether the `userId` and `organizationId` path parameters of the create operations have the spec's limits
    /// (`UserId`: `^[a-zA-Z0-9-_]*$`, at most 48; `OrganizationId`: `^(?!-)[a-z0-9-]{1,48}[a-z0-9]$`): from
    /// 1.2-preview on, not in 2021-04-30-preview. In 1.0, 1.1-preview and 2021-04-30-preview `Users_Create` and
    /// `Organizations_Create` give the id no limits.
    public var limitsIdentityIDs: Bool { ![.v1_0, .v1_1_preview, .v2021_04_30_preview].contains(self) }
}

extension Set where Element == APIVersion {
    /// Every api-version.
    public static let allVersions = Set(APIVersion.allCases)
}
