#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import Foundation

/// An RSA key pair that signs access tokens with RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3), kept as
/// PEM so tokens stay valid across restarts. Its `keyID` (`kid`) is derived from the public key, so it changes
/// exactly when the key does.
public final class RSASigningKey: @unchecked Sendable {
    // @unchecked: an EVP_PKEY is immutable after creation and OpenSSL allows concurrent use for signing.
    let key: OpaquePointer
    /// `kid`: base64url of the first 16 bytes of SHA-256 over the DER SubjectPublicKeyInfo.
    public let keyID: String

    /// A failure to make, read or write a key, with OpenSSL's reason.
    public struct KeyError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    private init(key: OpaquePointer) throws(KeyError) {
        self.key = key
        guard let der = Self.publicKeyDER(key) else { throw KeyError(description: "cannot encode the public key") }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = der.withUnsafeBytes { EVP_Digest($0.baseAddress, $0.count, &digest, &length, EVP_sha256(), nil) }
        keyID = Base64URL.encode(digest.prefix(16))
    }

    deinit { EVP_PKEY_free(key) }

    /// Generates a new 2048-bit key.
    public static func generate() throws(KeyError) -> RSASigningKey {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else { throw KeyError(description: "cannot create an RSA context") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_rsa_keygen_bits(context, 2048) == 1,
              EVP_PKEY_generate(context, &key) == 1, let key
        else { throw KeyError(description: "cannot generate an RSA key") }
        return try RSASigningKey(key: key)
    }

    /// Reads the PEM private key at `path`, or generates one and writes it there (mode 600) when the file does
    /// not exist. The folder must be this user's and not writable by every user, and an existing key file a regular
    /// file of this user's (made private when it is not): whoever could replace the key could sign tokens.
    /// - Throws: `KeyError` when the folder or the file is not this user's own, the file is not an unencrypted RSA
    ///   private key in PEM, or the key cannot be written.
    public static func loadOrCreate(at path: String) throws(KeyError) -> RSASigningKey {
        let folder = (path as NSString).deletingLastPathComponent
        var info = stat()
        guard stat(folder.isEmpty ? "." : folder, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid(), info.st_mode & 0o002 == 0 else {
            throw KeyError(description: "the folder of the signing key \(path) must be a folder of this user's (uid \(geteuid())) that not every user can write; remove it, or keep the server's files elsewhere (another --data-dir; with --in-memory, set TMPDIR to a folder of yours)")
        }
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid() else {
                throw KeyError(description: "the signing key \(path) is not a regular file of this user's (uid \(geteuid())); remove it and a new key is made")
            }
            if info.st_mode & 0o077 != 0 { _ = chmod(path, 0o600) }
            guard let bio = BIO_new_file(path, "r") else { throw KeyError(description: "cannot read \(path)") }
            defer { BIO_free(bio) }
            guard let key = PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil), EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA else {
                ERR_clear_error()
                throw KeyError(description: "\(path) is not an unencrypted RSA private key in PEM")
            }
            return try RSASigningKey(key: key)
        }
        let generated = try generate()
        // A name of this process's own, made afresh (never through a link), then renamed over the key's name.
        let temporary = "\(path).\(getpid()).tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0, let bio = BIO_new_fd(fd, BIO_CLOSE) else {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw KeyError(description: "cannot write \(temporary): \(reason)")
        }
        let written = PEM_write_bio_PrivateKey(bio, generated.key, nil, nil, 0, nil, nil) == 1
        BIO_free(bio)
        guard written, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw KeyError(description: "cannot write \(path)")
        }
        return generated
    }

    /// RS256 signature of `message`.
    public func sign(_ message: [UInt8]) -> [UInt8]? {
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else { return nil }
        var length = 0
        guard message.withUnsafeBytes({ EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) }) == 1 else { return nil }
        var signature = [UInt8](repeating: 0, count: length)
        guard message.withUnsafeBytes({ m in signature.withUnsafeMutableBytes { s in
            EVP_DigestSign(context, s.baseAddress, &length, m.baseAddress, m.count)
        } }) == 1 else { return nil }
        return Array(signature.prefix(length))
    }

    /// Whether `signature` is a valid RS256 signature of `message` by this key.
    public func verify(_ signature: [UInt8], of message: [UInt8]) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key) == 1 else { return false }
        let ok = signature.withUnsafeBytes { s in message.withUnsafeBytes { m in
            EVP_DigestVerify(context, s.baseAddress, s.count, m.baseAddress, m.count)
        } }
        ERR_clear_error()
        return ok == 1
    }

    /// The public key as a JSON Web Key (RFC 7517 §4, RFC 7518 §6.3.1): `kty`, `use`, `alg`, `kid`, `n`, `e`.
    public var jwk: [String: String] {
        ["kty": "RSA", "use": "sig", "alg": "RS256", "kid": keyID, "n": Base64URL.encode(parameter("n")), "e": Base64URL.encode(parameter("e"))]
    }

    /// The public key's DER SubjectPublicKeyInfo (used as the HS256 "secret" in the key-confusion test).
    public var publicKeyDER: [UInt8] { Self.publicKeyDER(key) ?? [] }

    private func parameter(_ name: String) -> [UInt8] {
        var number: OpaquePointer?
        guard EVP_PKEY_get_bn_param(key, name, &number) == 1, let number else { return [] }
        defer { BN_free(number) }
        var bytes = [UInt8](repeating: 0, count: Int((BN_num_bits(number) + 7) / 8))
        _ = BN_bn2bin(number, &bytes)
        return bytes
    }

    private static func publicKeyDER(_ key: OpaquePointer) -> [UInt8]? {
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(key, &out)
        guard length > 0, let out else { return nil }
        defer { CRYPTO_free(out, #file, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}
