/// Handlers of `/api/dashboards` (spec operations Dashboards_List, _Get, _Create, _Update, _Remove) and
/// `/api/deploymentManifests` (DeploymentManifests_List, _Get, _Create, _Update, _Remove, and Devices_ApplyManifest).
/// Both are documents checked by the spec's models (`CentralService+Documents.swift`) and scoped by `organizations`
/// as devices are. A dashboard made through the API is never personal (`personal` is false: the API has no user of
/// its own to keep it for; assumed); each tile gets an id, kept by the tile at that place on later writes.
extension CentralService {
    static let dashboards = DocumentKind(
        kind: "dashboard", noun: "dashboard", model: "Dashboard", idParameter: "dashboardId", idCharacters: ":;",
        idMaxLength: 128, scoped: true, hasETag: true)
    static let deploymentManifests = DocumentKind(
        kind: "deploymentManifest", noun: "deployment manifest", model: "DeploymentManifest",
        idParameter: "deploymentManifestId", idCharacters: ":;", idMaxLength: 255, scoped: true, hasETag: true)

    var dashboardRules: DocumentRules {
        DocumentRules(complete: { document, existing, _ in
            guard case .object(var members) = document else { return document }
            // Each tile keeps the id of the tile at its place before, else gets a new one.
            let previous = existing?["tiles"]?.arrayValue ?? []
            if let index = members.firstIndex(where: { $0.0 == "tiles" }), let tiles = members[index].1.arrayValue {
                members[index].1 = .array(tiles.enumerated().map { place, tile in
                    guard case .object(let fields) = tile else { return tile }
                    let id = place < previous.count ? previous[place]["id"] ?? .string(Crypto.uuid()) : .string(Crypto.uuid())
                    return .object([("id", id)] + fields)
                })
            }
            members.append(("personal", .bool(false)))
            if !members.contains(where: { $0.0 == "favorite" }) { members.append(("favorite", .bool(false))) }
            return .object(members)
        })
    }

    /// Devices_ApplyManifest: the manifest (checked as a create) is kept as the one applied to the device; answers the
    /// manifest (the device's own `deploymentManifest` member is not shown: assumed, docs/fidelity.md). The device must be one the caller may see (404), as for every device operation.
    func applyDeploymentManifest(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        let (device, _) = try visibleDevice(context)
        let schema = SpecSchema.of(context.version)
        try Self.checkModel(body, Self.deploymentManifests.model, version: context.version)
        guard case .object(var members) = schema.shape(body, model: Self.deploymentManifests.model, droppingReadOnly: true) else {
            throw CentralError.invalidBody("The body must be a JSON object.")
        }
        members.removeAll { $0.0 == "id" }
        let id = body["id"]?.stringValue ?? Crypto.uuid()
        let manifest = JSONValue.object([("id", .string(id))] + members)
        try store.save(resource: manifest, appID: context.application.id, kind: "appliedDeploymentManifest", id: device.id)
        return Reply(status: 200, body: manifest)
    }
}
