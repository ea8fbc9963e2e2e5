import Foundation
import Testing

@testable import Central
@testable import MockServer

/// The data folder: its files are private whatever the folder's mode, a folder the server cannot use safely is
/// refused at start with a message that names it, the problem and the fix, and losing it while the server runs is
/// noticed (writes and health answer 503, a line goes to standard error) instead of acknowledging writes that the
/// next start would not find.
@Suite(.serialized) struct DataFolderTests {
    static func folder(mode: mode_t = 0o755) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        chmod(url.path, mode)
        return url
    }

    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    /// Starts the binary on `data` and returns its first standard-output line and everything on standard error
    /// up to then; stops it.
    static func startAndStop(_ arguments: [String], user: String? = nil, environment: [String: String] = [:]) throws -> (ready: String, errors: String, status: Int32) {
        let process = Process()
        if let user {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", Paths.binary.path] + arguments
        } else {
            process.executableURL = Paths.binary
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("IOTC_MOCK_") }.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var line: [UInt8] = []
        while let byte = out.fileHandleForReading.readData(ofLength: 1).first, byte != 10 { line.append(byte) }
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (String(decoding: line, as: UTF8.self), errors, process.terminationStatus)
    }

    @Test func theDatabaseFilesArePrivateInAFolderOthersCanRead() throws {
        let data = try Self.folder(mode: 0o755)
        defer { try? FileManager.default.removeItem(at: data) }
        let run = try Self.startAndStop(["--port", "0", "--data-dir", data.path, "--fixtures", Paths.fixtures.path])
        #expect(run.ready.hasPrefix("iotc-mock ready "), "\(run.errors)")
        #expect(run.errors.contains("warning: the data folder \(data.path) can be read by others (mode 755)"), "\(run.errors)")
        for name in ["iotc-mock.sqlite3", "iotc-mock.sqlite3-wal", "iotc-mock.sqlite3-shm", "entra-signing-key.pem", "tls/ca-key.pem"] {
            let path = data.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: path) { #expect(Self.mode(path) == 0o600, "\(name): \(String(Self.mode(path), radix: 8))") }
        }
        #expect(Self.mode(data.appendingPathComponent("iotc-mock.sqlite3").path) == 0o600)
        // A folder the server made itself is private and draws no warning.
        let own = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-own-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: own) }
        let quiet = try Self.startAndStop(["--port", "0", "--data-dir", own.path, "--fixtures", Paths.fixtures.path])
        #expect(!quiet.errors.contains("warning") && Self.mode(own.path) == 0o700, "\(quiet.errors)")
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
    func aForeignOrReadOnlyDataFolderIsRefusedWithTheFix() throws {
        let foreign = try Self.folder(mode: 0o700)
        defer { try? FileManager.default.removeItem(at: foreign) }
        chown(foreign.path, 65534, 65534)
        let refused = try Self.startAndStop(["--port", "0", "--data-dir", foreign.path])
        #expect(refused.status == 1 && refused.errors.contains("the data folder \(foreign.path) belongs to the user with uid 65534"), "\(refused.errors)")
        #expect(refused.errors.contains("chown"))
        // Read-only, for its own user (root would write anyway).
        let readOnly = try Self.folder(mode: 0o500)
        defer { try? FileManager.default.removeItem(at: readOnly) }
        chown(readOnly.path, 65534, 65534)
        let denied = try Self.startAndStop(["--port", "0", "--data-dir", readOnly.path], user: "65534")
        #expect(denied.status == 1 && denied.errors.contains("the data folder \(readOnly.path) is read-only"), "\(denied.errors)")
        #expect(denied.errors.contains("chmod u+w"))
    }

    @Test func aDataFolderOthersCouldChangeOrAPlantedFileIsRefused() throws {
        let fixtures = ["--port", "0", "--fixtures", Paths.fixtures.path]
        // A file where the folder should be.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-file-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: file.path, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(at: file) }
        let notFolder = try Self.startAndStop(fixtures + ["--data-dir", file.path])
        #expect(notFolder.status == 1 && notFolder.errors.contains("the data folder \(file.path) is a file, not a folder"), "\(notFolder.errors)")
        // Any user could replace its files: refused. Its group only: a warning.
        let open = try Self.folder(mode: 0o777)
        defer { try? FileManager.default.removeItem(at: open) }
        chmod(open.path, 0o777)
        let refused = try Self.startAndStop(fixtures + ["--data-dir", open.path])
        #expect(refused.status == 1 && refused.errors.contains("can be written by any user (mode 777)") && refused.errors.contains("chmod 700"), "\(refused.errors)")
        #expect(!FileManager.default.fileExists(atPath: open.appendingPathComponent("iotc-mock.sqlite3").path))
        let group = try Self.folder(mode: 0o770)
        defer { try? FileManager.default.removeItem(at: group) }
        chmod(group.path, 0o770)
        let warned = try Self.startAndStop(fixtures + ["--data-dir", group.path])
        #expect(warned.ready.hasPrefix("iotc-mock ready ") && warned.errors.contains("can be written by its group (mode 770)"), "\(warned.errors)")
        // A database file or a signing key that is a symbolic link (writes would go to its target): refused.
        for name in ["iotc-mock.sqlite3-wal", "entra-signing-key.pem"] {
            let data = try Self.folder(mode: 0o700)
            defer { try? FileManager.default.removeItem(at: data) }
            let target = data.appendingPathComponent("elsewhere")
            _ = FileManager.default.createFile(atPath: target.path, contents: Data())
            try FileManager.default.createSymbolicLink(atPath: data.appendingPathComponent(name).path, withDestinationPath: target.path)
            let linked = try Self.startAndStop(fixtures + ["--data-dir", data.path])
            #expect(linked.status == 1 && linked.errors.contains("\(data.appendingPathComponent(name).path) is a symbolic link"), "\(name): \(linked.errors)")
            #expect(try Data(contentsOf: target).isEmpty)
        }
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
    func aDataFolderThatCannotBeCreatedSaysWhy() throws {
        let parent = try Self.folder(mode: 0o755)
        defer { try? FileManager.default.removeItem(at: parent) }
        let data = parent.appendingPathComponent("data").path
        let denied = try Self.startAndStop(["--port", "0", "--data-dir", data], user: "65534")
        #expect(denied.status == 1 && denied.errors.contains("the data folder \(data) cannot be created: this user (uid 65534) may not write in \(parent.path)"), "\(denied.errors)")
        #expect(denied.errors.contains("mkdir -p \(data)"))
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"), "needs root and unshare"))
    func aDataFolderOnAReadOnlyFileSystemSaysSo() throws {
        let mountPoint = try Self.folder(mode: 0o700)
        defer { try? FileManager.default.removeItem(at: mountPoint) }
        // A read-only file system, mounted in a private mount namespace only this run sees.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["--mount", "sh", "-c", "mount -t tmpfs -o ro,mode=700 none \"$1\" && exec \"$2\" --port 0 --data-dir \"$1/data\"", "sh", mountPoint.path, Paths.binary.path]
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("IOTC_MOCK_") }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1 && errors.contains("cannot be created: the file system is read-only") && errors.contains("--in-memory"), "\(errors)")
    }

    @Test(.enabled(if: getuid() == 0, "needs root to make another user's folder"))
    func anotherUsersCertificateFolderInTheTemporaryFolderIsRefusedWithTheFix() throws {
        let temporary = try Self.folder(mode: 0o1777)
        defer { try? FileManager.default.removeItem(at: temporary) }
        let planted = temporary.appendingPathComponent("iotc-mock-tls-\(getuid())")
        try FileManager.default.createDirectory(at: planted, withIntermediateDirectories: false)
        chown(planted.path, 65534, 65534)
        let refused = try Self.startAndStop(["--port", "0", "--in-memory", "--fixtures", Paths.fixtures.path], environment: ["TMPDIR": temporary.path])
        #expect(refused.status == 1 && refused.errors.contains("the TLS folder \(planted.path) belongs to the user with uid 65534"), "\(refused.errors)")
        #expect(refused.errors.contains("with --in-memory, set TMPDIR to a folder of yours"), "\(refused.errors)")
    }

    func persistentServer(_ data: URL) throws -> MockServer {
        try startServer { $0.inMemory = false; $0.dataDirectory = data.path }
    }

    @Test func aDataFolderDeletedWhileTheServerRunsIsNoticed() throws {
        let data = try Self.folder(mode: 0o700)
        let server = try persistentServer(data)
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let body = #"{"roles":[{"role":"ae2c9854-393b-4f97-8c42-479d70ce626e"}]}"#
        #expect(try client.request("PUT", "/api/apiTokens/before?api-version=2022-07-31", token: admin, body: body).status == 200)
        try FileManager.default.removeItem(at: data)
        let lost = try client.request("PUT", "/api/apiTokens/after?api-version=2022-07-31", token: admin, body: body)
        expectEnvelope(lost, status: 503, code: "ServiceUnavailable")
        #expect(lost.text.contains("was deleted while the server ran"))
        let health = try client.request("GET", "/_mock/health")
        #expect(health.status == 503 && health.json["status"] == .string("failing") && health.json["reason"]?.stringValue?.contains("deleted") == true)
        let create = try client.request("POST", "/_mock/apps", body: "{}")
        #expect(create.status == 503 && create.json["error"]?["code"] == .string("ServiceUnavailable"), "\(create.text)")
        // Reads of what was stored still answer.
        #expect(try client.request("GET", "/api/apiTokens/before?api-version=2022-07-31", token: admin).status == 200)
    }

    @Test func aWriteAheadLogDeletedWhileTheServerRunsIsNoticed() throws {
        let data = try Self.folder(mode: 0o700)
        defer { try? FileManager.default.removeItem(at: data) }
        let server = try persistentServer(data)
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        try FileManager.default.removeItem(at: data.appendingPathComponent("iotc-mock.sqlite3-wal"))
        let lost = try client.request("DELETE", "/api/apiTokens/iotc-mock-admin?api-version=2022-07-31", token: admin)
        expectEnvelope(lost, status: 503, code: "ServiceUnavailable")
        #expect(lost.text.contains("iotc-mock.sqlite3-wal was deleted while the server ran"), "\(lost.text)")
        let health = try client.request("GET", "/_mock/health")
        #expect(health.status == 503 && health.json["reason"]?.stringValue?.contains("write-ahead log") == true)
    }

    @Test func aDatabaseFileReplacedWhileTheServerRunsIsNoticed() throws {
        let data = try Self.folder(mode: 0o700)
        defer { try? FileManager.default.removeItem(at: data) }
        let server = try persistentServer(data)
        defer { server.stop() }
        let database = data.appendingPathComponent("iotc-mock.sqlite3")
        try FileManager.default.moveItem(at: database, to: data.appendingPathComponent("moved.sqlite3"))
        _ = FileManager.default.createFile(atPath: database.path, contents: Data())
        let client = try RawHTTPClient(port: server.port)
        let lost = try client.request("DELETE", "/api/apiTokens/iotc-mock-admin?api-version=2022-07-31", token: server.wellKnownToken())
        #expect(lost.status == 503 && lost.text.contains("was replaced"), "\(lost.text)")
    }
}
