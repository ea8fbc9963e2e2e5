/// Every operation of IoT Central's REST API over its eight api-versions (130: the 120 of 2022-10-31-preview and
/// ten that only 2021-04-30-preview has), with the permission each needs (the 2022-07-31 spec; "Manage users and roles in IoT Central"; the permission of each operation is
/// assumed where the docs are silent, docs/fidelity.md). `OperationCatalogTests` compares this table with both
/// spec files, so no operation is missing or invented. `docs/permissions.md` is generated from it.
public enum OperationCatalog {
    public static let operations: [Operation] = [
        Operation("GET", "/apiTokens", "ApiTokens_List", "apiTokens.view", scope: .application, isEmulated: true),
        Operation("GET", "/apiTokens/{tokenId}", "ApiTokens_Get", "apiTokens.view", scope: .application, isEmulated: true),
        Operation("PUT", "/apiTokens/{tokenId}", "ApiTokens_Create", "apiTokens.create", scope: .application, isEmulated: true),
        Operation("DELETE", "/apiTokens/{tokenId}", "ApiTokens_Remove", "apiTokens.delete", scope: .application, isEmulated: true),

        Operation("GET", "/continuousDataExports", "ContinuousDataExports_List", "dataExport.view", scope: .application, isEmulated: true),
        Operation("GET", "/continuousDataExports/{exportId}", "ContinuousDataExports_Get", "dataExport.view", scope: .application, isEmulated: true),
        Operation("PUT", "/continuousDataExports/{exportId}", "ContinuousDataExports_Create", "dataExport.create", scope: .application, isEmulated: true),
        Operation("PATCH", "/continuousDataExports/{exportId}", "ContinuousDataExports_Update", "dataExport.update", scope: .application, isEmulated: true),
        Operation("DELETE", "/continuousDataExports/{exportId}", "ContinuousDataExports_Remove", "dataExport.delete", scope: .application, isEmulated: true),

        Operation("GET", "/dashboards", "Dashboards_List", "dashboards.view", scope: .organization, isEmulated: true),
        Operation("GET", "/dashboards/{dashboardId}", "Dashboards_Get", "dashboards.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/dashboards/{dashboardId}", "Dashboards_Create", "dashboards.create", scope: .organization, isEmulated: true),
        Operation("PATCH", "/dashboards/{dashboardId}", "Dashboards_Update", "dashboards.update", scope: .organization, isEmulated: true),
        Operation("DELETE", "/dashboards/{dashboardId}", "Dashboards_Remove", "dashboards.delete", scope: .organization, isEmulated: true),

        Operation("GET", "/dataExport/destinations", "Destinations_List", "dataExport.view", scope: .application, isEmulated: true),
        Operation("GET", "/dataExport/destinations/{destinationId}", "Destinations_Get", "dataExport.view", scope: .application, isEmulated: true),
        Operation("PUT", "/dataExport/destinations/{destinationId}", "Destinations_Create", "dataExport.create", scope: .application, isEmulated: true),
        Operation("PATCH", "/dataExport/destinations/{destinationId}", "Destinations_Update", "dataExport.update", scope: .application, isEmulated: true),
        Operation("DELETE", "/dataExport/destinations/{destinationId}", "Destinations_Remove", "dataExport.delete", scope: .application, isEmulated: true),
        Operation("GET", "/dataExport/destinations/{destinationId}/exports", "Destinations_ListExports", "dataExport.view", scope: .application, isEmulated: true),

        Operation("GET", "/dataExport/exports", "Exports_List", "dataExport.view", scope: .application, isEmulated: true),
        Operation("GET", "/dataExport/exports/{exportId}", "Exports_Get", "dataExport.view", scope: .application, isEmulated: true),
        Operation("PUT", "/dataExport/exports/{exportId}", "Exports_Create", "dataExport.create", scope: .application, isEmulated: true),
        Operation("PATCH", "/dataExport/exports/{exportId}", "Exports_Update", "dataExport.update", scope: .application, isEmulated: true),
        Operation("DELETE", "/dataExport/exports/{exportId}", "Exports_Remove", "dataExport.delete", scope: .application, isEmulated: true),
        Operation("GET", "/dataExport/exports/{exportId}/destinations", "Exports_ListDestinations", "dataExport.view", scope: .application, isEmulated: true),

        Operation("GET", "/deploymentManifests", "DeploymentManifests_List", "deploymentManifests.view", scope: .organization, isEmulated: true),
        Operation("GET", "/deploymentManifests/{deploymentManifestId}", "DeploymentManifests_Get", "deploymentManifests.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/deploymentManifests/{deploymentManifestId}", "DeploymentManifests_Create", "deploymentManifests.create", scope: .application, isEmulated: true),
        Operation("PATCH", "/deploymentManifests/{deploymentManifestId}", "DeploymentManifests_Update", "deploymentManifests.update", scope: .application, isEmulated: true),
        Operation("DELETE", "/deploymentManifests/{deploymentManifestId}", "DeploymentManifests_Remove", "deploymentManifests.delete", scope: .application, isEmulated: true),

        Operation("GET", "/deviceGroups", "DeviceGroups_List", "deviceGroups.view", scope: .organization, isEmulated: true),
        Operation("GET", "/deviceGroups/{deviceGroupId}", "DeviceGroups_Get", "deviceGroups.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/deviceGroups/{deviceGroupId}", "DeviceGroups_Create", "deviceGroups.create", scope: .organization, isEmulated: true),
        Operation("PATCH", "/deviceGroups/{deviceGroupId}", "DeviceGroups_Update", "deviceGroups.update", scope: .organization, isEmulated: true),
        Operation("DELETE", "/deviceGroups/{deviceGroupId}", "DeviceGroups_Remove", "deviceGroups.delete", scope: .organization, isEmulated: true),
        Operation("GET", "/deviceGroups/{deviceGroupId}/devices", "DeviceGroups_GetDevices", "deviceGroups.view", scope: .organization, isEmulated: true),

        Operation("GET", "/deviceTemplates", "DeviceTemplates_List", "deviceTemplates.view", scope: .organization, isEmulated: true),
        Operation("GET", "/deviceTemplates/{deviceTemplateId}", "DeviceTemplates_Get", "deviceTemplates.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/deviceTemplates/{deviceTemplateId}", "DeviceTemplates_Create", "deviceTemplates.manage", scope: .application, isEmulated: true),
        Operation("PATCH", "/deviceTemplates/{deviceTemplateId}", "DeviceTemplates_Update", "deviceTemplates.manage", scope: .application, isEmulated: true),
        Operation("DELETE", "/deviceTemplates/{deviceTemplateId}", "DeviceTemplates_Remove", "deviceTemplates.delete", scope: .application, isEmulated: true),
        Operation("GET", "/deviceTemplates/{deviceTemplateId}/devices", "DeviceTemplates_ListDevices", "devices.view", scope: .organization, isEmulated: true),
        Operation("GET", "/deviceTemplates/{deviceTemplateId}/merged", "DeviceTemplates_GetMerged", "deviceTemplates.view", scope: .organization, isEmulated: true),

        Operation("GET", "/devices", "Devices_List", "devices.view", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}", "Devices_Get", "devices.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/devices/{deviceId}", "Devices_Create", "devices.create", scope: .organization, isEmulated: true),
        Operation("PATCH", "/devices/{deviceId}", "Devices_Update", "devices.update", scope: .organization, isEmulated: true),
        Operation("DELETE", "/devices/{deviceId}", "Devices_Remove", "devices.delete", scope: .organization, isEmulated: true),
        Operation("POST", "/devices/{deviceId}/applyDeploymentManifest", "Devices_ApplyManifest", "devices.update", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/cloudProperties", "Devices_GetCloudProperties", "devices.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/devices/{deviceId}/cloudProperties", "Devices_ReplaceCloudProperties", "devices.update", scope: .organization, isEmulated: true),
        Operation("PATCH", "/devices/{deviceId}/cloudProperties", "Devices_UpdateCloudProperties", "devices.update", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/attestation", "Devices_GetAttestation", "deviceConnectivity.readInstance", scope: .organization, isEmulated: true),
        Operation("PUT", "/devices/{deviceId}/attestation", "Devices_CreateAttestation", "deviceConnectivity.manageInstance", scope: .organization, isEmulated: true),
        Operation("PATCH", "/devices/{deviceId}/attestation", "Devices_UpdateAttestation", "deviceConnectivity.manageInstance", scope: .organization, isEmulated: true),
        Operation("DELETE", "/devices/{deviceId}/attestation", "Devices_RemoveAttestation", "deviceConnectivity.manageInstance", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/commands/{commandName}", "Devices_GetCommandHistory", "devices.view", scope: .organization, isEmulated: true),
        Operation("POST", "/devices/{deviceId}/commands/{commandName}", "Devices_RunCommand", "devices.executeCommands", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/components", "Devices_ListComponents", "devices.view", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/components/{componentName}/commands/{commandName}", "Devices_GetComponentCommandHistory", "devices.view", scope: .organization, isEmulated: true),
        Operation("POST", "/devices/{deviceId}/components/{componentName}/commands/{commandName}", "Devices_RunComponentCommand", "devices.executeCommands", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/components/{componentName}/properties", "Devices_GetComponentProperties", "devices.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/devices/{deviceId}/components/{componentName}/properties", "Devices_ReplaceComponentProperties", "devices.update", scope: .organization, isEmulated: true),
        Operation("PATCH", "/devices/{deviceId}/components/{componentName}/properties", "Devices_UpdateComponentProperties", "devices.update", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/components/{componentName}/telemetry/{telemetryName}", "Devices_GetComponentTelemetryValue", "devices.view", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/credentials", "Devices_GetCredentials", "deviceConnectivity.readInstance", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/modules", "Devices_ListModules", "devices.view", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/commands/{commandName}", "Devices_GetModuleCommandHistory", "devices.view", scope: .organization, isEmulated: true),
        Operation("POST", "/devices/{deviceId}/modules/{moduleName}/commands/{commandName}", "Devices_RunModuleCommand", "devices.executeCommands", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/components", "Devices_ListModuleComponents", "devices.view", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/commands/{commandName}", "Devices_GetModuleComponentCommandHistory", "devices.view", scope: .organization, isEmulated: true),
        Operation("POST", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/commands/{commandName}", "Devices_RunModuleComponentCommand", "devices.executeCommands", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/properties", "Devices_GetModuleComponentProperties", "devices.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/properties", "Devices_ReplaceModuleComponentProperties", "devices.update", scope: .organization, isEmulated: true),
        Operation("PATCH", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/properties", "Devices_UpdateModuleComponentProperties", "devices.update", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/components/{componentName}/telemetry/{telemetryName}", "Devices_GetModuleComponentTelemetryValue", "devices.view", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/properties", "Devices_GetModuleProperties", "devices.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/devices/{deviceId}/modules/{moduleName}/properties", "Devices_ReplaceModuleProperties", "devices.update", scope: .organization, isEmulated: true),
        Operation("PATCH", "/devices/{deviceId}/modules/{moduleName}/properties", "Devices_UpdateModuleProperties", "devices.update", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/modules/{moduleName}/telemetry/{telemetryName}", "Devices_GetModuleTelemetryValue", "devices.view", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/properties", "Devices_GetProperties", "devices.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/devices/{deviceId}/properties", "Devices_ReplaceProperties", "devices.update", scope: .organization, isEmulated: true),
        Operation("PATCH", "/devices/{deviceId}/properties", "Devices_UpdateProperties", "devices.update", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/relationships", "Devices_ListRelationships", "devices.view", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/relationships/{relationshipId}", "Devices_GetRelationship", "devices.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/devices/{deviceId}/relationships/{relationshipId}", "Devices_CreateRelationship", "devices.update", scope: .organization, isEmulated: true),
        Operation("PATCH", "/devices/{deviceId}/relationships/{relationshipId}", "Devices_UpdateRelationship", "devices.update", scope: .organization, isEmulated: true),
        Operation("DELETE", "/devices/{deviceId}/relationships/{relationshipId}", "Devices_RemoveRelationship", "devices.update", scope: .organization, isEmulated: true),
        Operation("GET", "/devices/{deviceId}/telemetry/{telemetryName}", "Devices_GetTelemetryValue", "devices.view", scope: .organization, isEmulated: true),

        Operation("GET", "/enrollmentGroups", "EnrollmentGroups_List", "deviceConnectivity.readGlobal", scope: .application, isEmulated: true),
        Operation("GET", "/enrollmentGroups/{enrollmentGroupId}", "EnrollmentGroups_Get", "deviceConnectivity.readGlobal", scope: .application, isEmulated: true),
        Operation("PUT", "/enrollmentGroups/{enrollmentGroupId}", "EnrollmentGroups_Create", "deviceConnectivity.manageGlobal", scope: .application, isEmulated: true),
        Operation("PATCH", "/enrollmentGroups/{enrollmentGroupId}", "EnrollmentGroups_Update", "deviceConnectivity.manageGlobal", scope: .application, isEmulated: true),
        Operation("DELETE", "/enrollmentGroups/{enrollmentGroupId}", "EnrollmentGroups_Remove", "deviceConnectivity.manageGlobal", scope: .application, isEmulated: true),
        Operation("GET", "/enrollmentGroups/{enrollmentGroupId}/certificates/{entry}", "EnrollmentGroups_GetX509", "deviceConnectivity.readGlobal", scope: .application, isEmulated: true),
        Operation("PUT", "/enrollmentGroups/{enrollmentGroupId}/certificates/{entry}", "EnrollmentGroups_CreateX509", "deviceConnectivity.manageGlobal", scope: .application, isEmulated: true),
        Operation("DELETE", "/enrollmentGroups/{enrollmentGroupId}/certificates/{entry}", "EnrollmentGroups_RemoveX509", "deviceConnectivity.manageGlobal", scope: .application, isEmulated: true),
        Operation("POST", "/enrollmentGroups/{enrollmentGroupId}/certificates/{entry}/generateVerificationCode", "EnrollmentGroups_GenerateVerificationCodeX509", "deviceConnectivity.manageGlobal", scope: .application, isEmulated: true),
        Operation("POST", "/enrollmentGroups/{enrollmentGroupId}/certificates/{entry}/verify", "EnrollmentGroups_VerifyX509", "deviceConnectivity.manageGlobal", scope: .application, isEmulated: true),

        Operation("GET", "/fileUploads", "FileUploads_Get", "fileUploads.view", scope: .application, isEmulated: true),
        Operation("PUT", "/fileUploads", "FileUploads_Create", "fileUploads.manage", scope: .application, isEmulated: true),
        Operation("PATCH", "/fileUploads", "FileUploads_Update", "fileUploads.manage", scope: .application, isEmulated: true),
        Operation("DELETE", "/fileUploads", "FileUploads_Remove", "fileUploads.manage", scope: .application, isEmulated: true),

        Operation("GET", "/jobs", "Jobs_List", "jobs.view", scope: .organization, isEmulated: true),
        Operation("GET", "/jobs/{jobId}", "Jobs_Get", "jobs.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/jobs/{jobId}", "Jobs_Create", "jobs.create", scope: .organization, isEmulated: true),
        Operation("GET", "/jobs/{jobId}/devices", "Jobs_GetDevices", "jobs.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/jobs/{jobId}/rerun/{rerunId}", "Jobs_Rerun", "jobs.execute", scope: .organization, isEmulated: true),
        Operation("POST", "/jobs/{jobId}/resume", "Jobs_Resume", "jobs.execute", scope: .organization, isEmulated: true),
        Operation("POST", "/jobs/{jobId}/stop", "Jobs_Stop", "jobs.execute", scope: .organization, isEmulated: true),

        Operation("GET", "/organizations", "Organizations_List", "organizations.view", scope: .organization, isEmulated: true),
        Operation("GET", "/organizations/{organizationId}", "Organizations_Get", "organizations.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/organizations/{organizationId}", "Organizations_Create", "organizations.create", scope: .organization, isEmulated: true),
        Operation("PATCH", "/organizations/{organizationId}", "Organizations_Update", "organizations.update", scope: .organization, isEmulated: true),
        Operation("DELETE", "/organizations/{organizationId}", "Organizations_Remove", "organizations.delete", scope: .organization, isEmulated: true),

        Operation("POST", "/query", "Query_Run", "devices.view", scope: .organization, isEmulated: true),

        Operation("GET", "/roles", "Roles_List", "customRoles.view", scope: .organization, isEmulated: true),
        Operation("GET", "/roles/{roleId}", "Roles_Get", "customRoles.view", scope: .organization, isEmulated: true),

        Operation("GET", "/scheduledJobs", "ScheduledJobs_List", "jobs.view", scope: .organization, isEmulated: true),
        Operation("GET", "/scheduledJobs/{scheduledJobId}", "ScheduledJobs_Get", "jobs.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/scheduledJobs/{scheduledJobId}", "ScheduledJobs_Create", "jobs.create", scope: .organization, isEmulated: true),
        Operation("PATCH", "/scheduledJobs/{scheduledJobId}", "ScheduledJobs_Update", "jobs.update", scope: .organization, isEmulated: true),
        Operation("DELETE", "/scheduledJobs/{scheduledJobId}", "ScheduledJobs_Remove", "jobs.delete", scope: .organization, isEmulated: true),
        Operation("GET", "/scheduledJobs/{scheduledJobId}/jobs", "ScheduledJobs_ListJobs", "jobs.view", scope: .organization, isEmulated: true),

        Operation("GET", "/users", "Users_List", "users.view", scope: .organization, isEmulated: true),
        Operation("GET", "/users/{userId}", "Users_Get", "users.view", scope: .organization, isEmulated: true),
        Operation("PUT", "/users/{userId}", "Users_Create", "users.add", scope: .organization, isEmulated: true),
        Operation("PATCH", "/users/{userId}", "Users_Update", "users.add", scope: .organization, isEmulated: true),
        Operation("DELETE", "/users/{userId}", "Users_Remove", "users.delete", scope: .organization, isEmulated: true),
    ]

    /// The result of routing a method and path in one api-version.
    public enum Match: Sendable {
        case operation(Operation, parameters: [String: String])
        /// The path exists in this version, but not with this method; the methods it has in this version.
        case methodNotAllowed(allowed: [String])
        /// The path exists in other versions only; `operation` is the one of this method there, if any.
        case notInVersion(operation: Operation?)
        case noSuchPath
    }

    /// The operations by the lower-cased first segment of their path, so routing looks at a handful, not 130.
    private static let byFirstSegment: [String: [Operation]] = Dictionary(grouping: operations) { $0.templateSegments.first ?? "" }

    /// Whether any operation of any version has this path (the path after `/api`), whatever the method.
    public static func hasPath(_ segments: [String]) -> Bool {
        (byFirstSegment[segments.first?.lowercased() ?? ""] ?? []).contains { $0.match(segments) != nil }
    }

    /// Finds the operation for `method` on `segments` (the path after `/api`) in `version`: as the real service's
    /// routes of that version would, a path with no operation in it is 404 whatever other versions have, and a
    /// path it has with other methods is 405 naming those.
    public static func match(method: String, segments: [String], version: APIVersion) -> Match {
        var allowed: [String] = []
        var elsewhere: Operation?
        var pathExists = false
        for operation in byFirstSegment[segments.first?.lowercased() ?? ""] ?? [] {
            guard let parameters = operation.match(segments) else { continue }
            pathExists = true
            guard operation.versions.contains(version) else {
                if operation.method == method { elsewhere = operation }
                continue
            }
            if operation.method == method { return .operation(operation, parameters: parameters) }
            allowed.append(operation.method)
        }
        if !allowed.isEmpty { return .methodNotAllowed(allowed: allowed) }
        return pathExists ? .notInVersion(operation: elsewhere) : .noSuchPath
    }
}
