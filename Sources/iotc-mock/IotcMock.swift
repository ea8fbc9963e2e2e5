import ArgumentParser
import Foundation
import MockServer

/// `iotc-mock`: runs the IoT Central emulator in the foreground until SIGINT or SIGTERM.
@main
struct IotcMock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iotc-mock",
        abstract: "An offline emulator of Azure IoT Central's API tokens, users and roles REST API.",
        discussion: """
            Every option can also be set with the environment variable named after it (a flag given on the \
            command line wins). On start the server prints one line:
              iotc-mock ready url=http://127.0.0.1:8765 https-url=https://127.0.0.1:8765 certificate=<path> application=<id> subdomain=<name> token=<admin token>
            The port speaks both http and https.
            """)

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

    func run() throws {
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
        server.stop(gracePeriod: 10)  // requests in progress are answered before the process exits
    }

    /// Reads a boolean environment variable: unset or empty is false; 1/true/yes/on and 0/false/no/off in any case.
    /// - Throws: `ValidationError` for anything else, so a typo is not silently "off".
    static func boolean(_ value: String?, name: String) throws -> Bool {
        guard let value = value?.lowercased(), !value.isEmpty else { return false }
        if ["1", "true", "yes", "on"].contains(value) { return true }
        if ["0", "false", "no", "off"].contains(value) { return false }
        throw ValidationError("\(name) must be 1/true/yes/on or 0/false/no/off, not '\(value)'")
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
