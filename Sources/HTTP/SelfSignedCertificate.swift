#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import COpenSSL

/// A self-signed TLS certificate that a test machine can trust: made once in a folder and reused afterwards.
///
/// The certificate is its own CA (so it can be given to `curl --cacert`, `REQUESTS_CA_BUNDLE` or
/// `update-ca-certificates` directly), carries an ECDSA P-256 key, is valid for 365 days, and names `localhost`,
/// `*.localhost`, `127.0.0.1` and `::1` in its subjectAltName plus any extra names asked for. Note that OpenSSL-based
/// clients (curl, Python) never match a wildcard over a single-label parent such as `*.localhost`; a host name under
/// `localhost` that such a client must verify has to be named explicitly.
public enum SelfSignedCertificate {
    /// The names every generated certificate covers.
    public static let defaultNames = ["localhost", "*.localhost", "127.0.0.1", "::1"]

    /// Returns `<directory>/cert.pem` and `<directory>/key.pem`, generating both when they are missing, expire
    /// within a day, fail to load, or do not cover every one of `defaultNames + extraNames`.
    /// - Throws: `TLSError` for an extra name that is neither a DNS name nor an IP literal, or when the folder or
    ///   files cannot be written.
    public static func ensure(in directory: String, extraNames: [String] = []) throws -> (certificatePath: String, privateKeyPath: String) {
        var names = defaultNames
        for name in extraNames where !names.contains(where: { $0.lowercased() == name.lowercased() }) { names.append(name) }
        for name in extraNames where !isDNSName(name) && !isIPAddress(name) {
            throw TLSError("'\(name)' is neither a DNS name nor an IP address")
        }
        let certificatePath = directory + "/cert.pem", keyPath = directory + "/key.pem"
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
            throw TLSError("cannot create the TLS folder \(directory): \(String(cString: strerror(errno)))")
        }
        // A folder someone else made (in a shared /tmp, say) could hold their key: refuse it.
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid(),
              info.st_mode & 0o022 == 0
        else {
            throw TLSError("the TLS folder \(directory) is not a folder of yours that only you can write; remove it or choose another --data-dir")
        }
        // Servers starting at once (parallel tests, two processes) must not mix one's key with another's
        // certificate: the check and the generation happen under an exclusive lock on the folder.
        let lock = open(directory + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw TLSError("cannot lock the TLS folder \(directory): \(String(cString: strerror(errno)))") }
        defer { close(lock) }  // closing releases the lock
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw TLSError("cannot lock the TLS folder \(directory): \(String(cString: strerror(errno)))") }
        }
        if isUsable(certificatePath: certificatePath, keyPath: keyPath, names: names) { return (certificatePath, keyPath) }
        // Keep the names the old certificate had: another server (another app fixture) may rely on them.
        var kept: [String] = []
        if let old = readCertificate(certificatePath) {
            kept = alternativeNames(of: old)
            X509_free(old)
        }
        try generate(names: names + kept.filter { !names.contains($0) }, certificatePath: certificatePath, keyPath: keyPath)
        return (certificatePath, keyPath)
    }

    // MARK: - Checking an existing pair

    private static func isUsable(certificatePath: String, keyPath: String, names: [String]) -> Bool {
        guard let certificate = readCertificate(certificatePath) else { return false }
        defer { X509_free(certificate) }
        guard let keyFile = BIO_new_file(keyPath, "r") else {
            ERR_clear_error()
            return false
        }
        let key = PEM_read_bio_PrivateKey(keyFile, nil, { _, _, _, _ in 0 }, nil)  // never prompt for a pass phrase
        BIO_free(keyFile)
        defer { EVP_PKEY_free(key) }
        guard let key, X509_check_private_key(certificate, key) == 1 else {
            ERR_clear_error()
            return false
        }
        var tomorrow = time(nil) + 86_400
        guard X509_cmp_time(X509_get0_notAfter(certificate), &tomorrow) > 0 else { return false }
        // OpenSSL matches no wildcard whose parent has a single label (`*.localhost`), so wildcards are not
        // checked here; every other name must verify exactly as a client would check it.
        return names.allSatisfy { name in
            if isIPAddress(name) { return X509_check_ip_asc(certificate, name, 0) == 1 }
            return name.hasPrefix("*.") || X509_check_host(certificate, name, name.utf8.count, 0, nil) == 1
        }
    }

    /// The DNS names and IP addresses of a certificate's subjectAltName, in text form.
    static func alternativeNames(of certificate: OpaquePointer) -> [String] {
        guard let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return [] }
        let stack = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(stack) }
        var names: [String] = []
        for index in 0..<OPENSSL_sk_num(stack) {
            guard let entry = OPENSSL_sk_value(stack, index)?.assumingMemoryBound(to: GENERAL_NAME.self).pointee else { continue }
            guard let value = entry.d.ia5 else { continue }  // every member of the union is an ASN1_STRING
            let bytes = Array(UnsafeBufferPointer(start: ASN1_STRING_get0_data(value), count: Int(ASN1_STRING_length(value))))
            switch entry.type {
            case GEN_DNS:
                names.append(String(decoding: bytes, as: UTF8.self))
            case GEN_IPADD where bytes.count == 4 || bytes.count == 16:
                var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
                let family = bytes.count == 4 ? AF_INET : AF_INET6
                if bytes.withUnsafeBytes({ inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }) != nil {
                    names.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                }
            default:
                break
            }
        }
        return names
    }

    private static func readCertificate(_ path: String) -> OpaquePointer? {
        guard let bio = BIO_new_file(path, "r") else {
            ERR_clear_error()
            return nil
        }
        defer { BIO_free(bio) }
        let certificate = PEM_read_bio_X509(bio, nil, nil, nil)
        if certificate == nil { ERR_clear_error() }
        return certificate
    }

    // MARK: - Generating

    private static func generate(names: [String], certificatePath: String, keyPath: String) throws {
        guard let keyContext = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw TLSError.openSSL("cannot create a key context") }
        defer { EVP_PKEY_CTX_free(keyContext) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(keyContext) == 1, EVP_PKEY_CTX_set_group_name(keyContext, "P-256") == 1,
              EVP_PKEY_generate(keyContext, &key) == 1, let key
        else { throw TLSError.openSSL("cannot generate a P-256 key") }
        defer { EVP_PKEY_free(key) }

        guard let certificate = X509_new() else { throw TLSError.openSSL("cannot create a certificate") }
        defer { X509_free(certificate) }
        var serial: UInt64 = 0
        guard RAND_bytes(&serial, 8) == 1 else { throw TLSError.openSSL("cannot draw a serial number") }
        guard X509_set_version(certificate, 2) == 1,
              ASN1_INTEGER_set(X509_get_serialNumber(certificate), Int(serial >> 2)) == 1,
              X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) != nil,
              X509_gmtime_adj(X509_getm_notAfter(certificate), 365 * 86_400) != nil,
              X509_set_pubkey(certificate, key) == 1,
              let subject = X509_get_subject_name(certificate),
              X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, "iotc-mock (self-signed, for tests only)", -1, -1, 0) == 1,
              X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, "iotc-mock", -1, -1, 0) == 1,
              X509_set_issuer_name(certificate, subject) == 1
        else { throw TLSError.openSSL("cannot fill in the certificate") }

        let alternativeNames = names.map { isIPAddress($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        // The certificate is its own CA, which a user may trust system-wide: name constraints (RFC 5280 §4.2.1.10)
        // keep its key from vouching for any name but the ones it carries.
        let permitted = names.map { name -> String in
            if isIPAddress(name) { return name.contains(":") ? "permitted;IP:\(name)/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" : "permitted;IP:\(name)/255.255.255.255" }
            return "permitted;DNS:" + (name.hasPrefix("*.") ? String(name.dropFirst(2)) : name)
        }.joined(separator: ",")
        var v3 = X509V3_CTX()
        X509V3_set_ctx(&v3, certificate, certificate, nil, nil, 0)
        let extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_key_usage, "critical,digitalSignature,keyCertSign"),
            (NID_ext_key_usage, "serverAuth"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
            (NID_subject_alt_name, alternativeNames),
            (NID_name_constraints, "critical," + permitted),
        ]
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &v3, nid, value) else { throw TLSError.openSSL("cannot make extension \(value)") }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(certificate, ext, -1) == 1 else { throw TLSError.openSSL("cannot add extension \(value)") }
        }
        guard X509_sign(certificate, key, EVP_sha256()) > 0 else { throw TLSError.openSSL("cannot sign the certificate") }

        // Write each file under a temporary name, then rename: a reader never sees half a file.
        try write(keyPath, mode: 0o600) { bio in PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil) }
        try write(certificatePath, mode: 0o644) { bio in PEM_write_bio_X509(bio, certificate) }
    }

    private static func write(_ path: String, mode: mode_t, _ body: (OpaquePointer) -> Int32) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw TLSError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        guard let bio = BIO_new_fd(fd, BIO_CLOSE) else {
            close(fd)
            throw TLSError.openSSL("cannot write \(temporary)")
        }
        let written = body(bio) == 1 && BIO_ctrl(bio, BIO_CTRL_FLUSH, 0, nil) == 1
        BIO_free(bio)
        guard written, rename(temporary, path) == 0 else { throw TLSError.openSSL("cannot write \(path)") }
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
