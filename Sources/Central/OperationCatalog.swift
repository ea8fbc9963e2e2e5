/// Every operation of IoT Central's REST API: the 96 of the 2022-07-31 spec and the 24 more of
/// 2022-10-31-preview, with the permission each needs (the 2022-07-31 spec; "Manage users and roles in IoT Central"; the permission of each operation is
/// assumed where the docs are silent, docs/fidelity.md). `OperationCatalogTests` compares this table with both
/// spec files, so no operation is missing or invented. `docs/permissions.md` is generated from it.
public enum OperationCatalog {
    public static let operations: [Operation] = [
        Operation("GET", "/apiTokens", "ApiTokens_List", "apiTokens.view", versions: .allVersions, scope: .application, isEmulated: true),
        Operation("GET", "/apiTokens/{tokenId}", "ApiTokens_Get", "apiTokens.view", versions: .allVersions, scope: .application, isEmulated: true),
        Operation("PUT", "/apiTokens/{tokenId}", "ApiTokens_Create", "apiTokens.create", versions: .allVersions, scope: .application, isEmulated: true),
        Operation("DELETE", "/apiTokens/{tokenId}", "ApiTokens_Remove", "apiTokens.delete", versions: .allVersions, scope: .application, isEmulated: true),

        Operation("GET", "/dashboards", "Dashboards_List", "dashboards.view", versions: .newestPreview, scope: .organization),
        Operation("GET", "/dashboards/{dashboardId}", "Dashboards_Get", "dashboards.view", versions: .newestPreview, scope: .organization),
        Operation("PUT", "/dashboards/{dashboardId}", "Dashboards_Create", "dashboards.create", versions: .newestPreview, scope: .organization),
        Operation("PATCH", "/dashboards/{dashboardId}", "Dashboards_Update", "dashboards.update", versions: .newestPreview, scope: .organization),
        Operation("DELETE", "/dashboards/{dashboardId}", "Dashboards_Remove", "dashboards.delete", versions: .newestPreview, scope: .organization),

        Operation("GET", "/dataExport/destinations", "Destinations_List", "dataExport.view", versions: .newestPreview, scope: .application),
        Operation("GET", "/dataExport/destinations/{destinationId}", "Destinations_Get", "dataExport.view", versions: .newestPreview, scope: .application),
        Operation("PUT", "/dataExport/destinations/{destinationId}", "Destinations_Create", "dataExport.create", versions: .newestPreview, scope: .application),
        Operation("PATCH", "/dataExport/destinations/{destinationId}", "Destinations_Update", "dataExport.update", versions: .newestPreview, scope: .application),
        Operation("DELETE", "/dataExport/destinations/{destinationId}", "Destinations_Remove", "dataExport.delete", versions: .newestPreview, scope: .application),
        Operation("GET", "/dataExport/destinations/{destinationId}/exports", "Destinations_ListExports", "dataExport.view", versions: .newestPreview, scope: .application),

        Operation("GET", "/dataExport/exports", "Exports_List", "dataExport.view", versions: .newestPreview, scope: .application),
        Operation("GET", "/dataExport/exports/{exportId}", "Exports_Get", "dataExport.view", versions: .newestPreview, scope: .application),
        Operation("PUT", "/dataExport/exports/{exportId}", "Exports_Create", "dataExport.create", versions: .newestPreview, scope: .application),
        Operation("PATCH", "/dataExport/exports/{exportId}", "Exports_Update", "dataExport.update", versions: .newestPreview, scope: .application),
        Operation("DELETE", "/dataExport/exports/{exportId}", "Exports_Remove", "dataExport.delete", versions: .newestPreview, scope: .application),
        Operation("GET", "/dataExport/exports/{exportId}/destinations", "Exports_ListDestinations", "dataExport.view", versions: .newestPreview, scope: .application),

        Operation("GET", "/deploymentManifests", "DeploymentManifests_List", "deploymentManifests.view", versions: .newestPreview, scope: .organization),
        Operation("GET", "/deploymentManifests/{deploymentManifestId}", "DeploymentManifests_Get", "deploymentManifests.view", versions: .newestPreview, scope: .organization),
        Operation("PUT", "/deploymentManifests/{deploymentManifestId}", "DeploymentManifests_Create", "deploymentManifests.create", versions: .newestPreview, scope: .application),
        Operation("PATCH", "/deploymentManifests/{deploymentManifestId}", "DeploymentManifests_Update", "deploymentManifests.update", versions: .newestPreview, scope: .application),
        Operation("DELETE", "/deploymentManifests/{deploymentManifestId}", "DeploymentManifests_Remove", "deploymentManifests.delete", versions: .newestPreview, scope: .application),

        Operation("GET", "/deviceGroups", "DeviceGroups_List", "deviceGroups.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/deviceGroups/{deviceGroupId}", "DeviceGroups_Get", "deviceGroups.view", versions: .allVersions, scope: .organization),
        Operation("PUT", "/deviceGroups/{deviceGroupId}", "DeviceGroups_Create", "deviceGroups.create", versions: .allVersions, scope: .organization),
        Operation("PATCH", "/deviceGroups/{deviceGroupId}", "DeviceGroups_Update", "deviceGroups.update", versions: .allVersions, scope: .organization),
        Operation("DELETE", "/deviceGroups/{deviceGroupId}", "DeviceGroups_Remove", "deviceGroups.delete", versions: .allVersions, scope: .organization),
        Operation("GET", "/deviceGroups/{deviceGroupId}/devices", "DeviceGroups_GetDevices", "deviceGroups.view", versions: .allVersions, scope: .organization),

        Operation("GET", "/deviceTemplates", "DeviceTemplates_List", "deviceTemplates.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/deviceTemplates/{deviceTemplateId}", "DeviceTemplates_Get", "deviceTemplates.view", versions: .allVersions, scope: .organization),
        Operation("PUT", "/deviceTemplates/{deviceTemplateId}", "DeviceTemplates_Create", "deviceTemplates.manage", versions: .allVersions, scope: .application),
        Operation("PATCH", "/deviceTemplates/{deviceTemplateId}", "DeviceTemplates_Update", "deviceTemplates.manage", versions: .allVersions, scope: .application),
        Operation("DELETE", "/deviceTemplates/{deviceTemplateId}", "DeviceTemplates_Remove", "deviceTemplates.delete", versions: .allVersions, scope: .application),

        Operation("GET", "/devices", "Devices_List", "devices.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}", "Devices_Get", "devices.view", versions: .allVersions, scope: .organization),
        Operation("PUT", "/devices/{deviceId}", "Devices_Create", "devices.create", versions: .allVersions, scope: .organization),
        Operation("PATCH", "/devices/{deviceId}", "Devices_Update", "devices.update", versions: .allVersions, scope: .organization),
        Operation("DELETE", "/devices/{deviceId}", "Devices_Remove", "devices.delete", versions: .allVersions, scope: .organization),
        Operation("POST", "/devices/{deviceId}/applyDeploymentManifest", "Devices_ApplyManifest", "devices.update", versions: .newestPreview, scope: .organization),
        Operation("GET", "/devices/{deviceId}/attestation", "Devices_GetAttestation", "deviceConnectivity.readInstance", versions: .allVersions, scope: .organization),
        Operation("PUT", "/devices/{deviceId}/attestation", "Devices_CreateAttestation", "deviceConnectivity.manageInstance", versions: .allVersions, scope: .organization),
        Operation("PATCH", "/devices/{deviceId}/attestation", "Devices_UpdateAttestation", "deviceConnectivity.manageInstance", versions: .allVersions, scope: .organization),
        Operation("DELETE", "/devices/{deviceId}/attestation", "Devices_RemoveAttestation", "deviceConnectivity.manageInstance", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/commands/{commandName}", "Devices_GetCommandHistory", "devices.view", versions: .allVersions, scope: .organization),
        Operation("POST", "/devices/{deviceId}/commands/{commandName}", "Devices_RunCommand", "devices.executeCommands", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/components", "Devices_ListComponents", "devices.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/components/{componentName}/commands/{commandName}", "Devices_GetComponentCommandHistory", "devices.view", versions: .allVersions, scope: .organization),
        Operation("POST", "/devices/{deviceId}/components/{componentName}/commands/{commandName}", "Devices_RunComponentCommand", "devices.executeCommands", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/components/{componentName}/properties", "Devices_GetComponentProperties", "devices.view", versions: .allVersions, scope: .organization),
        Operation("PUT", "/devices/{deviceId}/components/{componentName}/properties", "Devices_ReplaceComponentProperties", "devices.update", versions: .allVersions, scope: .organization),
        Operation("PATCH", "/devices/{deviceId}/components/{componentName}/properties", "Devices_UpdateComponentProperties", "devices.update", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/components/{componentName}/telemetry/{telemetryName}", "Devices_GetComponentTelemetryValue", "devices.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/credentials", "Devices_GetCredentials", "deviceConnectivity.readInstance", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/modules", "Devices_ListModules", "devices.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/commands/{commandName}", "Devices_GetModuleCommandHistory", "devices.view", versions: .allVersions, scope: .organization),
        Operation("POST", "/devices/{deviceId}/modules/{moduleName}/commands/{commandName}", "Devices_RunModuleCommand", "devices.executeCommands", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/components", "Devices_ListModuleComponents", "devices.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/commands/{commandName}", "Devices_GetModuleComponentCommandHistory", "devices.view", versions: .allVersions, scope: .organization),
        Operation("POST", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/commands/{commandName}", "Devices_RunModuleComponentCommand", "devices.executeCommands", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/properties", "Devices_GetModuleComponentProperties", "devices.view", versions: .allVersions, scope: .organization),
        Operation("PUT", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/properties", "Devices_ReplaceModuleComponentProperties", "devices.update", versions: .allVersions, scope: .organization),
        Operation("PATCH", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/properties", "Devices_UpdateModuleComponentProperties", "devices.update", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/telemetry/{telemetryName}", "Devices_GetModuleComponentTelemetryValue", "devices.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/properties", "Devices_GetModuleProperties", "devices.view", versions: .allVersions, scope: .organization),
        Operation("PUT", "/devices/{deviceId}/modules/{moduleName}/properties", "Devices_ReplaceModuleProperties", "devices.update", versions: .allVersions, scope: .organization),
        Operation("PATCH", "/devices/{deviceId}/modules/{moduleName}/properties", "Devices_UpdateModuleProperties", "devices.update", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/telemetry/{telemetryName}", "Devices_GetModuleTelemetryValue", "devices.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/properties", "Devices_GetProperties", "devices.view", versions: .allVersions, scope: .organization),
        Operation("PUT", "/devices/{deviceId}/properties", "Devices_ReplaceProperties", "devices.update", versions: .allVersions, scope: .organization),
        Operation("PATCH", "/devices/{deviceId}/properties", "Devices_UpdateProperties", "devices.update", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/relationships", "Devices_ListRelationships", "devices.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/relationships/{relationshipId}", "Devices_GetRelationship", "devices.view", versions: .allVersions, scope: .organization),
        Operation("PUT", "/devices/{deviceId}/relationships/{relationshipId}", "Devices_CreateRelationship", "devices.update", versions: .allVersions, scope: .organization),
        Operation("PATCH", "/devices/{deviceId}/relationships/{relationshipId}", "Devices_UpdateRelationship", "devices.update", versions: .allVersions, scope: .organization),
        Operation("DELETE", "/devices/{deviceId}/relationships/{relationshipId}", "Devices_RemoveRelationship", "devices.update", versions: .allVersions, scope: .organization),
        Operation("GET", "/devices/{deviceId}/telemetry/{telemetryName}", "Devices_GetTelemetryValue", "devices.view", versions: .allVersions, scope: .organization),

        Operation("GET", "/enrollmentGroups", "EnrollmentGroups_List", "deviceConnectivity.readGlobal", versions: .allVersions, scope: .application),
        Operation("GET", "/enrollmentGroups/{enrollmentGroupId}", "EnrollmentGroups_Get", "deviceConnectivity.readGlobal", versions: .allVersions, scope: .application),
        Operation("PUT", "/enrollmentGroups/{enrollmentGroupId}", "EnrollmentGroups_Create", "deviceConnectivity.manageGlobal", versions: .allVersions, scope: .application),
        Operation("PATCH", "/enrollmentGroups/{enrollmentGroupId}", "EnrollmentGroups_Update", "deviceConnectivity.manageGlobal", versions: .allVersions, scope: .application),
        Operation("DELETE", "/enrollmentGroups/{enrollmentGroupId}", "EnrollmentGroups_Remove", "deviceConnectivity.manageGlobal", versions: .allVersions, scope: .application),
        Operation("GET", "/enrollmentGroups/{enrollmentGroupId}/certificates/{entry}", "EnrollmentGroups_GetX509", "deviceConnectivity.readGlobal", versions: .allVersions, scope: .application),
        Operation("PUT", "/enrollmentGroups/{enrollmentGroupId}/certificates/{entry}", "EnrollmentGroups_CreateX509", "deviceConnectivity.manageGlobal", versions: .allVersions, scope: .application),
        Operation("DELETE", "/enrollmentGroups/{enrollmentGroupId}/certificates/{entry}", "EnrollmentGroups_RemoveX509", "deviceConnectivity.manageGlobal", versions: .allVersions, scope: .application),
        Operation("POST", "/enrollmentGroups/{enrollmentGroupId}/certificates/{entry}/generateVerificationCode", "EnrollmentGroups_GenerateVerificationCodeX509", "deviceConnectivity.manageGlobal", versions: .allVersions, scope: .application),
        Operation("POST", "/enrollmentGroups/{enrollmentGroupId}/certificates/{entry}/verify", "EnrollmentGroups_VerifyX509", "deviceConnectivity.manageGlobal", versions: .allVersions, scope: .application),

        Operation("GET", "/fileUploads", "FileUploads_Get", "fileUploads.view", versions: .allVersions, scope: .application),
        Operation("PUT", "/fileUploads", "FileUploads_Create", "fileUploads.manage", versions: .allVersions, scope: .application),
        Operation("PATCH", "/fileUploads", "FileUploads_Update", "fileUploads.manage", versions: .allVersions, scope: .application),
        Operation("DELETE", "/fileUploads", "FileUploads_Remove", "fileUploads.manage", versions: .allVersions, scope: .application),

        Operation("GET", "/jobs", "Jobs_List", "jobs.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/jobs/{jobId}", "Jobs_Get", "jobs.view", versions: .allVersions, scope: .organization),
        Operation("PUT", "/jobs/{jobId}", "Jobs_Create", "jobs.create", versions: .allVersions, scope: .organization),
        Operation("GET", "/jobs/{jobId}/devices", "Jobs_GetDevices", "jobs.view", versions: .allVersions, scope: .organization),
        Operation("PUT", "/jobs/{jobId}/rerun/{rerunId}", "Jobs_Rerun", "jobs.execute", versions: .allVersions, scope: .organization),
        Operation("POST", "/jobs/{jobId}/resume", "Jobs_Resume", "jobs.execute", versions: .allVersions, scope: .organization),
        Operation("POST", "/jobs/{jobId}/stop", "Jobs_Stop", "jobs.execute", versions: .allVersions, scope: .organization),

        Operation("GET", "/organizations", "Organizations_List", "organizations.view", versions: .organizationAPI, scope: .organization, isEmulated: true),
        Operation("GET", "/organizations/{organizationId}", "Organizations_Get", "organizations.view", versions: .organizationAPI, scope: .organization, isEmulated: true),
        Operation("PUT", "/organizations/{organizationId}", "Organizations_Create", "organizations.create", versions: .organizationAPI, scope: .organization, isEmulated: true),
        Operation("PATCH", "/organizations/{organizationId}", "Organizations_Update", "organizations.update", versions: .organizationAPI, scope: .organization, isEmulated: true),
        Operation("DELETE", "/organizations/{organizationId}", "Organizations_Remove", "organizations.delete", versions: .organizationAPI, scope: .organization, isEmulated: true),

        Operation("POST", "/query", "Query_Run", "devices.view", versions: .newestPreview, scope: .organization),

        Operation("GET", "/roles", "Roles_List", "customRoles.view", versions: .allVersions, scope: .organization, isEmulated: true),
        Operation("GET", "/roles/{roleId}", "Roles_Get", "customRoles.view", versions: .allVersions, scope: .organization, isEmulated: true),

        Operation("GET", "/scheduledJobs", "ScheduledJobs_List", "jobs.view", versions: .allVersions, scope: .organization),
        Operation("GET", "/scheduledJobs/{scheduledJobId}", "ScheduledJobs_Get", "jobs.view", versions: .allVersions, scope: .organization),
        Operation("PUT", "/scheduledJobs/{scheduledJobId}", "ScheduledJobs_Create", "jobs.create", versions: .allVersions, scope: .organization),
        Operation("PATCH", "/scheduledJobs/{scheduledJobId}", "ScheduledJobs_Update", "jobs.update", versions: .allVersions, scope: .organization),
        Operation("DELETE", "/scheduledJobs/{scheduledJobId}", "ScheduledJobs_Remove", "jobs.delete", versions: .allVersions, scope: .organization),
        Operation("GET", "/scheduledJobs/{scheduledJobId}/jobs", "ScheduledJobs_ListJobs", "jobs.view", versions: .allVersions, scope: .organization),

        Operation("GET", "/users", "Users_List", "users.view", versions: .allVersions, scope: .organization, isEmulated: true),
        Operation("GET", "/users/{userId}", "Users_Get", "users.view", versions: .allVersions, scope: .organization, isEmulated: true),
        Operation("PUT", "/users/{userId}", "Users_Create", "users.add", versions: .allVersions, scope: .organization, isEmulated: true),
        Operation("PATCH", "/users/{userId}", "Users_Update", "users.add", versions: .allVersions, scope: .organization, isEmulated: true),
        Operation("DELETE", "/users/{userId}", "Users_Remove", "users.delete", versions: .allVersions, scope: .organization, isEmulated: true),
    ]

    /// The result of routing a path and method.
    public enum Match: Sendable {
        case operation(Operation, parameters: [String: String])
        /// The path exists, but not with this method; the methods it has.
        case methodNotAllowed(allowed: [String])
        case noSuchPath
    }

    /// The operations by the lower-cased first segment of their path, so routing looks at a handful, not 120.
    private static let byFirstSegment: [String: [Operation]] = Dictionary(grouping: operations) { $0.templateSegments.first ?? "" }

    /// Finds the operation for `method` on `segments` (the path after `/api`).
    public static func match(method: String, segments: [String]) -> Match {
        var allowed: [String] = []
        for operation in byFirstSegment[segments.first?.lowercased() ?? ""] ?? [] {
            guard let parameters = operation.match(segments) else { continue }
            if operation.method == method { return .operation(operation, parameters: parameters) }
            allowed.append(operation.method)
        }
        return allowed.isEmpty ? .noSuchPath : .methodNotAllowed(allowed: allowed)
    }
}
