/// Handlers of the operations only 2021-04-30-preview has: `/api/continuousDataExports` (spec operations
/// ContinuousDataExports_List, _Get, _Create, _Update, _Remove) and a device's cloud properties
/// (Devices_GetCloudProperties, _ReplaceCloudProperties, _UpdateCloudProperties).
///
/// A continuous data export is checked by the 2021-04-30-preview spec's model (below: `endpoint` with `type`
/// `EventHubsEndpoint`, `ServiceBusQueueEndpoint`, `ServiceBusTopicEndpoint` or `StorageEndpoint`, `connectionString`
/// and `name`; `enabled`; `sources` from `devices`, `deviceTemplates`, `telemetry`). Nothing is sent anywhere: its
/// `status` is `running` when enabled, else `stopped` (assumed). Cloud properties are a JSON object of any values, kept
/// per device: PUT replaces them, PATCH merges (RFC 7396), both answer the result (200).
extension CentralService {
    /// The models of the 2021-04-30-preview spec the mock's generated tables do not carry.
    static let previewModels2021 = SpecSchema(text: #"""
        {"ContinuousDataExport":{"type":"object","properties":{"id":{"type":"string","readOnly":true},
        "etag":{"type":"string"},"displayName":{"type":"string"},"endpoint":{"$ref":"#/definitions/Endpoint"},
        "status":{"type":"string","readOnly":true},"enabled":{"type":"boolean"},
        "sources":{"type":"array","items":{"type":"string","enum":["devices","deviceTemplates","telemetry"]},"minItems":1}},
        "required":["endpoint","enabled","sources"]},
        "Endpoint":{"type":"object","properties":{"type":{"type":"string"},"connectionString":{"type":"string"},
        "name":{"type":"string"}},"required":["type","connectionString","name"],"discriminator":"type"},
        "EventHubsEndpoint":{"allOf":[{"$ref":"#/definitions/Endpoint"}]},
        "ServiceBusQueueEndpoint":{"allOf":[{"$ref":"#/definitions/Endpoint"}]},
        "ServiceBusTopicEndpoint":{"allOf":[{"$ref":"#/definitions/Endpoint"}]},
        "StorageEndpoint":{"allOf":[{"$ref":"#/definitions/Endpoint"}]}}
        """#)

    static let continuousDataExports = DocumentKind(
        kind: "continuousDataExport", noun: "continuous data export", model: "ContinuousDataExport", idParameter: "exportId",
        idCharacters: nil, idMaxLength: 255, scoped: false, hasETag: true, models: previewModels2021)

    var continuousDataExportRules: DocumentRules {
        DocumentRules(complete: { document, _, _ in
            Self.adding([("status", .string(document["enabled"] == .bool(true) ? "running" : "stopped"))], to: document)
        })
    }

    static let cloudPropertiesKind = "cloudProperties"

    /// Devices_GetCloudProperties: `{}` until some are set.
    func getCloudProperties(_ context: RequestContext) throws -> Reply {
        let (device, _) = try visibleDevice(context)
        return Reply(status: 200, body: try store.resource(appID: context.application.id, kind: Self.cloudPropertiesKind, id: device.id) ?? .object([]))
    }

    /// Devices_ReplaceCloudProperties (`replacing`) and Devices_UpdateCloudProperties.
    func setCloudProperties(_ context: RequestContext, replacing: Bool) throws -> Reply {
        try context.requireContentType(replacing ? ["application/json"] : ["application/json", "application/merge-patch+json", "application/json-patch+json"])
        let (device, _) = try visibleDevice(context)
        let body = try context.jsonObjectBody()
        let current = replacing ? JSONValue.object([]) : try store.resource(appID: context.application.id, kind: Self.cloudPropertiesKind, id: device.id) ?? .object([])
        let properties = current.merging(body)
        try store.save(resource: properties, appID: context.application.id, kind: Self.cloudPropertiesKind, id: device.id)
        return Reply(status: 200, body: properties)
    }
}
