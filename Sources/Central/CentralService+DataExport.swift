/// Handlers of `/api/dataExport/destinations` (spec operations Destinations_List, _Get, _Create, _Update, _Remove,
/// _ListExports) and `/api/dataExport/exports` (Exports_List, _Get, _Create, _Update, _Remove, _ListDestinations).
/// Nothing is ever sent anywhere: a destination's connection details are stored as given, and its `status` (and an
/// export's) is `healthy`, or `notStarted` for an export that is not enabled (the spec's example "Get a data export";
/// `healthy` assumed, docs/fidelity.md). An export's
/// `destinations` must name existing destinations (400); deleting a destination an export uses is refused (422,
/// assumed).
extension CentralService {
    static let destinations = DocumentKind(
        kind: "destination", noun: "destination", model: "Destination", idParameter: "destinationId", idCharacters: nil,
        idMaxLength: 255, scoped: false, hasETag: false)
    static let exports = DocumentKind(
        kind: "export", noun: "export", model: "Export", idParameter: "exportId", idCharacters: nil,
        idMaxLength: 255, scoped: false, hasETag: false)

    var destinationRules: DocumentRules {
        DocumentRules(
            complete: { document, _, _ in Self.adding([("status", .string("healthy"))], to: document) },
            beforeRemove: { [self] destination, context in
                let id = destination["id"]?.stringValue ?? ""
                let users = try store.resources(appID: context.application.id, kind: Self.exports.kind)
                    .filter { Self.destinationIDs(of: $0.document).contains(id) }
                if let user = users.first?.document["id"]?.stringValue {
                    throw CentralError.invalidBody("The destination '\(id.clipped)' is used by the export '\(user.clipped)'; remove it from the export first.")
                }
            })
    }

    var exportRules: DocumentRules {
        DocumentRules(complete: { [self] document, _, context in
            for id in Self.destinationIDs(of: document)
            where try store.resource(appID: context.application.id, kind: Self.destinations.kind, id: id) == nil {
                throw CentralError.missingReference("The destination '\(id.clipped)' does not exist.")
            }
            let enabled = document["enabled"] == .bool(true)
            return Self.adding([("status", .string(enabled ? "healthy" : "notStarted"))], to: document)
        })
    }

    /// Destinations_ListExports: the exports that send to the destination, each with the `transform` it uses.
    func listDestinationExports(_ context: RequestContext) throws -> Reply {
        let destination = try visibleDocument(Self.destinations, context)
        let id = destination["id"]?.stringValue ?? ""
        let exports = try store.resources(appID: context.application.id, kind: Self.exports.kind)
            .filter { Self.destinationIDs(of: $0.document).contains(id) }
            .map { export -> JSONValue in
                let reference = export.document["destinations"]?.arrayValue?.first { $0["id"] == .string(id) }
                return Self.adding(reference?["transform"].map { [("transform", $0)] } ?? [], to: try documentJSON(export.document, kind: Self.exports, context: context))
            }
        return Reply(status: 200, body: .object([("value", .array(exports))]))
    }

    /// Exports_ListDestinations: the destinations of the export, each with the export's `transform` for it.
    func listExportDestinations(_ context: RequestContext) throws -> Reply {
        let export = try visibleDocument(Self.exports, context)
        var destinations: [JSONValue] = []
        for reference in export["destinations"]?.arrayValue ?? [] {
            guard let id = reference["id"]?.stringValue,
                  let destination = try store.resource(appID: context.application.id, kind: Self.destinations.kind, id: id) else { continue }
            let shaped = try documentJSON(destination, kind: Self.destinations, context: context)
            destinations.append(Self.adding(reference["transform"].map { [("transform", $0)] } ?? [], to: shaped))
        }
        return Reply(status: 200, body: .object([("value", .array(destinations))]))
    }

    private static func destinationIDs(of export: JSONValue) -> [String] {
        (export["destinations"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
    }
}
