import Foundation

/// Handlers of `/api/enrollmentGroups` (spec operations EnrollmentGroups_List, _Get, _Create, _Update, _Remove) and
/// of their X.509 signing certificates (_GetX509, _CreateX509, _RemoveX509, _GenerateVerificationCodeX509,
/// _VerifyX509). No device provisioning service exists behind them: a symmetric-key group without keys gets two
/// random ones; a certificate is stored as given, with `info.sha1Thumbprint` the SHA-1 of its DER bytes (of the text
/// when it is neither PEM nor base64), `verified` false until a verification code was generated for it and a
/// certificate sent to `verify` (any certificate: the mock cannot check a proof of possession; assumed,
/// docs/fidelity.md).
extension CentralService {
    static let enrollmentGroups = DocumentKind(
        kind: "enrollmentGroup", noun: "enrollment group", model: "EnrollmentGroup", idParameter: "enrollmentGroupId",
        idCharacters: "-", idMaxLength: 255, scoped: false, hasETag: true)

    var enrollmentGroupRules: DocumentRules {
        DocumentRules(
            complete: { document, existing, _ in
                var document = document
                if document["enabled"] == nil { document = Self.adding([("enabled", .bool(true))], to: document) }
                guard let attestation = document["attestation"], let type = attestation["type"]?.stringValue else { return document }
                var updated = attestation
                if type == "symmetricKey", attestation["symmetricKey"] == nil {
                    let keys = try existing?["attestation"]?["symmetricKey"] ?? .object([
                        ("primaryKey", .string(Data(try Crypto.randomBytes(32)).base64EncodedString())),
                        ("secondaryKey", .string(Data(try Crypto.randomBytes(32)).base64EncodedString())),
                    ])
                    updated = Self.adding([("symmetricKey", keys)], to: updated)
                }
                if type == "x509", let certificates = attestation["x509"]?["signingCertificates"] {
                    var entries: [(String, JSONValue)] = []
                    for entry in ["primary", "secondary"] {
                        guard let given = certificates[entry] else { continue }
                        guard given["certificate"]?.stringValue?.isEmpty == false else {
                            throw CentralError.invalidBody("The field 'attestation.x509.signingCertificates.\(entry).certificate' is required: the certificate, PEM or base64.")
                        }
                        entries.append((entry, Self.signingCertificate(given, previous: existing?["attestation"]?["x509"]?["signingCertificates"]?[entry])))
                    }
                    updated = Self.adding([("x509", .object([("signingCertificates", .object(entries))]))], to: updated)
                }
                return Self.adding([("attestation", updated)], to: document)
            },
            present: { document, context in
                Self.adding([("idScope", .string(Self.idScope(applicationID: context.application.id)))], to: document)
            })
    }

    /// EnrollmentGroups_GetX509: 404 when the group has no certificate in that entry.
    func getGroupCertificate(_ context: RequestContext) throws -> Reply {
        let (_, certificate) = try groupCertificate(context)
        return Reply(status: 200, body: Self.certificateJSON(certificate))
    }

    /// EnrollmentGroups_CreateX509: sets the entry's certificate (`certificate` required, a string); the group must
    /// use x509 attestation (422 otherwise).
    func createGroupCertificate(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        let group = try visibleDocument(Self.enrollmentGroups, context)
        try Self.checkModel(body, "SigningX509Certificate", version: context.version)
        guard let text = body["certificate"]?.stringValue, !text.isEmpty else {
            throw CentralError.invalidBody("The field 'certificate' is required: the certificate, PEM or base64.")
        }
        guard group["attestation"]?["type"] == .string("x509") else {
            throw CentralError.invalidBody("The enrollment group '\(context.parameter("enrollmentGroupId").clipped)' does not use x509 attestation.")
        }
        let entry = try Self.certificateEntry(context)
        let certificate = Self.signingCertificate(body, previous: nil)
        try saveCertificate(certificate, entry: entry, group: group, context: context)
        return Reply(status: 200, body: Self.certificateJSON(certificate))
    }

    /// EnrollmentGroups_RemoveX509: 204; 404 when the entry is empty.
    func removeGroupCertificate(_ context: RequestContext) throws -> Reply {
        let (group, _) = try groupCertificate(context)
        try saveCertificate(nil, entry: try Self.certificateEntry(context), group: group, context: context)
        return Reply(status: 204)
    }

