#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import COpenSSL

/// A local certificate authority kept in a folder, which signs a fresh server certificate each time a server
/// starts, so that the one file users trust never changes under a running server.
///
/// The folder holds `ca.pem`, the trust bundle (give it to `curl --cacert`, `REQUESTS_CA_BUNDLE` or
/// `update-ca-certificates`), and `ca-key.pem`, the key of its newest authority. The server certificate and its
/// key live in memory only. Every authority carries name constraints (RFC 5280 §4.2.1.10), so its key cannot vouch
/// for any name but those it was made for, even where it is trusted system-wide. When a start needs a name the
/// newest authority does not permit (a new `--tls-name`), a new authority is made for all the names so far and
/// appended to the bundle: servers signed by an older one keep verifying against the same file.
///
/// Each running server holds a shared lock on a lease file of the authority that signed its certificate
/// (`in-use-<fingerprint>.lock`, released when the process ends). Past `maxBundled` authorities the oldest are
/// dropped from the bundle, but never one that a running server holds: a long-running server keeps verifying
/// however many starts with new names come after it.
///
/// Authorities are ECDSA P-256, valid 10 years; server certificates are ECDSA P-256, valid 365 days (never past
/// their authority), and name `localhost`, `*.localhost`, `127.0.0.1`, `::1` plus the names asked for. Note that
/// OpenSSL-based clients (curl, Python) never match a wildcard over a single-label parent such as `*.localhost`:
/// a host name under `localhost` such a client must verify has to be named explicitly.
public enum CertificateAuthority {
    /// The names every server certificate covers.
    public static let defaultNames = ["localhost", "*.localhost", "127.0.0.1", "::1"]
    /// The trust bundle's file name in the folder.
    public static let bundleFileName = "ca.pem"
    static let keyFileName = "ca-key.pem"
    static let authorityLifetimeDays = 3650
    static let certificateLifetimeDays = 365
    /// An authority this close to its end is replaced by a new one.
    static let renewalDays = 30
    /// Authorities kept in the bundle when none of the older ones is in use (the newest); expired ones are dropped.
    static let maxBundled = 16

    /// A shared lock on the lease file of the authority that signed a running server's certificate: while it is
    /// held, no start drops that authority from the bundle. Closing it (deinit, or the process ending) releases it.
    public final class Lease: Sendable {
        let descriptor: Int32
        init(descriptor: Int32) { self.descriptor = descriptor }
        deinit { close(descriptor) }
    }

    /// A server certificate issued for one start.
    public struct ServerCertificate: Sendable {
        /// The absolute path of the trust bundle (`<folder>/ca.pem`).
        public let trustBundlePath: String
        /// PEM: the server certificate, then the authority that signed it.
        public let chainPEM: [UInt8]
        /// PEM of the server certificate's private key (never written to disk).
        public let privateKeyPEM: [UInt8]
        /// The names the server certificate carries.
        public let names: [String]
        /// Whether this call made a new authority (and added it to the bundle).
        public let madeAuthority: Bool
        /// Keeps the signing authority in the bundle: hold it as long as the server runs.
        public let lease: Lease
    }

