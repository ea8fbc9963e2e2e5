/// Handlers of `/api/devices/{deviceId}/relationships` (spec operations Devices_ListRelationships,
/// _GetRelationship, _CreateRelationship, _UpdateRelationship, _RemoveRelationship). The device in the path must be
/// one the caller may see (404). `source` is that device (it is set to it when absent; another value is 422) and
/// `target` must name a device the caller may see (400 when there is none; assumed, docs/fidelity.md). A relationship
/// whose target the caller may not see is left out of its lists and is 404 for it. Deleting a device deletes its
/// relationships and those that target it.
extension CentralService {
    static let relationships = DocumentKind(
        kind: "relationship", noun: "relationship", model: "DeviceRelationship", idParameter: "relationshipId",
        idCharacters: nil, idMaxLength: 255, scoped: false, hasETag: false, parentParameter: "deviceId")

    var relationshipRules: DocumentRules {
        DocumentRules(complete: { [self] document, _, context in
            let (device, tree) = try visibleDevice(context)
            if let source = document["source"]?.stringValue, source != device.id {
                throw CentralError.invalidBody("The field 'source' must be the device in the path, '\(device.id.clipped)', not '\(source.clipped)'.")
            }
            if let target = document["target"]?.stringValue {
                guard let other = try store.device(appID: context.application.id, id: target), other.isVisible(to: context.scope, in: tree) else {
                    throw CentralError.missingReference("The target device '\(target.clipped)' does not exist.")
                }
            }
            return Self.adding([("source", .string(device.id))], to: document)
        })
    }

    /// The relationship handlers, each after checking that the caller may see the device.
    func relationshipOperation(_ context: RequestContext) throws -> Reply {
        let (_, tree) = try visibleDevice(context)
        let kind = Self.relationships
        let targetVisible: (JSONValue) throws -> Bool = { [self] relationship in
            guard let target = relationship["target"]?.stringValue else { return true }
            return try store.device(appID: context.application.id, id: target)?.isVisible(to: context.scope, in: tree) ?? false
        }
        switch context.operation.operationID {
        case "Devices_ListRelationships": return try listDocuments(kind, context, include: targetVisible)
        case "Devices_GetRelationship":
            guard try targetVisible(try visibleDocument(kind, context)) else {
                throw CentralError.notFound(kind.noun, id: context.parameter(kind.idParameter))
            }
            return try getDocument(kind, context)
        case "Devices_CreateRelationship": return try putDocument(kind, context, rules: relationshipRules)
        case "Devices_UpdateRelationship": return try patchDocument(kind, context, rules: relationshipRules)
        default: return try removeDocument(kind, context)
        }
    }
}