    /// EnrollmentGroups_GenerateVerificationCodeX509: a fresh code for the entry's certificate.
    func generateVerificationCode(_ context: RequestContext) throws -> Reply {
        let (group, certificate) = try groupCertificate(context)
        let code = Crypto.hex(try Crypto.randomBytes(24)).uppercased()
        try saveCertificate(Self.adding([("_verificationCode", .string(code))], to: certificate), entry: try Self.certificateEntry(context), group: group, context: context)
        return Reply(status: 200, body: .object([("verificationCode", .string(code))]))
    }

    /// EnrollmentGroups_VerifyX509: marks the entry's certificate verified (204). `certificate` is required; a code
    /// must have been generated first (422).
    func verifyGroupCertificate(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json"])
        let body = try context.jsonObjectBody()
        let (group, certificate) = try groupCertificate(context)
        try Self.checkModel(body, "X509VerificationCertificate", version: context.version)
        guard certificate["_verificationCode"] != nil else {
            throw CentralError.invalidBody("Generate a verification code for this certificate first (generateVerificationCode).")
        }
        try saveCertificate(Self.adding([("verified", .bool(true))], to: certificate), entry: try Self.certificateEntry(context), group: group, context: context)
        return Reply(status: 204)
    }

    // MARK: Helpers

    private static func certificateEntry(_ context: RequestContext) throws(CentralError) -> String {
        let entry = context.parameter("entry")
        guard entry == "primary" || entry == "secondary" else { throw .notFound("certificate entry", id: entry) }
        return entry
    }

    private func groupCertificate(_ context: RequestContext) throws -> (JSONValue, JSONValue) {
        let group = try visibleDocument(Self.enrollmentGroups, context)
        let entry = try Self.certificateEntry(context)
        guard let certificate = group["attestation"]?["x509"]?["signingCertificates"]?[entry] else {
            throw CentralError.notFound("\(entry) certificate of the enrollment group", id: context.parameter("enrollmentGroupId"))
        }
        return (group, certificate)
    }

    private func saveCertificate(_ certificate: JSONValue?, entry: String, group: JSONValue, context: RequestContext) throws {
        let attestation = group["attestation"] ?? .object([("type", .string("x509"))])
        var entries: [(String, JSONValue)] = []
        if case .object(let current)? = attestation["x509"]?["signingCertificates"] { entries = current.filter { $0.0 != entry } }
        if let certificate { entries.append((entry, certificate)) }
        let updated = Self.adding([("x509", .object([("signingCertificates", .object(entries))]))], to: attestation)
        var stored = Self.adding([("attestation", updated)], to: group)
        stored = Self.adding([("etag", .string(try Self.newETag()))], to: stored)
        try store.save(resource: stored, appID: context.application.id, kind: Self.enrollmentGroups.kind, id: context.parameter("enrollmentGroupId"))
    }

    /// A stored certificate entry: `certificate`, `verified` (kept from `previous` when the certificate is the same),
    /// `info.sha1Thumbprint`, `etag`.
    private static func signingCertificate(_ given: JSONValue, previous: JSONValue?) -> JSONValue {
        let text = given["certificate"]?.stringValue ?? ""
        let same = previous?["certificate"]?.stringValue == text
        let verified = same ? (previous?["verified"] ?? .bool(false)) : .bool(false)
        var members: [(String, JSONValue)] = [("certificate", .string(text)), ("verified", verified),
                                              ("info", .object([("sha1Thumbprint", .string(thumbprint(of: text)))])),
                                              ("etag", .string((try? newETag()) ?? "\"~0\""))]
        if same, let code = previous?["_verificationCode"] { members.append(("_verificationCode", code)) }
        return .object(members)
    }

    /// The SHA-1 of the certificate's DER bytes (PEM or bare base64), else of its text; upper-case hexadecimal.
    static func thumbprint(of certificate: String) -> String {
        let body = certificate.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            .filter { !$0.isWhitespace }
        let der = Data(base64Encoded: body).map(Array.init) ?? Array(certificate.utf8)
        return Crypto.hex(Crypto.sha1(der)).uppercased()
    }

    private static func certificateJSON(_ certificate: JSONValue) -> JSONValue {
        guard case .object(let members) = certificate else { return certificate }
        return .object(members.filter { !$0.0.hasPrefix("_") })
    }
}
