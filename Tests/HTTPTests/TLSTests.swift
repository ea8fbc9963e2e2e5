#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import Foundation
import Testing

@testable import HTTP

/// A TLS client on OpenSSL that verifies the server like curl or Python would: against a CA file, for a name.
final class TLSTestClient {
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    private let fd: Int32
    let verified: Bool
    let alpn: String?

    enum Failure: Error { case connect, handshake(String) }

    /// Connects to 127.0.0.1:`port` and handshakes, verifying the certificate for `name` (a DNS name or IP).
    init(port: Int, caFile: String, name: String, maxVersion: Int32 = 0) throws {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw Failure.connect }
        self.context = context
        SSL_CTX_load_verify_locations(context, caFile, nil)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if maxVersion != 0 {
            _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_VERSION), nil)
            _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(maxVersion), nil)
            SSL_CTX_set_security_level(context, 0)
        }
        guard let ssl = SSL_new(context) else { SSL_CTX_free(context); throw Failure.connect }
        self.ssl = ssl
        let param = SSL_get0_param(ssl)
        if CertificateAuthority.isIPAddress(name) {
            X509_VERIFY_PARAM_set1_ip_asc(param, name)
        } else {
            X509_VERIFY_PARAM_set1_host(param, name, 0)
            _ = name.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
        }
        let protocols: [UInt8] = [8] + Array("http/1.1".utf8)
        _ = SSL_set_alpn_protos(ssl, protocols, UInt32(protocols.count))

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let rc = withSocketAddress(&address) { connect(fd, $0, $1) }
        guard rc == 0 else { throw Failure.connect }
        SSL_set_fd(ssl, fd)
        guard SSL_connect(ssl) == 1 else {
            let result = SSL_get_verify_result(ssl)
            throw Failure.handshake(String(cString: X509_verify_cert_error_string(result)))
        }
        verified = SSL_get_verify_result(ssl) == X509_V_OK
        var selected: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &selected, &length)
        alpn = selected.map { String(decoding: UnsafeBufferPointer(start: $0, count: Int(length)), as: UTF8.self) }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
        close(fd)
    }

    /// Sends `request` and reads until the server closes the connection.
    func exchange(_ request: String) -> String {
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if n <= 0 { break }
            out += buffer[0..<Int(n)]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

@Suite struct TLSTests {
    /// A new empty folder under the temporary directory; the caller removes it.
    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A server presenting a certificate issued by the authority of `folder` (a new folder by default); returns it,
    /// the trust bundle's path and the folder.
    static func makeServer(extraNames: [String] = [], in existing: URL? = nil) throws -> (HTTPServer, String, URL) {
        let folder = try existing ?? Self.temporaryFolder()
        let issued = try CertificateAuthority.issue(in: folder.path, extraNames: extraNames)
        var configuration = HTTPServerConfiguration()
        configuration.readTimeout = 2
        configuration.headerTimeout = 2
        configuration.tls = try TLSContext(issued)
        let server = HTTPServer(
            configuration: configuration,
            handler: { request in
                HTTPResponse(status: 200, headers: HTTPHeaders([("Connection", "close")]), body: Array("tls=\(request.isTLS)".utf8))
            },
            errorResponder: { HTTPResponse(status: $0.status) })
        try server.start()
        return (server, issued.trustBundlePath, folder)
    }

    @Test(arguments: ["localhost", "app.localhost", "127.0.0.1", "::1", "mock.test"])
    func theGeneratedCertificateVerifiesForEveryNameItPromises(_ name: String) throws {
        let (server, certificate, folder) = try Self.makeServer(extraNames: ["mock.test", "app.localhost"])
        defer { server.stop(); try? FileManager.default.removeItem(at: folder) }
        let client = try TLSTestClient(port: server.port, caFile: certificate, name: name)
        #expect(client.verified)
        #expect(client.alpn == "http/1.1")
        // An IPv6 literal goes in brackets in Host (RFC 3986 §3.2.2).
        let host = name.contains(":") ? "[\(name)]" : name
        let reply = client.exchange("GET /x HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(reply.hasSuffix("\r\n\r\ntls=true"))
    }

    @Test func aNameTheCertificateDoesNotCarryFailsVerification() throws {
        let (server, certificate, folder) = try Self.makeServer()
        defer { server.stop(); try? FileManager.default.removeItem(at: folder) }
        #expect(throws: TLSTestClient.Failure.self) { try TLSTestClient(port: server.port, caFile: certificate, name: "example.com") }
        // The failed handshake closed that connection only.
        let client = try TLSTestClient(port: server.port, caFile: certificate, name: "localhost")
        #expect(client.exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test func tls11IsRefusedAndTheServerCarriesOn() throws {
        let (server, certificate, folder) = try Self.makeServer()
        defer { server.stop(); try? FileManager.default.removeItem(at: folder) }
        #expect(throws: TLSTestClient.Failure.self) {
            try TLSTestClient(port: server.port, caFile: certificate, name: "localhost", maxVersion: Int32(TLS1_1_VERSION))
        }
        let client = try TLSTestClient(port: server.port, caFile: certificate, name: "127.0.0.1")
        #expect(client.exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test func plainHTTPAndGarbageThatLooksLikeTLSShareThePort() throws {
        let (server, certificate, folder) = try Self.makeServer()
        defer { server.stop(); try? FileManager.default.removeItem(at: folder) }
        let plain = try RawClient(port: server.port)
        try plain.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try plain.readToEnd().hasSuffix("\r\n\r\ntls=false"))
        let fake = try RawClient(port: server.port)
        try fake.send([0x16, 0x03, 0x01, 0x00, 0x04, 0xFF, 0x00, 0x00, 0x00])  // a handshake record of an unknown type
        let answer = try fake.readToEnd()  // returns once the server has closed: at most a TLS alert, no HTTP
        #expect(!answer.contains("HTTP/"))
        let client = try TLSTestClient(port: server.port, caFile: certificate, name: "localhost")
        #expect(client.verified)
    }

    /// Found by a new-user trial: past the connection limit a TLS client got a plain-text 503 it could not read.
    @Test func aTLSClientPastTheConnectionLimitGets503OverTLS() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let issued = try CertificateAuthority.issue(in: folder.path)
        var configuration = HTTPServerConfiguration()
        configuration.maxConnections = 1
        configuration.tls = try TLSContext(issued)
        let server = HTTPServer(
            configuration: configuration, handler: { _ in HTTPResponse(status: 200) },
            errorResponder: { HTTPResponse(status: $0.status, body: Array("error \($0.status)".utf8)) })
        try server.start()
        defer { server.stop() }
        let holder = try RawClient(port: server.port)
        try holder.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try holder.readResponse()
        let client = try TLSTestClient(port: server.port, caFile: issued.trustBundlePath, name: "localhost")
        let reply = client.exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(reply.contains("\r\nRetry-After: 1\r\n"))
    }

    @Test func aTLSFolderThatOthersCanWriteIsRefused() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        chmod(folder.path, 0o777)
        #expect(throws: TLSError.self) { try CertificateAuthority.issue(in: folder.path) }
        chmod(folder.path, 0o700)
        if getuid() == 0 {
            chown(folder.path, 65534, 65534)
            #expect(throws: TLSError.self) { try CertificateAuthority.issue(in: folder.path) }
        }
    }

    /// The certificates of a PEM file, freed after `body`.
    static func withCertificates<T>(_ path: String, _ body: ([OpaquePointer]) throws -> T) rethrows -> T {
        let certificates = CertificateAuthority.readCertificates(path)
        defer { certificates.forEach { X509_free($0) } }
        return try body(certificates)
    }

    @Test func aDamagedKeyGetsANewAuthorityThatLimitsItsOwnNames() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try CertificateAuthority.issue(in: folder.path)
        #expect(first.madeAuthority)
        try Data("garbage".utf8).write(to: folder.appendingPathComponent("ca-key.pem"))
        let second = try CertificateAuthority.issue(in: folder.path)
        #expect(second.madeAuthority)
        _ = try TLSContext(second)
        try Self.withCertificates(second.trustBundlePath) { (authorities: [OpaquePointer]) throws in
            #expect(authorities.count == 2)  // the first stays: servers it signed still verify
            for authority in authorities { #expect(X509_get_ext_by_NID(authority, NID_name_constraints, -1) >= 0) }
            #expect(CertificateAuthority.permittedNames(of: try #require(authorities.last)) == ["localhost", "127.0.0.1", "::1"])
        }
        #expect(throws: TLSError.self) { try CertificateAuthority.issue(in: folder.path, extraNames: ["1.2.3"]) }
    }

    @Test func theWildcardLocalhostNameIsInTheServerCertificate() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let issued = try CertificateAuthority.issue(in: folder.path)
        let chain = CertificateAuthority.certificates(pem: issued.chainPEM)
        defer { chain.forEach { X509_free($0) } }
        #expect(chain.count == 2)
        #expect(CertificateAuthority.alternativeNames(of: try #require(chain.first)) == CertificateAuthority.defaultNames)
    }

    @Test func theAuthorityIsKeptAndEachStartGetsAFreshCertificateUntilANewNameIsAsked() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try CertificateAuthority.issue(in: folder.path)
        let bundle = try Data(contentsOf: URL(fileURLWithPath: first.trustBundlePath))
        let again = try CertificateAuthority.issue(in: folder.path, extraNames: ["app.localhost"])  // under localhost: permitted
        #expect(!again.madeAuthority)
        #expect(again.chainPEM != first.chainPEM && again.privateKeyPEM != first.privateKeyPEM)
        #expect(try Data(contentsOf: URL(fileURLWithPath: first.trustBundlePath)) == bundle)
        let wider = try CertificateAuthority.issue(in: folder.path, extraNames: ["10.1.2.3", "one.test"])
        #expect(wider.madeAuthority)
        let grown = try Data(contentsOf: URL(fileURLWithPath: first.trustBundlePath))
        #expect(grown.starts(with: bundle))  // appended: what users trust only grows
        // A new name keeps the old ones: another server may still present them.
        _ = try CertificateAuthority.issue(in: folder.path, extraNames: ["two.test"])
        try Self.withCertificates(first.trustBundlePath) { (authorities: [OpaquePointer]) throws in
            #expect(authorities.count == 3)
            #expect(Set(CertificateAuthority.permittedNames(of: try #require(authorities.last))) == ["localhost", "127.0.0.1", "::1", "10.1.2.3", "one.test", "two.test"])
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("ca-key.pem").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(throws: TLSError.self) { try CertificateAuthority.issue(in: folder.path, extraNames: ["bad name,DNS:evil"]) }
    }

    @Test func aServerSignedByAnOlderAuthorityStillVerifiesAfterANewNameMadeAnother() throws {
        let (first, bundle, folder) = try Self.makeServer()
        defer { first.stop(); try? FileManager.default.removeItem(at: folder) }
        let (second, sameBundle, _) = try Self.makeServer(extraNames: ["mock.test"], in: folder)
        defer { second.stop() }
        #expect(sameBundle == bundle)
        #expect(try TLSTestClient(port: first.port, caFile: bundle, name: "localhost").verified)
        #expect(try TLSTestClient(port: second.port, caFile: bundle, name: "mock.test").verified)
        #expect(throws: TLSTestClient.Failure.self) { try TLSTestClient(port: first.port, caFile: bundle, name: "mock.test") }
    }

    @Test func nameConstraintsLeaveOutNamesUnderAnotherBase() {
        #expect(CertificateAuthority.subtrees(["localhost", "*.localhost", "a.localhost", "x.test", "*.y.x.test", "127.0.0.1", "Localhost"])
            == ["localhost", "x.test", "127.0.0.1"])
    }
}
