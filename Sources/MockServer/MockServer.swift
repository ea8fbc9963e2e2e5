import Central
import Entra
import Foundation
import HTTP
import Storage
import Synchronization

/// A running iotc-mock: the store, the IoT Central service, the mock Entra ID, the control plane and the HTTP
/// listener, composed.
///
/// Start one in-process from a Swift test (`try MockServer(configuration: .ephemeral).start()`), or through the
/// `iotc-mock` command. The `Host` header picks the application (`{subdomain}.localhost`, `{app id}.localhost`;
/// an IP address or `localhost` is the default one); `/api/...` goes to IoT Central, `/_mock/...` to the control
/// plane, `/{tenant}/...` to the mock Entra ID, and anything else answers 404 in the IoT Central envelope.
public final class MockServer: Sendable {
    public let configuration: MockServerConfiguration
    public let store: CentralStore
    public let service: CentralService
    /// The fixture that seeded (or would seed) the store.
    public let fixture: Fixture
    /// The default application: the one a request without an application host name is served by, and the one
    /// the ready line names. It cannot be deleted.
    public let application: Application
    /// The server's clock, which `POST /_mock/clock` shifts.
    public let clock: MockClock
    /// The last requests, with who called and why each was allowed or refused (`GET /_mock/journal`).
    public let journal: RequestJournal
    /// Opt-in throttling at IoT Central's 20 requests per second per application.
    public let rateLimiter: RateLimiter
    /// Injected faults (`POST /_mock/faults`).
    public let faults: FaultInjector
    let registry: ApplicationRegistry
    /// The fixture files: the `--fixtures` folder over the compiled-in ones.
    let fixtureFiles: FixtureFiles
    let requestLog: RequestLog?
    /// The admin token secrets of the applications this process made or reset, by application id: in memory only, so
    /// `GET /_mock/apps` can show their admin tokens while it runs.
    let issuedAdminSecrets = Mutex<[String: [UInt8]]>([:])
    /// Held while an application is made, so that concurrent creations respect the limits.
    let applicationCreation = Mutex(())
    /// Set by `stop`, so `/_mock/health` answers 503 while requests drain.
    let stopping = Atomic<Bool>(false)
    /// The absolute path of the PEM file `https://` clients must trust (`curl --cacert`, `REQUESTS_CA_BUNDLE`,
    /// `update-ca-certificates`): the data folder's certificate authorities (`tls/ca.pem`), or `--tls-cert`.
    public let certificatePath: String
    /// The mock Entra ID, when `fixtures/entra.json` exists.
    public let entra: EntraService?
    /// Azure Resource Manager's sign-in endpoints, beside the mock Entra ID.
    public let resourceManager: ResourceManager?
    private let server: HTTPServer
    /// What `start` reports besides the application ports: settings that cannot work as meant.
    private let configurationWarnings: [String]
    /// The names of the generated certificate, lower-cased (nil with `--tls-cert`: the user's certificate).
    let certificateNames: Set<String>?
    /// Keeps the authority that signed the generated certificate in the trust bundle while this server lives.
    private let authorityLease: CertificateAuthority.Lease?
    /// The listener on `configuration.dropInPort` in drop-in mode (nil when off, or when that is the server's port).
    private let dropInServer: HTTPServer?
    /// The listeners of applications with a port of their own.
    let applicationListeners = ApplicationListeners()
    /// What every listener shares: address, limits, TLS; each application listener changes the port.
    let httpConfiguration: HTTPServerConfiguration
    let router: Router
    let errorResponder: @Sendable (HTTPRequestError) -> HTTPResponse

