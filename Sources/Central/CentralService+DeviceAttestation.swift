import Foundation

/// Handlers of a device's attestation and credentials (spec operations Devices_GetAttestation, _CreateAttestation,
/// _UpdateAttestation, _RemoveAttestation, Devices_GetCredentials). No device provisions against the mock, so keys
/// are only data: the credentials of a device without an individual attestation are derived from its id as an
/// enrollment group's would be (HMAC-SHA256 of the device id with the group key; "Use the IoT Central REST API to
/// manage devices"), with a group key derived from the application's id, so they are stable but not secret.
extension CentralService {
    static let attestationKind = "attestation"

    /// Devices_GetAttestation: the individual attestation set for the device; 404 when none was (assumed).
    func getAttestation(_ context: RequestContext) throws -> Reply {
        let device = try deviceForAttestation(context)
        guard let attestation = try store.resource(appID: context.application.id, kind: Self.attestationKind, id: device.id) else {
            throw CentralError.notFound("attestation of the device", id: device.id)
        }
        return Reply(status: 200, body: attestation)
    }

    /// Devices_CreateAttestation: sets the device's individual attestation: `type` `symmetricKey` (with
    /// `symmetricKey.primaryKey` and `.secondaryKey`), `tpm` (with `tpm.endorsementKey`) or `x509` (with
    /// `x509.clientCertificates.primary`), as the spec's discriminated `Attestation` requires.
    func createAttestation(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json"])
        let device = try deviceForAttestation(context)
        let attestation = try Self.validAttestation(try context.jsonObjectBody())
        try store.save(resource: attestation, appID: context.application.id, kind: Self.attestationKind, id: device.id)
        return Reply(status: 200, body: attestation)
    }

    /// Devices_UpdateAttestation: a JSON merge patch of the attestation set, checked as a create; 404 when none was.
    func updateAttestation(_ context: RequestContext) throws -> Reply {
        try context.requireContentType(["application/json", "application/merge-patch+json"])
        let device = try deviceForAttestation(context)
        guard let existing = try store.resource(appID: context.application.id, kind: Self.attestationKind, id: device.id) else {
            throw CentralError.notFound("attestation of the device", id: device.id)
        }
        let attestation = try Self.validAttestation(existing.merging(try context.jsonObjectBody()))
        try store.save(resource: attestation, appID: context.application.id, kind: Self.attestationKind, id: device.id)
        return Reply(status: 200, body: attestation)
    }

    /// Devices_RemoveAttestation: 204; 404 when none was set.
    func removeAttestation(_ context: RequestContext) throws -> Reply {
        let device = try deviceForAttestation(context)
        guard try store.deleteResource(appID: context.application.id, kind: Self.attestationKind, id: device.id) else {
            throw CentralError.notFound("attestation of the device", id: device.id)
        }
        return Reply(status: 204)
    }

    /// Devices_GetCredentials: `idScope` (derived from the application's id) and the keys the device would provision
    /// with: those of its individual attestation when one is set, else its symmetric keys derived as above.
    func getCredentials(_ context: RequestContext) throws -> Reply {
        let device = try deviceForAttestation(context)
        var members: [(String, JSONValue)] = [("idScope", .string(Self.idScope(applicationID: context.application.id)))]
        if let attestation = try store.resource(appID: context.application.id, kind: Self.attestationKind, id: device.id),
           let type = attestation["type"]?.stringValue, let value = attestation[type] {
            members.append((type, value))
        } else {
            func key(_ label: String) -> JSONValue {
                let group = Crypto.hmacSHA256(key: Array("iotc-mock \(label) group key".utf8), message: Array(context.application.id.utf8))
                return .string(Data(Crypto.hmacSHA256(key: group, message: Array(device.id.utf8))).base64EncodedString())
            }
            members.append(("symmetricKey", .object([("primaryKey", key("primary")), ("secondaryKey", key("secondary"))])))
        }
        return Reply(status: 200, body: .object(members))
    }

    /// `0ne` and 8 hexadecimal digits, from the application's id (the shape of a DPS ID scope).
    static func idScope(applicationID: String) -> String {
        "0ne" + Crypto.hex(Array(Crypto.sha256(Array(applicationID.utf8)).prefix(4))).uppercased()
    }

    private func deviceForAttestation(_ context: RequestContext) throws -> Device {
        try visibleDevice(context).0
    }

    /// The attestation as stored: `type` and its member, checked; other members dropped (`info` is read-only).
    private static func validAttestation(_ body: JSONValue) throws(CentralError) -> JSONValue {
        guard let type = body["type"]?.stringValue else { throw .invalidBody("The field 'type' is required: symmetricKey, tpm or x509.") }
        func requiredString(_ value: JSONValue?, _ path: String) throws(CentralError) -> JSONValue {
            guard let value, let text = value.stringValue, !text.isEmpty else { throw .invalidBody("\(path) is required and must be a non-empty string.") }
            return .string(text)
        }
        let member: JSONValue
        switch type {
        case "symmetricKey":
            let keys = body["symmetricKey"]
            member = .object([("primaryKey", try requiredString(keys?["primaryKey"], "symmetricKey.primaryKey")),
                              ("secondaryKey", try requiredString(keys?["secondaryKey"], "symmetricKey.secondaryKey"))])
        case "tpm":
            member = .object([("endorsementKey", try requiredString(body["tpm"]?["endorsementKey"], "tpm.endorsementKey"))])
        case "x509":
            guard let x509 = body["x509"], case .object = x509 else { throw .invalidBody("The field 'x509' is required for an x509 attestation.") }
            var certificates: [(String, JSONValue)] = []
            if let given = x509["clientCertificates"] {
                guard case .object = given, let primary = given["primary"], case .object = primary else {
                    throw .invalidBody("x509.clientCertificates.primary is required and must be an object with 'certificate'.")
                }
                for name in ["primary", "secondary"] {
                    guard let certificate = given[name] else { continue }
                    guard case .object = certificate else { throw .invalidBody("x509.clientCertificates.\(name) must be an object.") }
                    if let text = certificate["certificate"] {
                        guard text.stringValue != nil else { throw .invalidBody("x509.clientCertificates.\(name).certificate must be a string.") }
                        certificates.append((name, .object([("certificate", text)])))
                    } else {
                        certificates.append((name, .object([])))
                    }
                }
            }
            member = certificates.isEmpty ? .object([]) : .object([("clientCertificates", .object(certificates))])
        default:
            throw .invalidBody("The attestation type '\(type.clipped)' is not one of symmetricKey, tpm or x509.")
        }
        if let value = body[type], case .object = value {} else { throw .invalidBody("The field '\(type)' must be an object.") }
        return .object([("type", .string(type)), (type, member)])
    }
}
