import Central
import Foundation

/// How to run a `MockServer`. The command line fills it from flags and `IOTC_MOCK_*` environment variables.
public struct MockServerConfiguration: Sendable {
    /// Address to listen on (`--host`, `IOTC_MOCK_HOST`): an IP literal or `localhost`.
    public var host: String = "127.0.0.1"
    /// Port to listen on (`--port`, `IOTC_MOCK_PORT`); 0 picks a free port.
    public var port: Int = 8765
    /// Folder for the SQLite database (`--data-dir`, `IOTC_MOCK_DATA_DIR`). Created if missing.
    public var dataDirectory: String = ".iotc-mock"
    /// Keep all state in memory and forget it on exit (`--in-memory`, `IOTC_MOCK_IN_MEMORY`).
    public var inMemory: Bool = false
    /// Folder of fixture files (`--fixtures`, `IOTC_MOCK_FIXTURES`) read before the ones compiled into the binary:
    /// it may add application fixtures or replace `roles.json`, `entra.json` or `default.json`. Nil: the
    /// compiled-in files only.
    public var fixturesDirectory: String?
    /// The fixture that seeds an empty store (`--fixture`, `IOTC_MOCK_FIXTURE`): `fixtures/<name>.json`.
    public var fixture: String = "default"
    /// Items per list page before a `nextLink` (assumed 100).
    public var pageSize: Int = 100
    /// The most role assignments the users of one application may hold together (`--max-role-assignments`,
    /// `IOTC_MOCK_MAX_ROLE_ASSIGNMENTS`; default 200, assumed: see docs/fidelity.md).
    public var maxRoleAssignments: Int = 200
    /// Connections open at once on each port (lowered to fit the process's descriptor limit); past it the
    /// longest-idle connection is closed to make room, or the new one is answered 503.
    public var maxConnections: Int = 10_000
    /// Seconds a read may wait before the connection is closed.
    public var readTimeout: Double = 30

    /// The user's own PEM certificate chain and private key (`--tls-cert`, `--tls-key`, `IOTC_MOCK_TLS_CERT`,
    /// `IOTC_MOCK_TLS_KEY`); both or neither. Neither: a self-signed pair is made in `tlsDirectory`.
    public var tlsCertificatePath: String?
    public var tlsPrivateKeyPath: String?
    /// Extra DNS names or IP addresses for the generated certificate (`--tls-name`, `IOTC_MOCK_TLS_NAMES`).
    public var tlsNames: [String] = []

    /// Drop-in mode (`--drop-in`, `IOTC_MOCK_DROP_IN`): the server also listens on `dropInPort` and its generated
    /// certificate names `dropInNames`, so that with a hosts-file entry and its certificate authority trusted,
    /// unchanged clients reach it as `login.microsoftonline.com`, `management.azure.com` and
    /// `<subdomain>.azureiotcentral.com`.
    public var dropIn: Bool = false
    /// The port drop-in mode listens on besides `port` (`--drop-in-port`, `IOTC_MOCK_DROP_IN_PORT`; default 443,
    /// the only port unchanged clients call).
    public var dropInPort: Int = 443
    /// The real host names the generated certificate names in drop-in mode.
    public static let dropInNames = ["login.microsoftonline.com", "management.azure.com", "*.azureiotcentral.com"]

    /// Lifetime of the Entra access tokens the mock issues, in seconds (`--token-lifetime`,
    /// `IOTC_MOCK_TOKEN_LIFETIME`; default 3599 like Entra's).
    public var tokenLifetime: Int = 3599

    /// A key that every control-plane call (`/_mock/...` except `/_mock/health`) must carry in the header
    /// `x-iotc-mock-key`, from any address (`--control-key`, `IOTC_MOCK_CONTROL_KEY`). Nil: the control plane
    /// answers loopback callers only, without a key.
    public var controlKey: String?
    /// One log line per request on standard error in this format (`--log-format`, `IOTC_MOCK_LOG_FORMAT`), or nil
    /// for none (`--quiet`); also one line for each certificate authority or TLS certificate made at start. The command line logs `text` by default; an in-process server logs nothing by default.
    public var logFormat: RequestLog.Format?
    /// Throttle each application to this many requests per second with 429 (`--throttle` sets IoT Central's 20;
    /// `IOTC_MOCK_THROTTLE`), or nil for no throttling. `POST /_mock/throttling` changes it at run time.
    public var throttleRequestsPerSecond: Int?
    /// How long a stop on SIGINT or SIGTERM lets requests in progress finish, in seconds (`--stop-grace`,
    /// `IOTC_MOCK_STOP_GRACE`; default 10); requests that begin meanwhile are answered 503.
    public var stopGraceSeconds: Int = 10
    /// Requests the journal keeps (`GET /_mock/journal`).
    public var journalCapacity: Int = 1000

    public init() {}

    /// For tests: port 0 (a free one), state in memory, no log. Start it, read `baseURL`, stop it.
    public static var ephemeral: MockServerConfiguration {
        var configuration = MockServerConfiguration()
        configuration.port = 0
        configuration.inMemory = true
        return configuration
    }

    /// Where the Entra token-signing key is kept: the data folder, or with `--in-memory` the TLS folder in the
    /// temporary directory, so tokens stay valid across restarts either way.
    public var signingKeyPath: String {
        ((inMemory ? tlsDirectory : dataDirectory) as NSString).appendingPathComponent("entra-signing-key.pem")
    }

    /// Where the certificate authority lives (`ca.pem`, `ca-key.pem`): `<data dir>/tls`, or with `--in-memory` a
    /// per-user folder in the temporary directory, so that its path (and the trust a user gave it) stays the same
    /// across runs.
    public var tlsDirectory: String {
        if inMemory { return (NSTemporaryDirectory() as NSString).appendingPathComponent("iotc-mock-tls-\(getuid())") }
        return (dataDirectory as NSString).appendingPathComponent("tls")
    }

    /// The database file inside `dataDirectory`.
    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("iotc-mock.sqlite3") }

    /// The fixture files to use: those of `fixturesDirectory` (when set) over the ones compiled into the binary
    /// from the repository's `fixtures/`.
    /// - Throws: `MockServer.StartError` when `fixturesDirectory` is set but is not a folder.
    public func fixtureFiles() throws(MockServer.StartError) -> FixtureFiles {
        var directory: URL?
        if let fixturesDirectory {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: fixturesDirectory, isDirectory: &isFolder), isFolder.boolValue else {
                throw MockServer.StartError(description: "the fixtures folder \(fixturesDirectory) does not exist or is not a folder")
            }
            directory = URL(fileURLWithPath: fixturesDirectory)
        }
        return FixtureFiles(directory: directory, embedded: Self.embeddedFixtures)
    }

    /// The repository's `fixtures/*.json` as this binary was built.
    static let embeddedFixtures: [String: [UInt8]] = EmbeddedFiles.fixturesBase64.compactMapValues { Data(base64Encoded: $0).map(Array.init) }
}
