import ArgumentParser
import Entra
import Foundation
import Central
import MockServer

/// `iotc-mock`: the IoT Central emulator. `serve` (the default) runs it; `app` and `health` talk to a running one;
/// `token` prints an Entra access token; `permissions` prints the operation × role table.
@main
struct IotcMock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iotc-mock",
        abstract: "An offline emulator of Azure IoT Central's identity and access REST API, with a mock Entra ID.",
        discussion: "Every option can also be set with the IOTC_MOCK_* environment variable named in its help; a flag wins.",
        version: "iotc-mock \(MockServer.versionDescription)",
        subcommands: [Serve.self, AppCommand.self, Health.self, Token.self, Permissions.self, JournalCommand.self, Explain.self],
        defaultSubcommand: Serve.self)
}

/// The options every command shares; each can also come from the `IOTC_MOCK_*` environment variable named in its
/// help (a flag on the command line wins).
struct Options: ParsableArguments {
    @Option(help: "Address to listen on, an IP literal or localhost. [env: IOTC_MOCK_HOST] (default: 127.0.0.1)")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one. [env: IOTC_MOCK_PORT] (default: 8765)")
    var port: Int?

    @Option(help: "Folder for the SQLite database. [env: IOTC_MOCK_DATA_DIR] (default: ./.iotc-mock)")
    var dataDir: String?

    @Flag(help: "Keep the store in memory (gone at exit); only the certificate authority and the Entra signing key are written, to $TMPDIR/iotc-mock-tls-<uid>. [env: IOTC_MOCK_IN_MEMORY=1]")
    var inMemory = false

    @Option(help: "Folder of fixture files read before the built-in ones (roles.json, entra.json, <name>.json). [env: IOTC_MOCK_FIXTURES] (default: none, the built-in fixtures)")
    var fixtures: String?

    @Option(help: "Fixture that seeds an empty store: fixtures/<name>.json. [env: IOTC_MOCK_FIXTURE] (default: default)")
    var fixture: String?

    @Option(help: "PEM certificate chain to present over https (with --tls-key). [env: IOTC_MOCK_TLS_CERT] (default: a self-signed one in <data-dir>/tls)")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert. [env: IOTC_MOCK_TLS_KEY]")
    var tlsKey: String?

    @Option(help: "Extra DNS name or IP address for the self-signed certificate; repeatable. [env: IOTC_MOCK_TLS_NAMES, comma-separated]")
    var tlsName: [String] = []

    @Flag(help: "Drop-in mode: also listen on --drop-in-port (443) with login.microsoftonline.com, management.azure.com and *.azureiotcentral.com in the certificate, for unchanged clients behind a hosts-file entry. [env: IOTC_MOCK_DROP_IN=1]")
    var dropIn = false

    @Option(help: "The port drop-in mode listens on besides --port. [env: IOTC_MOCK_DROP_IN_PORT] (default: 443)")
    var dropInPort: Int?

    @Option(help: "Lifetime of issued Entra access tokens, in seconds. [env: IOTC_MOCK_TOKEN_LIFETIME] (default: 3599)")
    var tokenLifetime: Int?

    @Option(help: "Most role assignments the users of one application may hold together. [env: IOTC_MOCK_MAX_ROLE_ASSIGNMENTS] (default: 200)")
    var maxRoleAssignments: Int?

    @Option(help: "Key that control-plane calls (/_mock/...) must send in the x-iotc-mock-key header, from any address. [env: IOTC_MOCK_CONTROL_KEY] (default: none; loopback callers only)")
    var controlKey: String?

    @Flag(help: "Throttle each application to IoT Central's 20 requests per second (429 with Retry-After). [env: IOTC_MOCK_THROTTLE=1]")
    var throttle = false

    @Option(help: "Seconds a stop on SIGINT or SIGTERM lets requests in progress finish (later ones get 503). [env: IOTC_MOCK_STOP_GRACE] (default: 10)")
    var stopGrace: Int?

    @Option(help: "Connections open at once on each port; past it the longest-idle one is closed to make room, else 503. [env: IOTC_MOCK_MAX_CONNECTIONS] (default: 10000, lowered to fit the descriptor limit)")
    var maxConnections: Int?