    /// Why the server could not start.
    public struct StartError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Opens (or creates) the store, seeds it from the fixture when it is empty, and prepares the listener.
    /// - Throws: `StartError` with a message for the user (fixtures not found, data folder not writable,
    ///   database too new, ...).
    public init(configuration: MockServerConfiguration) throws {
        self.configuration = configuration
        let fixtureFiles = try configuration.fixtureFiles()
        self.fixtureFiles = fixtureFiles
        do {
            fixture = try Fixture.load(files: fixtureFiles, name: configuration.fixture)
        } catch {
            throw StartError(description: "fixture: \(error)")
        }
        guard configuration.inMemory || !configuration.dataDirectory.isEmpty else {
            throw StartError(description: "the data folder must not be empty; pass --data-dir DIR or --in-memory")
        }
        let database: SQLiteDatabase
        var folderWarnings: [String] = []
        var lock: Int32 = -1
        defer { if lock >= 0 { close(lock) } }  // closing releases the start-up lock
        do {
            if configuration.inMemory {
                database = try SQLiteDatabase(path: nil)
            } else {
                folderWarnings = try DataFolder.prepare(configuration.dataDirectory)
                // Servers starting together on one fresh folder take turns to open, migrate and seed it (switching
                // to WAL needs the database to itself).
                lock = open(configuration.dataDirectory + "/iotc-mock.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
                if lock >= 0 { while flock(lock, LOCK_EX) != 0 && errno == EINTR {} }
                try DataFolder.createDatabaseFile(configuration.databasePath)
                database = try SQLiteDatabase(path: configuration.databasePath)
                // The operator hears once when writes begin to fail and once when they succeed again.
                database.onProblemChange { problem in
                    let line = problem.map { "iotc-mock: \($0); writes are answered 503 until this is fixed\n" }
                        ?? "iotc-mock: writes succeed again\n"
                    FileHandle.standardError.write(Data(line.utf8))
                }
            }
            store = try CentralStore(database: database)
            if try store.isEmpty() { try store.insert(fixture, now: Timestamp.nowMilliseconds()) }
            try store.replaceBuiltInRoles(fixture.roles)
            guard let application = try store.application(id: fixture.application.id) ?? store.applications().first else {
                throw StartError(description: "the data folder holds no application; delete it or use another --data-dir")
            }
            self.application = application
            registry = try ApplicationRegistry(store: store, defaultID: application.id)
        } catch let error as StartError {
            throw error
        } catch let error as SQLiteError {
            throw StartError(description: "data folder \(configuration.dataDirectory): \(error.message)")
        } catch let error as CocoaError {
            throw StartError(description: "data folder \(configuration.dataDirectory): \(error.localizedDescription)")
        } catch {
            throw StartError(description: "data folder \(configuration.dataDirectory): \(error)")
        }
        let requestLog = configuration.logFormat.map { RequestLog(format: $0) }
        self.requestLog = requestLog
        let tls: TLSContext
        var lease: CertificateAuthority.Lease?
        var names: Set<String>?
        var warnings = folderWarnings
        do {
            switch (configuration.tlsCertificatePath, configuration.tlsPrivateKeyPath) {
            case (let certificate?, let key?):
                guard configuration.tlsNames.isEmpty else {
                    throw StartError(description: "--tls-name applies to the generated certificate only, not to --tls-cert")
                }
                tls = try TLSContext(certificatePath: certificate, privateKeyPath: key)
                certificatePath = URL(fileURLWithPath: certificate).standardizedFileURL.path
                if configuration.dropIn {
                    let present = Set(CertificateAuthority.alternativeNames(ofCertificateFile: certificate).map { $0.lowercased() })
                    let missing = MockServerConfiguration.dropInNames.filter { !present.contains($0) }
                    if !missing.isEmpty {
                        warnings.append("drop-in mode: the certificate of --tls-cert does not name \(missing.joined(separator: ", ")), so clients calling those names will refuse it; leave out --tls-cert to use the generated one.")
                    }
                }
            case (nil, nil):
                // OpenSSL clients do not match `*.localhost`, so the apps' own host names are named explicitly.
                let appNames = ((try? store.applications()) ?? [application])
                    .flatMap { ["\($0.subdomain).localhost", "\($0.id).localhost"] }
                    .filter { CertificateAuthority.isDNSName($0) }
                let dropInNames = configuration.dropIn ? MockServerConfiguration.dropInNames : []
                // The address it listens on, so that the ready line's https-url verifies (`--host 127.0.0.2`).
                let listening = CertificateAuthority.isIPAddress(configuration.host) && !["0.0.0.0", "::"].contains(configuration.host)
                    ? [configuration.host] : []
                let issued = try CertificateAuthority.issue(
                    in: configuration.tlsDirectory, extraNames: appNames + dropInNames + listening + configuration.tlsNames,
                    log: { requestLog?.notice($0, time: Timestamp.nowMilliseconds()) })
                tls = try TLSContext(issued)
                lease = issued.lease
                names = Set(issued.names.map { $0.lowercased() })
                certificatePath = URL(fileURLWithPath: issued.trustBundlePath).standardizedFileURL.path
            default:
                throw StartError(description: "give both --tls-cert and --tls-key, or neither")
            }
        } catch let error as StartError {
            throw error
        } catch {
            throw StartError(description: "TLS: \(error)")
        }
        authorityLease = lease
        configurationWarnings = warnings
        certificateNames = names
        let clock = MockClock()
        self.clock = clock
        journal = RequestJournal(capacity: configuration.journalCapacity)
        rateLimiter = RateLimiter()
        rateLimiter.requestsPerSecond = configuration.throttleRequestsPerSecond
        faults = FaultInjector()
        // The mock Entra ID: its directory from fixtures/entra.json, its signing key kept beside the data.
        let entra = try Self.entraService(configuration: configuration, fixtureFiles: fixtureFiles, clock: clock)
        self.entra = entra
        resourceManager = entra.map(ResourceManager.init(entra:))
        var bearerVerifier: BearerVerifier?
        if let entra { bearerVerifier = { token in Self.bearerIdentity(token, entra: entra) } }
        let service = CentralService(
            store: store, pageSize: configuration.pageSize, clock: { clock.nowMilliseconds() }, bearerVerifier: bearerVerifier,
            maxRoleAssignments: configuration.maxRoleAssignments)
        self.service = service
        var http = HTTPServerConfiguration()
        http.host = configuration.host
        http.port = configuration.port
        http.maxConnections = configuration.maxConnections
        http.readTimeout = configuration.readTimeout
        http.tls = tls
        httpConfiguration = http
        let router = Router()
        self.router = router
        let errorResponder: @Sendable (HTTPRequestError) -> HTTPResponse = { [requestLog, clock] error in
            // A request refused before it could be parsed: answered in the envelope, and logged (it has no
            // method, path or application to journal).
            let response = service.errorResponse(CentralError(status: error.status, code: Self.code(for: error.status), message: error.reason))
            requestLog?.log(JournalEntry(
                time: clock.nowMilliseconds(), requestID: response.header(CentralService.requestIDHeader), method: "-", path: "-",
                application: nil, status: error.status, outcome: RequestOutcome(reason: error.reason), durationMilliseconds: 0), subdomain: nil)
            return HTTPResponse(response)
        }
        self.errorResponder = errorResponder
        server = HTTPServer(configuration: http, handler: { request in router.respond(to: request, pinned: nil) }, errorResponder: errorResponder)
        if configuration.dropIn, configuration.dropInPort == 0 || configuration.dropInPort != configuration.port {
            var dropIn = http
            dropIn.port = configuration.dropInPort
            dropInServer = HTTPServer(configuration: dropIn, handler: { request in router.respond(to: request, pinned: nil) }, errorResponder: errorResponder)
        } else {
            dropInServer = nil
        }
        router.server = self
    }

    /// Hands requests to the server once it exists (the listener is made before `self` is complete).
    final class Router: @unchecked Sendable {
        // @unchecked: `server` is written once, in `init`, before the listener starts.
        weak var server: MockServer?

        /// Answers `request`; `pinned` is the id of the application whose own port it arrived on, if any.
        func respond(to request: HTTPRequest, pinned: String?) -> HTTPResponse {
            guard let server else { return HTTPResponse(status: 503, headers: [], body: []) }
            return server.respond(to: request, pinned: pinned)
        }
    }

    /// Starts listening: the server's port (and in drop-in mode the drop-in port), then the port of each
    /// application that has one of its own. After it returns, `port`, `baseURL` and the applications' ports are final.
    /// An application whose port cannot be opened (taken by another process, or past the limit of listeners) does
    /// not stop the server: it is served through its `Host` header only, and the returned warnings say so.
    /// - Returns: one sentence per application port that could not be opened, and per setting that cannot work as
    ///   meant (drop-in mode with a `--tls-cert` that does not name the real hosts).
    /// - Throws: `StartError` when the server's own address cannot be bound (nothing listens then).
    @discardableResult
    public func start() throws -> [String] {
        do { try server.start() } catch { throw StartError(description: "\(error)") }
        if let dropInServer {
            do { try dropInServer.start() } catch {
                server.stop()
                let hint = configuration.dropInPort < 1024 && geteuid() != 0
                    ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE; or choose --drop-in-port)" : ""
                throw StartError(description: "drop-in port \(configuration.dropInPort): \(error)\(hint)")
            }
        }
        var warnings = configurationWarnings
        for application in registry.all {
            guard let port = application.port else { continue }
            do throws(ControlError) {
                try openListener(for: application.id, port: port)
            } catch {
                warnings.append("application \(application.subdomain): \(error.message) It is served through its Host header (\(application.subdomain).localhost) only; delete it or free the port and restart.")
            }
        }
        return warnings
    }

