import Foundation
import Testing

/// The trust file a running server's https depends on never changes under it: two servers on one data folder, two
/// `--in-memory` servers with different `--tls-name`, and a second start that fails all leave every running
/// server's https working, checked with curl against the ready line's `certificate=`.
@Suite(
    .serialized,
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") && FileManager.default.isExecutableFile(atPath: Paths.binary.path),
             "needs curl and the built binary (make test provides both)"))
struct CertificateAuthorityTests {
    static func folder(_ tag: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-\(tag)-\(UUID().uuidString)")
    }

    /// The HTTP status curl gets over https from `name` (resolved to 127.0.0.1) on `port`, trusting only `trust`;
    /// 0 when the handshake or verification fails.
    static func httpsStatus(port: Int, trust: String, name: String = "localhost") throws -> Int {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", trust,
                          "--resolve", "\(name):\(port):127.0.0.1", "https://\(name):\(port)/_mock/health"]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        let code = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        return Int(code) ?? 0
    }

    @Test func twoServersOnOneDataFolderWithOtherNamesBothKeepWorkingHTTPS() throws {
        let data = Self.folder("tls-shared")
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try MockProcess(dataDirectory: data, extraArguments: ["--tls-name", "one.test"])
        defer { first.terminate() }
        let trust = try #require(first.field("certificate"))
        #expect(trust == data.appendingPathComponent("tls/ca.pem").path)
        let second = try MockProcess(dataDirectory: data, extraArguments: ["--tls-name", "two.test"])
        defer { second.terminate() }
        #expect(second.field("certificate") == trust)
        let one = try #require(first.port), two = try #require(second.port)
        #expect(try Self.httpsStatus(port: one, trust: trust) == 200)
        #expect(try Self.httpsStatus(port: one, trust: trust, name: "one.test") == 200)
        #expect(try Self.httpsStatus(port: two, trust: trust, name: "two.test") == 200)
        #expect(try Self.httpsStatus(port: one, trust: trust, name: "two.test") == 0, "the first server does not present the second's name")
    }

    @Test func twoInMemoryServersWithDifferentNamesBothKeepWorkingHTTPS() throws {
        let temporary = Self.folder("tmpdir")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temporary) }
        let environment = ["TMPDIR": temporary.path]
        let first = try MockProcess(dataDirectory: temporary, extraArguments: ["--in-memory", "--tls-name", "alpha.test"], environment: environment)
        defer { first.terminate() }
        let second = try MockProcess(dataDirectory: temporary, extraArguments: ["--in-memory", "--tls-name", "beta.test"], environment: environment)
        defer { second.terminate() }
        let trust = try #require(first.field("certificate"))
        #expect(trust.hasPrefix(temporary.path + "/iotc-mock-tls-\(getuid())/"))
        #expect(second.field("certificate") == trust)
        #expect(try Self.httpsStatus(port: try #require(first.port), trust: trust, name: "alpha.test") == 200)
        #expect(try Self.httpsStatus(port: try #require(second.port), trust: trust, name: "beta.test") == 200)
    }

    @Test func aSecondStartThatFailsLeavesTheRunningServersHTTPSWorking() throws {
        let data = Self.folder("tls-failed")
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try MockProcess(dataDirectory: data)
        defer { first.terminate() }
        let port = try #require(first.port)
        let trust = try #require(first.field("certificate"))
        let before = try Data(contentsOf: URL(fileURLWithPath: trust))
        for extra in [[String](), ["--tls-name", "late.test"]] {
            let clash = Process()
            clash.executableURL = Paths.binary
            clash.arguments = ["--port", String(port), "--data-dir", data.path] + extra
            clash.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            clash.standardError = errors
            try clash.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            clash.waitUntilExit()
            #expect(clash.terminationStatus == 1)
            #expect(message.contains("address already in use"), "\(message)")
            #expect(try Self.httpsStatus(port: port, trust: trust) == 200, "after a failed start with \(extra)")
        }
        // Without a new name the trust file was not touched at all; with one it only grew.
        #expect(try Data(contentsOf: URL(fileURLWithPath: trust)).starts(with: before))
    }

    @Test func aRunningServerKeepsVerifyingHoweverManyStartsWithNewNamesComeAfterIt() throws {
        let data = Self.folder("tls-many")
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try MockProcess(dataDirectory: data, extraArguments: ["--tls-name", "first.test"])
        defer { first.terminate() }
        let port = try #require(first.port)
        let trust = try #require(first.field("certificate"))
        // Twenty starts, each with a name no authority permits yet, each failing on the busy port: every one makes
        // an authority, more than the bundle keeps, but the running server's stays.
        for index in 0..<20 {
            let clash = Process()
            clash.executableURL = Paths.binary
            clash.arguments = ["--port", String(port), "--data-dir", data.path, "--quiet", "--tls-name", "n\(index).test"]
            clash.standardOutput = FileHandle.nullDevice
            clash.standardError = FileHandle.nullDevice
            try clash.run()
            clash.waitUntilExit()
            #expect(clash.terminationStatus == 1)
        }
        #expect(try Self.httpsStatus(port: port, trust: trust, name: "first.test") == 200)
        let authorities = try String(contentsOfFile: trust, encoding: .utf8).components(separatedBy: "BEGIN CERTIFICATE").count - 1
        #expect(authorities <= 17, "the bundle keeps 16 besides the ones in use, not \(authorities)")
        let second = try MockProcess(dataDirectory: data, extraArguments: ["--tls-name", "last.test"])
        defer { second.terminate() }
        #expect(try Self.httpsStatus(port: try #require(second.port), trust: trust, name: "last.test") == 200)
        #expect(try Self.httpsStatus(port: port, trust: trust, name: "first.test") == 200)
    }
}
