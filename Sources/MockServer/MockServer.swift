import Central
import Entra
import Foundation
import HTTP
import Storage
import Synchronization

/// A running iotc-mock: the store, the IoT Central service and the HTTP listener, composed.
///
/// Start one in-process from a Swift test (`try MockServer(configuration: c).start()` with port 0), or through the
/// `iotc-mock` command. Requests to `/api/...` go to IoT Central; every other path answers 404 in the same envelope.
public final class MockServer: Sendable {
    public let configuration: MockServerConfiguration
    public let store: CentralStore
    public let service: CentralService
    /// The fixture that seeded (or would seed) the store.
    public let fixture: Fixture
    /// The application requests are served for.
    public let application: Application
    /// The absolute path of the PEM certificate the port presents to `https://` clients (trust it with
    /// `curl --cacert`, `REQUESTS_CA_BUNDLE`, or `update-ca-certificates`).
    public let certificatePath: String
    /// The mock Entra ID, when `fixtures/entra.json` exists.
    public let entra: EntraService?
    private let server: HTTPServer
    /// The port actually bound, for answers to requests that carry no `Host` (HTTP/1.0).
    private let boundPort: BoundPort

    private final class BoundPort: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Why the server could not start.
    public struct StartError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Opens (or creates) the store, seeds it from the fixture when it is empty, and prepares the listener.
    /// - Throws: `StartError` with a message for the user (fixtures not found, data folder not writable,
    ///   database too new, ...).
    public init(configuration: MockServerConfiguration) throws {
        self.configuration = configuration
        guard let fixturesDirectory = configuration.resolvedFixturesDirectory() else {
            throw StartError(description: "cannot find the fixtures folder (roles.json); pass --fixtures DIR or set IOTC_MOCK_FIXTURES")
        }
        do {
            fixture = try Fixture.load(directory: fixturesDirectory, name: configuration.fixture)
        } catch {
            throw StartError(description: "fixture: \(error)")
        }
        guard configuration.inMemory || !configuration.dataDirectory.isEmpty else {
            throw StartError(description: "the data folder must not be empty; pass --data-dir DIR or --in-memory")
        }
        let database: SQLiteDatabase
        var lock: Int32 = -1
        defer { if lock >= 0 { close(lock) } }  // closing releases the start-up lock
        do {
            if configuration.inMemory {
                database = try SQLiteDatabase(path: nil)
            } else {
                try FileManager.default.createDirectory(
                    atPath: configuration.dataDirectory, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
                // Servers starting together on one fresh folder take turns to open, migrate and seed it (switching
                // to WAL needs the database to itself).
                lock = open(configuration.dataDirectory + "/iotc-mock.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
                if lock >= 0 { while flock(lock, LOCK_EX) != 0 && errno == EINTR {} }
                database = try SQLiteDatabase(path: configuration.databasePath)
            }
            store = try CentralStore(database: database)
            if try store.isEmpty() { try store.insert(fixture, now: Timestamp.nowMilliseconds()) }
            try store.replaceBuiltInRoles(fixture.roles)
            guard let application = try store.application(id: fixture.application.id) ?? store.applications().first else {
                throw StartError(description: "the data folder holds no application; delete it or use another --data-dir")
            }
            self.application = application
        } catch let error as StartError {
            throw error
        } catch let error as SQLiteError {
            throw StartError(description: "data folder \(configuration.dataDirectory): \(error.message)")
        } catch let error as CocoaError {
            throw StartError(description: "data folder \(configuration.dataDirectory): \(error.localizedDescription)")
        } catch {
            throw StartError(description: "data folder \(configuration.dataDirectory): \(error)")
        }
        let tls: TLSContext
        do {
            let paths: (certificatePath: String, privateKeyPath: String)
            switch (configuration.tlsCertificatePath, configuration.tlsPrivateKeyPath) {
            case (let certificate?, let key?):
                guard configuration.tlsNames.isEmpty else {
                    throw StartError(description: "--tls-name applies to the generated certificate only, not to --tls-cert")
                }
                paths = (certificate, key)
            case (nil, nil):
                // OpenSSL clients do not match `*.localhost`, so the app's own host names are named explicitly.
                let appNames = ["\(application.subdomain).localhost", "\(application.id).localhost"]
                    .filter { SelfSignedCertificate.isDNSName($0) }
                paths = try SelfSignedCertificate.ensure(in: configuration.tlsDirectory, extraNames: appNames + configuration.tlsNames)
            default:
                throw StartError(description: "give both --tls-cert and --tls-key, or neither")
            }
            tls = try TLSContext(certificatePath: paths.certificatePath, privateKeyPath: paths.privateKeyPath)
            certificatePath = URL(fileURLWithPath: paths.certificatePath).standardizedFileURL.path
        } catch let error as StartError {
            throw error
        } catch {
            throw StartError(description: "TLS: \(error)")
        }
        // The mock Entra ID: its directory from fixtures/entra.json, its signing key kept beside the data.
        let entra = try Self.entraService(configuration: configuration, fixturesDirectory: fixturesDirectory)
        self.entra = entra
        var bearerVerifier: BearerVerifier?
        if let entra { bearerVerifier = { token in Self.bearerIdentity(token, entra: entra) } }
        let service = CentralService(
            store: store, pageSize: configuration.pageSize, bearerVerifier: bearerVerifier,
            maxRoleAssignments: configuration.maxRoleAssignments)
        self.service = service
        var http = HTTPServerConfiguration()
        http.host = configuration.host
        http.port = configuration.port
        http.maxConnections = configuration.maxConnections
        http.readTimeout = configuration.readTimeout
        http.tls = tls
        let application = self.application
        let boundPort = BoundPort()
        self.boundPort = boundPort
        server = HTTPServer(
            configuration: http,
            handler: { request in
                Self.respond(
                    to: request, service: service, entra: entra, application: application,
                    authority: Self.authority(host: configuration.host, port: boundPort.value.load(ordering: .relaxed)))
            },
            errorResponder: { error in
                HTTPResponse(service.errorResponse(CentralError(status: error.status, code: Self.code(for: error.status), message: error.reason)))
            })
    }

    /// Starts listening. After it returns, `port` and `baseURL` are final.
    /// - Throws: `StartError` when the address cannot be bound.
    public func start() throws {
        do { try server.start() } catch { throw StartError(description: "\(error)") }
        boundPort.value.store(server.port, ordering: .relaxed)
    }

    /// Stops listening and closes every connection. With a `gracePeriod` (seconds), requests in progress finish
    /// and are answered first (SIGINT/SIGTERM use 10 s).
    public func stop(gracePeriod: Double = 0) { server.stop(gracePeriod: gracePeriod) }

    /// The bound port (the chosen one when configured with 0).
    public var port: Int { server.port }

    /// `http://host:port`, with IPv6 hosts in brackets.
    public var baseURL: String { "http://" + Self.authority(host: configuration.host, port: port) }

    /// `https://host:port`: the same port, over TLS.
    public var httpsURL: String { "https://" + Self.authority(host: configuration.host, port: port) }

    /// `host:port`, with an IPv6 literal in brackets (RFC 3986 §3.2.2).
    static func authority(host: String, port: Int) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The full string of the fixture's first API token, if that token still exists and has not expired
    /// (the well-known admin token of `fixtures/default.json`).
    public func wellKnownToken() -> String? {
        guard let id = fixture.apiTokens.first?.id,
              let token = try? store.apiToken(appID: application.id, id: id),
              token.expiryMilliseconds > Timestamp.nowMilliseconds()
        else { return nil }
        return SharedAccessSignature.sign(applicationID: application.id, token: token, key: application.signingKey)
    }

    /// The one line printed when ready, for people and scripts: every field is `key=value`, and the token, which
    /// contains a space, comes last so that everything after `token=` is the header value.
    public func readyLine() -> String {
        "iotc-mock ready url=\(baseURL) https-url=\(httpsURL) certificate=\(certificatePath) application=\(application.id) subdomain=\(application.subdomain) token=\(wellKnownToken() ?? "none")"
    }

    static func code(for status: Int) -> String {
        switch status {
        case 408: "RequestTimeout"
        case 413: "PayloadTooLarge"
        case 431: "RequestHeaderFieldsTooLarge"
        case 501: "NotImplemented"
        case 505: "HTTPVersionNotSupported"
        case 503: "ServiceUnavailable"
        default: "BadRequest"
        }
    }

    /// The mock Entra ID for `configuration`: nil when the fixtures folder has no `entra.json`. Creates the
    /// token-signing key (`configuration.signingKeyPath`) on first use. Used by the server and by `iotc-mock token`.
    /// - Throws: `StartError` when the directory file or the key cannot be read or made.
    public static func entraService(configuration: MockServerConfiguration, fixturesDirectory: URL? = nil) throws -> EntraService? {
        guard let fixtures = fixturesDirectory ?? configuration.resolvedFixturesDirectory() else {
            throw StartError(description: "cannot find the fixtures folder (roles.json); pass --fixtures DIR or set IOTC_MOCK_FIXTURES")
        }
        let directoryFile = fixtures.appendingPathComponent("entra.json")
        guard FileManager.default.fileExists(atPath: directoryFile.path) else { return nil }
        do {
            let directory = try EntraDirectory.load(directoryFile)
            let keyFolder = (configuration.signingKeyPath as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: keyFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let key = try RSASigningKey.loadOrCreate(at: configuration.signingKeyPath)
            return EntraService(directory: directory, signingKey: key, tokenLifetime: Int64(configuration.tokenLifetime))
        } catch {
            throw StartError(description: "Entra: \(error)")
        }
    }

    /// The identity in a bearer token the mock Entra ID issued, or nil when it does not verify.
    static func bearerIdentity(_ token: String, entra: EntraService) -> BearerIdentity? {
        guard let claims = try? entra.verify(token) else { return nil }
        return BearerIdentity(
            tenantId: claims.tid, objectId: claims.oid, names: [claims.upn, claims.unique_name, claims.email].compactMap { $0 },
            groups: claims.groups ?? [], expiryMilliseconds: claims.exp * 1000)
    }

    /// Adapts an HTTP request to Central and back. `authority` stands in for a missing `Host` header.
    static func respond(to request: HTTPRequest, service: CentralService, entra: EntraService?, application: Application, authority: String) -> HTTPResponse {
        let segments = request.pathSegments
        let host = request.headers["Host"] ?? authority
        let first = segments.first ?? ""
        if first == "_mock", segments.dropFirst().first == "entra", let entra {
            // The control plane answers loopback callers only.
            let remote = request.remoteAddress
            guard remote.hasPrefix("127.") || remote == "::1" || remote.hasPrefix("::ffff:127.") || remote.isEmpty else {
                return HTTPResponse(service.errorResponse(CentralError(status: 403, code: "Forbidden", message: "The control plane answers loopback callers only.")))
            }
            return HTTPResponse(entra.handleControl(method: request.method, path: Array(segments.dropFirst(2)), body: request.body))
        }
        guard first.lowercased() == "api" else {
            // Everything else under /{tenant}/... is the mock Entra ID.
            if let entra, segments.count >= 2 {
                let answer = entra.handle(EntraService.Request(
                    method: request.method, tenant: first, path: Array(segments.dropFirst()),
                    baseURL: (request.isTLS ? "https://" : "http://") + host, contentType: request.headers["Content-Type"],
                    authorization: request.headers["Authorization"], body: request.body))
                return HTTPResponse(answer)
            }
            return HTTPResponse(service.errorResponse(.noSuchPath(request.path)))
        }
        let central = CentralRequest(
            method: request.method, pathSegments: Array(segments.dropFirst()), query: request.query,
            authorization: request.headers.values("Authorization"), contentType: Self.contentType(request.headers),
            baseURL: (request.isTLS ? "https://" : "http://") + host, body: request.body)
        return HTTPResponse(service.handle(central, application: application))
    }
}

extension MockServer {
    /// The `Content-Type`, with repeated headers joined by commas (RFC 9110 §5.3), so that two media types are
    /// refused like one header listing both (415).
    static func contentType(_ headers: HTTPHeaders) -> String? {
        let values = headers.values("Content-Type")
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }
}

extension HTTPResponse {
    init(_ response: CentralResponse) {
        self.init(status: response.status, headers: response.headers, body: response.body)
    }

    init(_ response: EntraService.Response) {
        self.init(status: response.status, headers: response.headers, body: response.body)
    }

    init(status: Int, headers: [(String, String)], body: [UInt8]) {
        var fields = HTTPHeaders()
        for (name, value) in headers { fields.add(name, value) }
        self.init(status: status, headers: fields, body: body)
    }
}