    /// Stops listening and closes every connection. With a `gracePeriod` (seconds), requests in progress finish
    /// and are answered first (SIGINT/SIGTERM use 10 s).
    public func stop(gracePeriod: Double = 0) {
        stopping.store(true, ordering: .relaxed)
        let servers = [server] + (dropInServer.map { [$0] } ?? []) + applicationListeners.removeAll()
        DispatchQueue.concurrentPerform(iterations: servers.count) { servers[$0].stop(gracePeriod: gracePeriod) }
    }

    /// The bound port (the chosen one when configured with 0).
    public var port: Int { server.port }

    /// Connections served at once on each port: `configuration.maxConnections`, lowered to fit the descriptor limit.
    public var maxConnections: Int { server.maxConnections }

    /// The process's descriptor limit, raised to its hard limit (at most 1,048,576) when the first server started.
    public static var descriptorLimit: Int? { HTTPServer.descriptorLimit }

    /// `http://host:port`, with IPv6 hosts in brackets (a wildcard address shown as the loopback address).
    public var baseURL: String { "http://" + Self.authority(host: configuration.host, port: port) }

    /// `https://host:port`: the same port, over TLS.
    public var httpsURL: String { "https://" + Self.authority(host: configuration.host, port: port) }

    /// `host:port`, with an IPv6 literal in brackets (RFC 3986 §3.2.2).
    /// A wildcard listening address (`0.0.0.0`, `::`) is shown as the loopback address, which a client on the same
    /// machine (or in the same container) can call.
    static func authority(host: String, port: Int) -> String {
        let shown = switch host {
        case "0.0.0.0": "127.0.0.1"
        case "::", "[::]": "::1"
        default: host
        }
        return shown.contains(":") && !shown.hasPrefix("[") ? "[\(shown)]:\(port)" : "\(shown):\(port)"
    }

