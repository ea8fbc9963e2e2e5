// libFuzzer target for the Authorization header (built by `make fuzz`, never by `swift build`).
// Properties: SharedAccessSignature.parse never crashes; a parsed token written canonically parses back to the
// same fields; and through the whole authentication path nothing authenticates but the well-known admin token
// (spelled any way that parses to the same fields: the scheme ignores case, values are percent-decoded), and every
// 401 says why in its x-iotc-mock-reason header.
// Bearer headers go through the real JWT verifier with a key the fuzzer never sees, so none may authenticate.
import Central
import Entra
import Foundation
import Storage

private struct World {
    let service: CentralService
    let application: Application
    let adminToken: SharedAccessSignature?
}

private let world: World = {
    let directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("fixtures")
    guard let fixture = try? Fixture.load(directory: directory, name: "default"),
          let database = try? SQLiteDatabase(path: nil),
          let store = try? CentralStore(database: database),
          (try? store.insert(fixture, now: 0)) != nil
    else { fatalError("run the fuzzer from the repository root (it reads fixtures/)") }
    let admin = fixture.tokenString(fixture.apiTokens[0].id) ?? ""
    guard let entraDirectory = try? EntraDirectory.load(directory.appendingPathComponent("entra.json")),
          let key = try? RSASigningKey.generate()
    else { fatalError("cannot set up the mock Entra ID") }
    let entra = EntraService(directory: entraDirectory, signingKey: key)
    // Make every directory identity an Administrator, so that any bearer that verified would authenticate.
    for tenant in entraDirectory.tenants {
        for principal in tenant.servicePrincipals {
            try? store.save(User(id: String(principal.objectId.prefix(8)), type: .servicePrincipal, tenantId: tenant.id, objectId: principal.objectId,
                                 roles: [RoleAssignment(role: "ca310b8d-2f4a-44e0-a36e-957c202cd8d4")]), appID: fixture.application.id)
        }
    }
    let verifier: BearerVerifier = { token in
        do {
            let claims = try entra.verify(token)
            return .success(BearerIdentity(
                tenantId: claims.tid, objectId: claims.oid, names: [claims.upn, claims.unique_name, claims.email].compactMap { $0 },
                groups: claims.groups ?? [], expiryMilliseconds: claims.exp * 1000))
        } catch {
            return .failure(BearerRejection(reason: (error as? JSONWebToken.VerificationError)?.explanation ?? "\(error)"))
        }
    }
    return World(service: CentralService(store: store, bearerVerifier: verifier), application: fixture.application, adminToken: SharedAccessSignature.parse(admin))
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAuthorization(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let header = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let parsed = SharedAccessSignature.parse(header) {
        let canonical = "SharedAccessSignature sr=\(parsed.resource.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            + "&sig=\(Data(parsed.signature).base64EncodedString().addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            + "&skn=\(parsed.keyName.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&se=\(parsed.expiryMilliseconds)"
        guard SharedAccessSignature.parse(canonical) == parsed else { fatalError("canonical form does not parse back: \(header)") }
    }
    let request = CentralRequest(method: "GET", pathSegments: ["roles"], query: [("api-version", "2022-07-31")], authorization: [header])
    let response = world.service.handle(request, application: world.application)
    let status = response.status
    if status != 401 && SharedAccessSignature.parse(header) != world.adminToken {
        fatalError("a header other than the admin token authenticated (\(status)): \(header.debugDescription)")
    }
    if status == 401 && response.header(CentralService.reasonHeader) == nil {
        fatalError("a 401 without the reason header: \(header.debugDescription)")
    }
    return 0
}
