/// Handlers of `/api/fileUploads`, the application's one file upload configuration (spec operations FileUploads_Get,
/// _Create, _Update, _Remove). The storage account is never contacted: the configuration is stored as given and its
/// `state` is `succeeded` at once (assumed: the service goes through `pending` while it sets the account up).
extension CentralService {
    static let fileUploadKind = "fileUpload"

    /// FileUploads_Get: 404 while none is configured (assumed).
    func getFileUpload(_ context: RequestContext) throws -> Reply {
        Reply(status: 200, body: Self.fileUploadJSON(try existingFileUpload(context), version: context.version))
    }

    /// FileUploads_Create: `connectionString` and `container` required (non-empty strings); `account` a string;
    /// `sasTtl` an ISO 8601 duration such as `PT1H`; `readAccess` a boolean (2022-10-31-preview). Replaces any
    /// configuration there was.
    func createFileUpload(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        try Self.checkModel(body, "FileUpload", version: context.version)
        let upload = try Self.validFileUpload(body, version: context.version)
        try store.save(resource: upload, appID: context.application.id, kind: Self.fileUploadKind, id: "default")
        return Reply(status: 200, body: Self.fileUploadJSON(upload, version: context.version))
    }

    /// FileUploads_Update: a JSON merge patch of the configuration, checked as a create; 404 while none is configured.
    func updateFileUpload(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json", "application/merge-patch+json"])
        let existing = try existingFileUpload(context)
        let upload = try Self.validFileUpload(existing.merging(try context.jsonObjectBody()), version: context.version)
        try store.save(resource: upload, appID: context.application.id, kind: Self.fileUploadKind, id: "default")
        return Reply(status: 200, body: Self.fileUploadJSON(upload, version: context.version))
    }

    /// FileUploads_Remove: 204; 404 while none is configured.
    func removeFileUpload(_ context: RequestContext) throws -> Reply {
        guard try store.deleteResource(appID: context.application.id, kind: Self.fileUploadKind, id: "default") else {
            throw CentralError.notFound("file upload configuration", id: "default")
        }
        return Reply(status: 204)
    }

    private func existingFileUpload(_ context: RequestContext) throws -> JSONValue {
        guard let upload = try store.resource(appID: context.application.id, kind: Self.fileUploadKind, id: "default") else {
            throw CentralError.notFound("file upload configuration", id: "default")
        }
        return upload
    }

    private static func validFileUpload(_ body: JSONValue, version: APIVersion) throws -> JSONValue {
        var members: [(String, JSONValue)] = []
        for name in ["account", "connectionString", "container", "sasTtl"] {
            guard let value = body[name], value != .null else {
                if name == "connectionString" || name == "container" { throw CentralError.invalidBody("The field '\(name)' is required for a file upload configuration.") }
                continue
            }
            guard let text = value.stringValue, !text.isEmpty else { throw CentralError.invalidBody("The field '\(name)' must be a non-empty string.") }
            if name == "sasTtl" && !isDuration(text) {
                throw CentralError.invalidBody("The field 'sasTtl' must be an ISO 8601 duration such as PT1H, not '\(text.clipped)'.")
            }
            members.append((name, .string(text)))
        }
        if version.hasFileUploadReadAccess, let value = body["readAccess"], value != .null {
            guard case .bool = value else { throw CentralError.invalidBody("The field 'readAccess' must be a boolean.") }
            members.append(("readAccess", value))
        }
        members.append(("state", .string("succeeded")))
        members.append(("etag", .string(try newETag())))
        return .object(members)
    }

    /// The configuration in `version`'s shape (`readAccess` from 2022-10-31-preview on).
    private static func fileUploadJSON(_ upload: JSONValue, version: APIVersion) -> JSONValue {
        guard case .object(let members) = upload else { return upload }
        return .object(members.filter { $0.0 != "readAccess" || version.hasFileUploadReadAccess })
    }

    /// An ISO 8601 duration of days and time (`P1D`, `PT1H`, `PT30M`, `P1DT2H`), as `Timestamp.durationMilliseconds`
    /// reads them.
    static func isDuration(_ text: String) -> Bool { Timestamp.durationMilliseconds(text) != nil }
}