    /// The full string of the fixture's first API token in the default application, if that token still exists
    /// and has not expired (the well-known admin token of `fixtures/default.json`).
    public func wellKnownToken() -> String? { adminToken(of: application) }

    /// The name of the fixture `application` was made from (the server's own when the store cannot say).
    func fixtureName(of application: Application) -> String {
        (try? store.fixtureName(appID: application.id)) ?? fixture.name
    }

    /// The full string of the first API token of `application`'s fixture, if it still exists unchanged and has not
    /// expired, and its secret is at hand: the fixture's own application has it from the fixture (the well-known
    /// token); another has it only in the memory of the process that made or reset it (the store keeps hashes).
    func adminToken(of application: Application) -> String? {
        let fixtureName = fixtureName(of: application)
        guard let source = fixtureName == fixture.name ? fixture : try? Fixture.load(files: fixtureFiles, name: fixtureName),
              let id = source.apiTokens.first?.id,
              let secret = application.id == source.application.id ? source.apiTokenSecrets[id] : issuedAdminSecrets.withLock({ $0[application.id] }),
              let token = try? store.apiToken(appID: application.id, id: id),
              token.expiryMilliseconds > clock.nowMilliseconds(),
              Crypto.constantTimeEquals(Crypto.sha256(secret), token.secretHash)
        else { return nil }
        return SharedAccessSignature.string(applicationID: application.id, tokenID: id, expiryMilliseconds: token.expiryMilliseconds, secret: secret)
    }

    /// The one line printed when ready, for people and scripts: every field is `key=value`, and the token, which
    /// contains a space, comes last so that everything after `token=` is the header value.
    public func readyLine() -> String {
        let dropIn = configuration.dropIn ? " drop-in-port=\(dropInServer?.port ?? port)" : ""
        return "iotc-mock ready url=\(baseURL) https-url=\(httpsURL) certificate=\(certificatePath)\(dropIn) application=\(application.id) subdomain=\(application.subdomain) token=\(wellKnownToken() ?? "none")"
    }

    /// The mock Entra ID for `configuration`: nil when the fixture files have no `entra.json`. Creates the
    /// token-signing key (`configuration.signingKeyPath`) on first use. Used by the server and by `iotc-mock token`.
    /// - Throws: `StartError` when the directory file or the key cannot be read or made.
    public static func entraService(configuration: MockServerConfiguration, fixtureFiles: FixtureFiles? = nil, clock: MockClock? = nil) throws -> EntraService? {
        let files = try fixtureFiles ?? configuration.fixtureFiles()
        do {
            guard let bytes = try files.read("entra.json") else { return nil }
            let directory = try EntraDirectory.load(bytes, source: files.source(of: "entra.json"))
            let keyFolder = (configuration.signingKeyPath as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: keyFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let key = try RSASigningKey.loadOrCreate(at: configuration.signingKeyPath)
            guard let clock else { return EntraService(directory: directory, signingKey: key, tokenLifetime: Int64(configuration.tokenLifetime)) }
            return EntraService(directory: directory, signingKey: key, tokenLifetime: Int64(configuration.tokenLifetime), clock: { clock.nowSeconds() })
        } catch {
            throw StartError(description: "Entra: \(error)")
        }
    }

    /// The identity in a bearer token the mock Entra ID issued, or why it does not verify.
    static func bearerIdentity(_ token: String, entra: EntraService) -> Result<BearerIdentity, BearerRejection> {
        do {
            let claims = try entra.verify(token)
            return .success(BearerIdentity(
                tenantId: claims.tid, objectId: claims.oid, names: [claims.upn, claims.unique_name, claims.email].compactMap { $0 },
                groups: claims.groups ?? [], expiryMilliseconds: claims.exp.multipliedReportingOverflow(by: 1000).overflow ? .max : claims.exp * 1000,
                issuer: claims.iss, appId: claims.appid, displayName: claims.name))
        } catch {
            return .failure(BearerRejection(reason: error.explanation))
        }
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