    @Flag(help: "Stop (as on SIGTERM) when the process that started this one ends, so a crashed test runner leaves no server behind. [env: IOTC_MOCK_EXIT_WITH_PARENT=1]")
    var exitWithParent = false

    @Flag(help: "No request log on standard error. [env: IOTC_MOCK_QUIET=1]")
    var quiet = false

    @Option(help: "Request log format on standard error: text or json. [env: IOTC_MOCK_LOG_FORMAT] (default: text)")
    var logFormat: String?

    /// The configuration these flags and the environment describe.
    /// - Throws: `ValidationError` for a value that is out of range or does not parse.
    func configuration() throws -> MockServerConfiguration {
        let environment = ProcessInfo.processInfo.environment
        var configuration = MockServerConfiguration()
        configuration.host = host ?? environment["IOTC_MOCK_HOST"] ?? configuration.host
        if let value = try Self.integer(port, "IOTC_MOCK_PORT", in: 0...65535, what: "the port") { configuration.port = value }
        configuration.dataDirectory = dataDir ?? environment["IOTC_MOCK_DATA_DIR"] ?? configuration.dataDirectory
        configuration.inMemory = try inMemory || Self.boolean(environment["IOTC_MOCK_IN_MEMORY"], name: "IOTC_MOCK_IN_MEMORY")
        configuration.fixturesDirectory = fixtures ?? environment["IOTC_MOCK_FIXTURES"]
        configuration.fixture = fixture ?? environment["IOTC_MOCK_FIXTURE"] ?? configuration.fixture
        configuration.tlsCertificatePath = tlsCert ?? environment["IOTC_MOCK_TLS_CERT"]
        configuration.tlsPrivateKeyPath = tlsKey ?? environment["IOTC_MOCK_TLS_KEY"]
        configuration.tlsNames = tlsName.isEmpty
            ? (environment["IOTC_MOCK_TLS_NAMES"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            : tlsName

        configuration.dropIn = try dropIn || Self.boolean(environment["IOTC_MOCK_DROP_IN"], name: "IOTC_MOCK_DROP_IN")
        // The variable may be set for a whole CI job; only the flag without --drop-in is a mistake.
        if dropInPort != nil, !configuration.dropIn { throw ValidationError("--drop-in-port applies to drop-in mode only: add --drop-in") }
        if configuration.dropIn, let value = try Self.integer(dropInPort, "IOTC_MOCK_DROP_IN_PORT", in: 0...65535, what: "the drop-in port") {
            configuration.dropInPort = value
        }
        if let value = try Self.integer(tokenLifetime, "IOTC_MOCK_TOKEN_LIFETIME", in: 60...86_400, what: "the token lifetime in seconds") {
            configuration.tokenLifetime = value
        }
        if let value = try Self.integer(stopGrace, "IOTC_MOCK_STOP_GRACE", in: 0...600, what: "the stop grace period in seconds") {
            configuration.stopGraceSeconds = value
        }
        if let value = try Self.integer(maxConnections, "IOTC_MOCK_MAX_CONNECTIONS", in: 1...1_000_000, what: "the connection limit") {
            configuration.maxConnections = value
        }
        if let value = try Self.integer(maxRoleAssignments, "IOTC_MOCK_MAX_ROLE_ASSIGNMENTS", in: 1...1_000_000, what: "the role assignment limit") {
            configuration.maxRoleAssignments = value
        }
        if controlKey == "" { throw ValidationError("--control-key must not be empty (leave it out for a loopback-only control plane)") }
        configuration.controlKey = controlKey ?? environment["IOTC_MOCK_CONTROL_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        // A header value cannot carry leading or trailing white space or control characters: such a key could never match.
        if let key = configuration.controlKey, !key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            throw ValidationError("the control key must be printable ASCII without spaces")
        }
        if try throttle || Self.boolean(environment["IOTC_MOCK_THROTTLE"], name: "IOTC_MOCK_THROTTLE") {
            configuration.throttleRequestsPerSecond = 20
        }
        let formatText = logFormat ?? environment["IOTC_MOCK_LOG_FORMAT"] ?? "text"
        guard let format = RequestLog.Format(rawValue: formatText.lowercased()) else {
            throw ValidationError("the log format must be text or json, not '\(formatText)'")
        }
        configuration.logFormat = try quiet || Self.boolean(environment["IOTC_MOCK_QUIET"], name: "IOTC_MOCK_QUIET") ? nil : format
        return configuration
    }

    /// An integer option: the flag's value, else the environment variable `name` (unset or empty: nil).
    /// - Throws: `ValidationError` when the variable is not a decimal integer or the value lies outside `range`.
    static func integer(_ flag: Int?, _ name: String, in range: ClosedRange<Int>, what: String) throws -> Int? {
        var value = flag
        if value == nil, let text = ProcessInfo.processInfo.environment[name], !text.isEmpty {
            guard let parsed = Int(text) else { throw ValidationError("\(name) must be an integer, not '\(text)'") }
            value = parsed
        }
        guard let value else { return nil }
        guard range.contains(value) else { throw ValidationError("\(what) must be from \(range.lowerBound) to \(range.upperBound), not \(value)") }
        return value
    }

    /// Reads a boolean environment variable: unset or empty is false; 1/true/yes/on and 0/false/no/off in any case.
    /// - Throws: `ValidationError` for anything else, so a typo is not silently "off".
    static func boolean(_ value: String?, name: String) throws -> Bool {
        guard let value = value?.lowercased(), !value.isEmpty else { return false }
        if ["1", "true", "yes", "on"].contains(value) { return true }
        if ["0", "false", "no", "off"].contains(value) { return false }
        throw ValidationError("\(name) must be 1/true/yes/on or 0/false/no/off, not '\(value)'")
    }
}

/// `iotc-mock serve`: runs the emulator in the foreground until SIGINT or SIGTERM.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the emulator (the default command).",
        discussion: """
            On start the server prints one line on standard output:
              iotc-mock ready url=http://127.0.0.1:8765 https-url=https://127.0.0.1:8765 certificate=<path> application=<id> subdomain=<name> token=<admin token>
            The port speaks both http and https. Then one line per request goes to standard error (--quiet: none).
            """)

