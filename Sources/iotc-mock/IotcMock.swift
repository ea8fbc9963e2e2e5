import ArgumentParser
import Entra
import Foundation
import Central
import MockServer

/// `iotc-mock`: the IoT Central emulator. `serve` (the default) runs it; `token` prints an Entra access token.
@main
struct IotcMock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iotc-mock",
        abstract: "An offline emulator of Azure IoT Central's API tokens, users and roles REST API, with a mock Entra ID.",
        subcommands: [Serve.self, Token.self, Permissions.self],
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

    @Flag(help: "Keep all state in memory; nothing is written to disk. [env: IOTC_MOCK_IN_MEMORY=1]")
    var inMemory = false

    @Option(help: "Folder with roles.json and application fixtures. [env: IOTC_MOCK_FIXTURES] (default: ./fixtures)")
    var fixtures: String?

    @Option(help: "Fixture that seeds an empty store: fixtures/<name>.json. [env: IOTC_MOCK_FIXTURE] (default: default)")
    var fixture: String?

    @Option(help: "PEM certificate chain to present over https (with --tls-key). [env: IOTC_MOCK_TLS_CERT] (default: a self-signed one in <data-dir>/tls)")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert. [env: IOTC_MOCK_TLS_KEY]")
    var tlsKey: String?

    @Option(help: "Extra DNS name or IP address for the self-signed certificate; repeatable. [env: IOTC_MOCK_TLS_NAMES, comma-separated]")
    var tlsName: [String] = []

    @Option(help: "Lifetime of issued Entra access tokens, in seconds. [env: IOTC_MOCK_TOKEN_LIFETIME] (default: 3599)")
    var tokenLifetime: Int?

    @Option(help: "Most role assignments the users of one application may hold together. [env: IOTC_MOCK_MAX_ROLE_ASSIGNMENTS] (default: 200)")
    var maxRoleAssignments: Int?

    /// The configuration these flags and the environment describe.
    /// - Throws: `ValidationError` for a value that is out of range or does not parse.
    func configuration() throws -> MockServerConfiguration {
        let environment = ProcessInfo.processInfo.environment
        var configuration = MockServerConfiguration()
        configuration.host = host ?? environment["IOTC_MOCK_HOST"] ?? configuration.host
        if let port {
            configuration.port = port
        } else if let text = environment["IOTC_MOCK_PORT"] {
            guard let value = Int(text) else { throw ValidationError("IOTC_MOCK_PORT must be a port number, not '\(text)'") }
            configuration.port = value
        }
        guard (0...65535).contains(configuration.port) else {
            throw ValidationError("the port must be from 0 to 65535, not \(configuration.port)")
        }
        configuration.dataDirectory = dataDir ?? environment["IOTC_MOCK_DATA_DIR"] ?? configuration.dataDirectory
        configuration.inMemory = try inMemory || Self.boolean(environment["IOTC_MOCK_IN_MEMORY"], name: "IOTC_MOCK_IN_MEMORY")
        configuration.fixturesDirectory = fixtures ?? environment["IOTC_MOCK_FIXTURES"]
        configuration.fixture = fixture ?? environment["IOTC_MOCK_FIXTURE"] ?? configuration.fixture
        configuration.tlsCertificatePath = tlsCert ?? environment["IOTC_MOCK_TLS_CERT"]
        configuration.tlsPrivateKeyPath = tlsKey ?? environment["IOTC_MOCK_TLS_KEY"]
        configuration.tlsNames = tlsName.isEmpty
            ? (environment["IOTC_MOCK_TLS_NAMES"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            : tlsName

        if let value = tokenLifetime ?? environment["IOTC_MOCK_TOKEN_LIFETIME"].flatMap(Int.init) {
            guard (60...86_400).contains(value) else { throw ValidationError("the token lifetime must be from 60 to 86400 seconds, not \(value)") }
            configuration.tokenLifetime = value
        } else if let text = environment["IOTC_MOCK_TOKEN_LIFETIME"] {
            throw ValidationError("IOTC_MOCK_TOKEN_LIFETIME must be a number of seconds, not '\(text)'")
        }
        if let value = try maxRoleAssignments ?? environment["IOTC_MOCK_MAX_ROLE_ASSIGNMENTS"].map({ text in
            guard let value = Int(text) else { throw ValidationError("IOTC_MOCK_MAX_ROLE_ASSIGNMENTS must be a number, not '\(text)'") }
            return value
        }) {
            guard (1...1_000_000).contains(value) else { throw ValidationError("the role assignment limit must be from 1 to 1000000, not \(value)") }
            configuration.maxRoleAssignments = value
        }
        return configuration
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
            On start the server prints one line:
              iotc-mock ready url=http://127.0.0.1:8765 https-url=https://127.0.0.1:8765 certificate=<path> application=<id> subdomain=<name> token=<admin token>
            The port speaks both http and https.
            """)

    @OptionGroup var options: Options

    func run() throws {
        let configuration = try options.configuration()
        // Catch the signals before the ready line: a script may send SIGTERM the moment it has read it.
        let (termination, signalSources) = Self.terminationSignal()
        let server: MockServer
        do {
            server = try MockServer(configuration: configuration)
            try server.start()
        } catch {
            FileHandle.standardError.write(Data("iotc-mock: \(error)\n".utf8))
            throw ExitCode(1)
        }
        FileHandle.standardOutput.write(Data((server.readyLine() + "\n").utf8))
        termination.wait()
        signalSources.forEach { $0.cancel() }
        // Requests in progress are answered first, for up to 10 s; a handler still running 2 s after that (it
        // cannot be interrupted) does not keep the process alive.
        DispatchQueue.global().asyncAfter(deadline: .now() + 12) { _exit(0) }
        server.stop(gracePeriod: 10)
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

    @Option(help: "Must name https://apps.azureiotcentral.com, the one resource of the mock. (default: that resource)")
    var resource: String = EntraService.resource

    func validate() throws {
        guard (servicePrincipal == nil) != (user == nil) else { throw ValidationError("name exactly one of --service-principal and --user") }
        var normalized = resource.lowercased()
        while normalized.hasSuffix("/") { normalized.removeLast() }
        guard normalized == EntraService.resource else { throw ValidationError("the mock issues tokens for \(EntraService.resource) only") }
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
        guard let name = servicePrincipal ?? user, let (token, claims) = entra.issueToken(for: name) else {
            throw ValidationError("no \(servicePrincipal != nil ? "service principal" : "user") named '\(servicePrincipal ?? user ?? "")' in the directory")
        }
        let expires = Date(timeIntervalSince1970: TimeInterval(claims.exp))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSSSSS"
        let output: [String: Any] = [
            "accessToken": token, "expiresOn": formatter.string(from: expires), "expires_on": claims.exp,
            "subscription": "00000000-0000-0000-0000-000000000000", "tenant": claims.tid, "tokenType": "Bearer",
        ]
        let data = try JSONSerialization.data(withJSONObject: output, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

/// `iotc-mock permissions`: prints `docs/permissions.md`, the operation × built-in role table, generated from the
/// operation catalog and `fixtures/roles.json` (`make docs` writes it).
struct Permissions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the operation × role permissions table as Markdown.")

    @Option(help: "Folder with roles.json. [env: IOTC_MOCK_FIXTURES] (default: ./fixtures)")
    var fixtures: String?

    func run() throws {
        var configuration = MockServerConfiguration()
        configuration.fixturesDirectory = fixtures ?? ProcessInfo.processInfo.environment["IOTC_MOCK_FIXTURES"]
        guard let directory = configuration.resolvedFixturesDirectory() else {
            throw ValidationError("cannot find the fixtures folder (roles.json); pass --fixtures DIR")
        }
        let fixture: Fixture
        do { fixture = try Fixture.load(directory: directory, name: "default") } catch {
            throw ValidationError("fixture: \(error)")
        }
        FileHandle.standardOutput.write(Data(PermissionsDocument.markdown(fixture: fixture).utf8))
    }
}
