// libFuzzer target for the Authorization header (built by `make fuzz`, never by `swift build`).
// Properties: SharedAccessSignature.parse never crashes; a parsed token written canonically parses back to the
// same fields; and through the whole authentication path nothing authenticates but the well-known admin token
// (spelled any way that parses to the same fields: the scheme ignores case, values are percent-decoded).
import Central
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
    let admin = SharedAccessSignature.sign(applicationID: fixture.application.id, token: fixture.apiTokens[0], key: fixture.application.signingKey)
    return World(service: CentralService(store: store), application: fixture.application, adminToken: SharedAccessSignature.parse(admin))
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
    let status = world.service.handle(request, application: world.application).status
    if status != 401 && SharedAccessSignature.parse(header) != world.adminToken {
        fatalError("a header other than the admin token authenticated (\(status)): \(header.debugDescription)")
    }
    return 0
}