    @OptionGroup var options: Options

    func run() throws {
        let configuration = try options.configuration()
        // Catch the signals before the ready line: a script may send SIGTERM the moment it has read it.
        let (termination, signalSources) = Self.terminationSignal()
        if try options.exitWithParent || Options.boolean(ProcessInfo.processInfo.environment["IOTC_MOCK_EXIT_WITH_PARENT"], name: "IOTC_MOCK_EXIT_WITH_PARENT") {
            Self.watchParent(termination)
        }
        let server: MockServer
        do {
            server = try MockServer(configuration: configuration)
            for warning in try server.start() {
                FileHandle.standardError.write(Data("iotc-mock: warning: \(warning)\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("iotc-mock: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if configuration.logFormat != nil {
            FileHandle.standardError.write(Data("iotc-mock: up to \(server.maxConnections) connection\(server.maxConnections == 1 ? "" : "s") per port (descriptor limit \(MockServer.descriptorLimit ?? 0))\n".utf8))
        }
        FileHandle.standardOutput.write(Data((server.readyLine() + "\n").utf8))
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { ResidentMemory.releaseStartUpPages() }
        termination.wait()
        signalSources.forEach { $0.cancel() }
        // Requests in progress are answered first, for up to the grace period (and what begins meanwhile gets 503);
        // a handler still running 2 s after that (it cannot be interrupted) does not keep the process alive.
        // A grace period of 0 still answers (503) what has arrived; it only lets nothing in progress finish.
        let grace = max(Double(configuration.stopGraceSeconds), 0.01)
        DispatchQueue.global().asyncAfter(deadline: .now() + grace + 2) { _exit(0) }
        server.stop(gracePeriod: grace)
    }

    /// Signals `done` when the parent process ends (this process is then adopted, and its parent id changes);
    /// checked twice a second.
    static func watchParent(_ done: DispatchSemaphore) {
        let parent = getppid()
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now(), repeating: .milliseconds(500))
        timer.setEventHandler {
            if getppid() != parent {
                timer.cancel()
                done.signal()
            }
        }
        timer.resume()
    }

    /// Starts catching SIGINT and SIGTERM; the semaphore is signalled when one arrives. Keep the sources alive
    /// until then.
    static func terminationSignal() -> (DispatchSemaphore, [any DispatchSourceSignal]) {
        let done = DispatchSemaphore(value: 0)
        let sources = [SIGINT, SIGTERM].map { signalNumber -> any DispatchSourceSignal in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { done.signal() }
            source.resume()
            return source
        }
        return (done, sources)
    }
}

/// `iotc-mock token`: prints, in the JSON form of `az account get-access-token`, an access token of the mock
/// Entra ID for a service principal or user of its directory, signed with the server's key (the same data folder),
/// so shell scripts can follow the real steps without a network call.
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print an Entra access token as `az account get-access-token` would.")

    @OptionGroup var options: Options

    @Option(help: "Service principal: app (client) id, object id or display name from fixtures/entra.json.")
    var servicePrincipal: String?

    @Option(help: "User principal name from fixtures/entra.json, e.g. admin@iotc-mock.example.")
    var user: String?

    @Option(help: "The resource: https://apps.azureiotcentral.com, or Azure Resource Manager's https://management.core.windows.net/ or https://management.azure.com/. (default: IoT Central's)")
    var resource: String = EntraService.resource

    func validate() throws {
        guard (servicePrincipal == nil) != (user == nil) else { throw ValidationError("name exactly one of --service-principal and --user") }
        guard EntraResource.named(resource) != nil else {
            throw ValidationError("the mock issues tokens for \(EntraResource.allCases.map(\.rawValue).joined(separator: ", ")) only")
        }
    }

    func run() throws {
        let configuration = try options.configuration()
        // The token must be signed with the key of the server that will check it: its data folder must exist.
        guard configuration.inMemory || FileManager.default.fileExists(atPath: configuration.databasePath) else {
            throw ValidationError("no iotc-mock data folder at \(configuration.dataDirectory); start the server first, or pass its --data-dir (or --in-memory)")
        }
        guard let entra = try MockServer.entraService(configuration: configuration) else {
            throw ValidationError("the fixtures folder has no entra.json")
        }
        guard let name = servicePrincipal ?? user, let (token, claims) = entra.issueToken(for: name, resource: EntraResource.named(resource) ?? .iotCentral) else {
            throw ValidationError("no \(servicePrincipal != nil ? "service principal" : "user") named '\(servicePrincipal ?? user ?? "")' in the directory")
        }
        let expires = Date(timeIntervalSince1970: TimeInterval(claims.exp))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSSSSS"
        let output: [String: Any] = [
            "accessToken": token, "expiresOn": formatter.string(from: expires), "expires_on": claims.exp,
            "subscription": entra.directory.tenant(id: claims.tid)?.subscriptions.first?.subscriptionId ?? "00000000-0000-0000-0000-000000000000",
            "tenant": claims.tid, "tokenType": "Bearer",
        ]
        let data = try JSONSerialization.data(withJSONObject: output, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

/// `iotc-mock permissions`: prints `docs/permissions.md`, the operation × built-in role table, generated from the
/// operation catalog and `fixtures/roles.json` (`make docs` writes it).
struct Permissions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the operation × role permissions table as Markdown.")

    @Option(help: "Folder of fixture files read before the built-in ones. [env: IOTC_MOCK_FIXTURES] (default: none)")
    var fixtures: String?

    func run() throws {
        var configuration = MockServerConfiguration()
        configuration.fixturesDirectory = fixtures ?? ProcessInfo.processInfo.environment["IOTC_MOCK_FIXTURES"]
        let fixture: Fixture
        do { fixture = try Fixture.load(files: configuration.fixtureFiles(), name: "default") } catch {
            throw ValidationError("fixture: \(error)")
        }
        FileHandle.standardOutput.write(Data(PermissionsDocument.markdown(fixture: fixture).utf8))
    }
}

/// Where a running server is, for the commands that talk to it (`app`, `health`).
struct ClientOptions: ParsableArguments {
    @Option(help: "Base http:// URL of the running server. [env: IOTC_MOCK_URL] (default: http://127.0.0.1:$IOTC_MOCK_PORT, else port 8765)")
    var url: String?

    @Option(help: "The server's control key, if it was started with one. [env: IOTC_MOCK_CONTROL_KEY]")
    var controlKey: String?

    func client() throws -> ControlClient {
        let environment = ProcessInfo.processInfo.environment
        let base = url ?? environment["IOTC_MOCK_URL"] ?? "http://127.0.0.1:\(environment["IOTC_MOCK_PORT"] ?? "8765")"
        guard let parsed = URL(string: base), parsed.scheme == "http", parsed.host != nil else {
            throw ValidationError("the server URL must be plain http, like http://127.0.0.1:8765, not '\(base)' (the same port serves both)")
        }
        return ControlClient(baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base,
                             controlKey: controlKey ?? environment["IOTC_MOCK_CONTROL_KEY"].flatMap { $0.isEmpty ? nil : $0 })
    }
}

/// `iotc-mock app create|list|delete|reset`: the applications of a running server (`/_mock/apps`).
struct AppCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app", abstract: "Create, list, delete or reset applications of a running server.",
        subcommands: [Create.self, List.self, Delete.self, Reset.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an application from a fixture; prints its id, subdomain, url and admin token as JSON.")
        @OptionGroup var client: ClientOptions
        @Option(help: "Fixture to seed it from (fixtures/<name>.json). [env: IOTC_MOCK_APP_FIXTURE] (default: the server's)")
        var fixture: String?
        @Option(help: "Its host label, e.g. team-a for team-a.localhost. [env: IOTC_MOCK_APP_SUBDOMAIN] (default: app-<8 hex digits>)")
        var subdomain: String?
        @Option(help: "A port of its own, where the server serves this application alone; 0 picks a free one. [env: IOTC_MOCK_APP_PORT] (default: the fixture's, else none)")
        var port: Int?

        func run() throws {
            let environment = ProcessInfo.processInfo.environment
            var members: [String: Any] = [:]
            members["fixture"] = fixture ?? environment["IOTC_MOCK_APP_FIXTURE"]
            members["subdomain"] = subdomain ?? environment["IOTC_MOCK_APP_SUBDOMAIN"]
            members["port"] = try Options.integer(port, "IOTC_MOCK_APP_PORT", in: 0...65535, what: "the port")
            let body = try JSONSerialization.data(withJSONObject: members)
            try client.client().call("POST", "/_mock/apps", body: body, expecting: 201)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the applications as JSON.")
        @OptionGroup var client: ClientOptions
        func run() throws { try client.client().call("GET", "/_mock/apps", expecting: 200) }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an application and everything in it.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The application's id or subdomain.") var application: String
        func run() throws { try client.client().call("DELETE", "/_mock/apps/\(ControlClient.escaped(application))", expecting: 204) }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put an application back into its fixture's state; tokens made since stop working.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The application's id or subdomain.") var application: String
        func run() throws { try client.client().call("POST", "/_mock/apps/\(ControlClient.escaped(application))/reset", expecting: 200) }
    }
}

/// `iotc-mock health`: exit 0 when the server answers `GET /_mock/health` with 200, else 1 (for scripts and
/// container health checks).
struct Health: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Exit 0 when a running server is ready, 1 otherwise.")
    @OptionGroup var client: ClientOptions
    @Option(help: "Keep asking for up to this many seconds until it is ready. [env: IOTC_MOCK_WAIT] (default: 0, ask once)")
    var wait: Double?

    func run() throws {
        var seconds = wait ?? 0
        if wait == nil, let text = ProcessInfo.processInfo.environment["IOTC_MOCK_WAIT"], !text.isEmpty {
            guard let value = Double(text) else { throw ValidationError("IOTC_MOCK_WAIT must be a number of seconds, not '\(text)'") }
            seconds = value
        }
        guard (0...3600).contains(seconds) else { throw ValidationError("--wait must be from 0 to 3600 seconds") }
        let client = try client.client()
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        repeat {
            let (status, body) = client.request("GET", "/_mock/health", timeout: 2)
            if status == 200 {
                FileHandle.standardOutput.write(body + Data("\n".utf8))
                return
            }
            last = status == 0 ? String(decoding: body, as: UTF8.self) : "status \(status)"
            if Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        } while Date() < deadline
        FileHandle.standardError.write(Data("iotc-mock: not ready at \(client.baseURL): \(last)\n".utf8))
        throw ExitCode(1)
    }
}