    /// Issues a server certificate for `defaultNames + extraNames`, signed by the folder's authority, which is made
    /// (or renewed, or widened to new names) first when it must be. Runs under an exclusive lock on the folder, so
    /// servers starting together share one authority. `log` receives one line for each authority or certificate
    /// made, with its names and path.
    /// - Throws: `TLSError` for an extra name that is neither a DNS name nor an IP literal, for a folder that is not
    ///   the user's own or that others can write, or when OpenSSL or the file system fails.
    public static func issue(in directory: String, extraNames: [String] = [], log: (String) -> Void = { _ in }) throws -> ServerCertificate {
        for name in extraNames where !isDNSName(name) && !isIPAddress(name) {
            throw TLSError("'\(name)' is neither a DNS name nor an IP address")
        }
        var names = defaultNames
        for name in extraNames where !names.contains(where: { $0.lowercased() == name.lowercased() }) { names.append(name) }
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
            throw TLSError("cannot create the TLS folder \(directory): \(String(cString: strerror(errno)))")
        }
        // A folder someone else made (in a shared /tmp, say) could hold their key: refuse it.
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid(), info.st_mode & 0o022 == 0 else {
            let problem = info.st_mode & S_IFMT != S_IFDIR ? "is not a folder"
                : info.st_uid != geteuid() ? "belongs to the user with uid \(info.st_uid), not to this one (uid \(geteuid()))"
                : "can be written by others (mode \(String(info.st_mode & 0o7777, radix: 8)))"
            throw TLSError("the TLS folder \(directory) \(problem); remove it, or keep the server's files elsewhere (another --data-dir; with --in-memory, set TMPDIR to a folder of yours)")
        }
        let lock = open(directory + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw TLSError("cannot lock the TLS folder \(directory): \(String(cString: strerror(errno)))") }
        defer { close(lock) }  // closing releases the lock
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw TLSError("cannot lock the TLS folder \(directory): \(String(cString: strerror(errno)))") }
        }
        let bundlePath = absolute(directory + "/" + bundleFileName), keyPath = directory + "/" + keyFileName

        var bundle = readCertificates(bundlePath)
        defer { bundle.forEach { X509_free($0) } }
        let authorityKey = readPrivateKey(keyPath)
        defer { EVP_PKEY_free(authorityKey) }
        // The newest authority whose key is at hand and that stays valid a while longer.
        if let authorityKey, let authority = bundle.last(where: { X509_check_private_key($0, authorityKey) == 1 && validFor(days: renewalDays, $0) }),
           let issued = try? serverCertificate(names: names, authority: authority, authorityKey: authorityKey) {
            let lease = try takeLease(of: authority, in: directory)
            log("TLS certificate for \(names.joined(separator: ", ")), signed by the authority in \(bundlePath)")
            return ServerCertificate(trustBundlePath: bundlePath, chainPEM: issued.chain, privateKeyPEM: issued.key, names: names, madeAuthority: false, lease: lease)
        }

        // A new authority for these names and those the newest one permitted (servers may still present them).
        var wanted = names
        if let newest = bundle.last { wanted += permittedNames(of: newest) }
        let permitted = subtrees(wanted)
        let key = try generateKey()
        defer { EVP_PKEY_free(key) }
        let authority = try makeAuthority(permitting: permitted, key: key)
        // Keep the valid ones: all that a running server holds, and the newest others up to the limit.
        let valid = bundle.filter { validFor(days: 0, $0) }
        var room = max(0, maxBundled - 1 - valid.filter { isLeased($0, in: directory) }.count)
        var kept: [OpaquePointer] = []
        for certificate in valid.reversed() {
            if isLeased(certificate, in: directory) {
                kept.insert(certificate, at: 0)
            } else if room > 0 {
                room -= 1
                kept.insert(certificate, at: 0)
            } else {
                unlink(leasePath(of: certificate, in: directory))
            }
        }
        kept.append(authority)
        var pem: [UInt8] = []
        for certificate in kept { pem += try pemBytes { PEM_write_bio_X509($0, certificate) } }
        bundle.append(authority)  // freed with the others
        try writeFile(keyPath, mode: 0o600, bytes: try pemBytes { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) })
        try writeFile(bundlePath, mode: 0o644, bytes: pem)
        log("made a certificate authority for \(permitted.joined(separator: ", ")) in \(bundlePath) (trust this file)")
        let issued = try serverCertificate(names: names, authority: authority, authorityKey: key)
        let lease = try takeLease(of: authority, in: directory)
        log("TLS certificate for \(names.joined(separator: ", ")), signed by the authority in \(bundlePath)")
        return ServerCertificate(trustBundlePath: bundlePath, chainPEM: issued.chain, privateKeyPEM: issued.key, names: names, madeAuthority: true, lease: lease)
    }

    // MARK: - Leases

    /// `<folder>/in-use-<first 16 bytes of the SHA-256 of the authority's DER, hex>.lock`.
    static func leasePath(of authority: OpaquePointer, in directory: String) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = X509_digest(authority, EVP_sha256(), &digest, &length)
        let hex = digest.prefix(16).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        return "\(directory)/in-use-\(hex).lock"
    }

    /// Takes a shared lock on the authority's lease file (the caller holds the folder's lock).
    private static func takeLease(of authority: OpaquePointer, in directory: String) throws -> Lease {
        let descriptor = open(leasePath(of: authority, in: directory), O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TLSError("cannot create a lease file in \(directory): \(String(cString: strerror(errno)))") }
        while flock(descriptor, LOCK_SH) != 0 {
            guard errno == EINTR else {
                close(descriptor)
                throw TLSError("cannot lock a lease file in \(directory): \(String(cString: strerror(errno)))")
            }
        }
        return Lease(descriptor: descriptor)
    }

    /// Whether a running server (this process's included) holds the authority's lease.
    private static func isLeased(_ authority: OpaquePointer, in directory: String) -> Bool {
        let descriptor = open(leasePath(of: authority, in: directory), O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return flock(descriptor, LOCK_EX | LOCK_NB) != 0
    }

    // MARK: - Reading

    /// Every certificate of a PEM file, in order (the caller frees them); empty when it is missing or unreadable.
    static func readCertificates(_ path: String) -> [OpaquePointer] {
        guard let bio = BIO_new_file(path, "r") else {
            ERR_clear_error()
            return []
        }
        defer { BIO_free(bio) }
        return certificates(bio)
    }

    /// Every certificate of PEM bytes, in order (the caller frees them).
    static func certificates(pem: [UInt8]) -> [OpaquePointer] {
        pem.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return [] }
            defer { BIO_free(bio) }
            return certificates(bio)
        }
    }

    private static func certificates(_ bio: OpaquePointer) -> [OpaquePointer] {
        var certificates: [OpaquePointer] = []
        while certificates.count < 64, let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(certificate) }
        ERR_clear_error()  // the end of the input reads as an error
        return certificates
    }

    private static func readPrivateKey(_ path: String) -> OpaquePointer? {
        guard let bio = BIO_new_file(path, "r") else {
            ERR_clear_error()
            return nil
        }
        defer { BIO_free(bio) }
        return privateKey(bio)
    }

    /// The private key in PEM bytes (the caller frees it), or nil.
    static func privateKey(pem: [UInt8]) -> OpaquePointer? {
        pem.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return privateKey(bio)
        }
    }

    private static func privateKey(_ bio: OpaquePointer) -> OpaquePointer? {
        let key = PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)  // never prompt for a pass phrase
        if key == nil { ERR_clear_error() }
        return key
    }

    private static func validFor(days: Int, _ certificate: OpaquePointer) -> Bool {
        var then = time(nil) + days * 86_400
        return X509_cmp_time(X509_get0_notAfter(certificate), &then) > 0
    }

    private static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (cwd.hasSuffix("/") ? cwd : cwd + "/") + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
    }

    /// The subjectAltName names (DNS names, IP addresses) of the first certificate of a PEM file; empty when it
    /// cannot be read.
    public static func alternativeNames(ofCertificateFile path: String) -> [String] {
        let certificates = readCertificates(path)
        defer { certificates.forEach { X509_free($0) } }
        return certificates.first.map(alternativeNames(of:)) ?? []
    }

    /// The DNS names and IP addresses of a certificate's subjectAltName, in text form.
    public static func alternativeNames(of certificate: OpaquePointer) -> [String] {
        guard let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return [] }
        let stack = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(stack) }
        return (0..<max(0, OPENSSL_sk_num(stack))).compactMap { index in
            OPENSSL_sk_value(stack, index).flatMap { text(of: $0.assumingMemoryBound(to: GENERAL_NAME.self).pointee) }
        }
    }

    /// The names an authority's name constraints permit: DNS subtrees as names, IP subtrees as their address.
    public static func permittedNames(of certificate: OpaquePointer) -> [String] {
        guard let raw = X509_get_ext_d2i(certificate, NID_name_constraints, nil, nil) else { return [] }
        let constraints = raw.assumingMemoryBound(to: NAME_CONSTRAINTS.self)
        defer { NAME_CONSTRAINTS_free(constraints) }
        guard let subtrees = constraints.pointee.permittedSubtrees else { return [] }
        return (0..<max(0, OPENSSL_sk_num(subtrees))).compactMap { index in
            guard let subtree = OPENSSL_sk_value(subtrees, index)?.assumingMemoryBound(to: GENERAL_SUBTREE.self).pointee,
                  let base = subtree.base else { return nil }
            return text(of: base.pointee, addressWithMask: true)
        }
    }

    /// A DNS or IP general name as text; for a name constraint's IP subtree (address then mask), its address.
    private static func text(of name: GENERAL_NAME, addressWithMask: Bool = false) -> String? {
        guard let value = name.d.ia5 else { return nil }  // every member of the union is an ASN1_STRING
        var bytes = Array(UnsafeBufferPointer(start: ASN1_STRING_get0_data(value), count: Int(ASN1_STRING_length(value))))
        switch name.type {
        case GEN_DNS:
            return String(decoding: bytes, as: UTF8.self)
        case GEN_IPADD:
            if addressWithMask { bytes = Array(bytes.prefix(bytes.count / 2)) }
            guard bytes.count == 4 || bytes.count == 16 else { return nil }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            let family = bytes.count == 4 ? AF_INET : AF_INET6
            guard bytes.withUnsafeBytes({ inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }) != nil else { return nil }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        default:
            return nil
        }
    }

    // MARK: - Making

    private static func generateKey() throws -> OpaquePointer {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw TLSError.openSSL("cannot create a key context") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_group_name(context, "P-256") == 1,
              EVP_PKEY_generate(context, &key) == 1, let key
        else { throw TLSError.openSSL("cannot generate a P-256 key") }
        return key
    }

    /// A certificate with a random serial, valid from an hour ago for `days`, with `key` as its public key.
    private static func newCertificate(key: OpaquePointer, days: Int, subject: [(String, String)]) throws -> OpaquePointer {
        guard let certificate = X509_new() else { throw TLSError.openSSL("cannot create a certificate") }
        var serial: UInt64 = 0
        guard RAND_bytes(&serial, 8) == 1,
              X509_set_version(certificate, 2) == 1,
              ASN1_INTEGER_set(X509_get_serialNumber(certificate), Int(serial >> 2)) == 1,
              X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) != nil,
              X509_gmtime_adj(X509_getm_notAfter(certificate), days * 86_400) != nil,
              X509_set_pubkey(certificate, key) == 1,
              let name = X509_get_subject_name(certificate),
              subject.allSatisfy({ X509_NAME_add_entry_by_txt(name, $0.0, MBSTRING_ASC, $0.1, -1, -1, 0) == 1 })
        else {
            X509_free(certificate)
            throw TLSError.openSSL("cannot fill in the certificate")
        }
        return certificate
    }

    private static func addExtensions(_ extensions: [(Int32, String)], to certificate: OpaquePointer, issuer: OpaquePointer) throws {
        var v3 = X509V3_CTX()
        X509V3_set_ctx(&v3, issuer, certificate, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &v3, nid, value) else { throw TLSError.openSSL("cannot make extension \(value)") }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(certificate, ext, -1) == 1 else { throw TLSError.openSSL("cannot add extension \(value)") }
        }
    }

    /// The fewest name-constraint bases that permit every name: `*.x` becomes `x`, and a DNS name under another
    /// base (`app.localhost` under `localhost`) is left out; duplicates go. Order is kept.
    static func subtrees(_ names: [String]) -> [String] {
        var bases: [String] = []
        for name in names {
            let base = (name.hasPrefix("*.") ? String(name.dropFirst(2)) : name).lowercased()
            if !bases.contains(base) { bases.append(base) }
        }
        return bases.filter { base in
            isIPAddress(base) || !bases.contains { other in other != base && !isIPAddress(other) && base.hasSuffix("." + other) }
        }
    }

    private static func makeAuthority(permitting names: [String], key: OpaquePointer) throws -> OpaquePointer {
        var tag: UInt32 = 0
        _ = RAND_bytes(&tag, 4)
        let certificate = try newCertificate(key: key, days: authorityLifetimeDays, subject: [
            ("O", "iotc-mock (for tests only)"), ("CN", "iotc-mock local CA \(String(tag, radix: 16))"),
        ])
        do {
            guard X509_set_issuer_name(certificate, X509_get_subject_name(certificate)) == 1 else { throw TLSError.openSSL("cannot name the issuer") }
            let permitted = names.map { name -> String in
                if isIPAddress(name) { return name.contains(":") ? "permitted;IP:\(name)/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" : "permitted;IP:\(name)/255.255.255.255" }
                return "permitted;DNS:" + (name.hasPrefix("*.") ? String(name.dropFirst(2)) : name)
            }
            try addExtensions([
                (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
                (NID_name_constraints, "critical," + permitted.joined(separator: ",")),
            ], to: certificate, issuer: certificate)
            guard X509_sign(certificate, key, EVP_sha256()) > 0 else { throw TLSError.openSSL("cannot sign the authority") }
            return certificate
        } catch {
            X509_free(certificate)
            throw error
        }
    }

    /// A server certificate for `names` signed by `authority`, checked against it as a client would (name
    /// constraints included): PEM of the chain and of its key.
    /// - Throws: `TLSError` when it cannot be made or does not verify (a name the authority does not permit).
    private static func serverCertificate(names: [String], authority: OpaquePointer, authorityKey: OpaquePointer) throws -> (chain: [UInt8], key: [UInt8]) {
        let key = try generateKey()
        defer { EVP_PKEY_free(key) }
        let days = min(certificateLifetimeDays, daysLeft(authority))
        let certificate = try newCertificate(key: key, days: days, subject: [("O", "iotc-mock (for tests only)"), ("CN", "localhost")])
        defer { X509_free(certificate) }
        guard X509_set_issuer_name(certificate, X509_get_subject_name(authority)) == 1 else { throw TLSError.openSSL("cannot name the issuer") }
        try addExtensions([
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "serverAuth"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
            (NID_subject_alt_name, names.map { isIPAddress($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")),
        ], to: certificate, issuer: authority)
        guard X509_sign(certificate, authorityKey, EVP_sha256()) > 0 else { throw TLSError.openSSL("cannot sign the certificate") }
        guard verifies(certificate, authority: authority) else { throw TLSError("the authority does not permit every name") }
        let chain = try pemBytes { PEM_write_bio_X509($0, certificate) } + pemBytes { PEM_write_bio_X509($0, authority) }
        return (chain, try pemBytes { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) })
    }

    /// Whole days until `certificate` expires (at least 1).
    private static func daysLeft(_ certificate: OpaquePointer) -> Int {
        var days: Int32 = 0, seconds: Int32 = 0
        guard ASN1_TIME_diff(&days, &seconds, nil, X509_get0_notAfter(certificate)) == 1 else { return 1 }
        return max(1, Int(days))
    }

    private static func verifies(_ certificate: OpaquePointer, authority: OpaquePointer) -> Bool {
        guard let store = X509_STORE_new() else { return false }
        defer { X509_STORE_free(store) }
        guard X509_STORE_add_cert(store, authority) == 1, let context = X509_STORE_CTX_new() else { return false }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, certificate, nil) == 1 else { return false }
        let verified = X509_verify_cert(context) == 1
        ERR_clear_error()
        return verified
    }

    /// What `body` writes into a memory BIO.
    private static func pemBytes(_ body: (OpaquePointer) -> Int32) throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw TLSError.openSSL("cannot allocate a buffer") }
        defer { BIO_free(bio) }
        guard body(bio) == 1 else { throw TLSError.openSSL("cannot write PEM") }
        var pointer: UnsafeMutablePointer<CChar>?
        let count = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &pointer)
        guard let pointer, count > 0 else { throw TLSError.openSSL("cannot read PEM") }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }

    /// Writes under a temporary name, then renames: a reader never sees half a file.
    private static func writeFile(_ path: String, mode: mode_t, bytes: [UInt8]) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw TLSError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            offset += n
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard offset == bytes.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw TLSError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    // MARK: - Names

    /// Whether `name` is an IPv4 or IPv6 literal.
    public static func isIPAddress(_ name: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }

    /// Letters, digits, `-` and `.`, with an optional leading `*.`, a last label that is not all digits; at most
    /// 253 characters.
    public static func isDNSName(_ name: String) -> Bool {
        let body = name.hasPrefix("*.") ? String(name.dropFirst(2)) : name
        guard !body.isEmpty, name.utf8.count <= 253, !body.hasPrefix("."), !body.hasSuffix("."), !body.contains("..") else { return false }
        // A last label of digits only (`1.2.3`, `999.1.1.1`) is a mistyped address, not a host name (RFC 1123 §2.1).
        guard let last = body.split(separator: ".").last, !last.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        return body.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x2E }
    }
}
