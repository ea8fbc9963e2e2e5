import COpenSSL
import Foundation

/// The few cryptographic primitives the mock needs, all through OpenSSL's libcrypto.
public enum Crypto {
    /// HMAC-SHA256 of `message` under `key` (RFC 2104). Returns 32 bytes.
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                out.withUnsafeMutableBytes { o in
                    HMAC(
                        EVP_sha256(), k.baseAddress, Int32(k.count),
                        m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count,
                        o.baseAddress?.assumingMemoryBound(to: UInt8.self), &length) != nil
                }
            }
        }
        // HMAC only fails when OpenSSL cannot allocate; an all-zero MAC then verifies nothing.
        return ok ? Array(out.prefix(Int(length))) : []
    }

    /// SHA-256 digest of `data` (FIPS 180-4). Returns 32 bytes.
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { d in
            out.withUnsafeMutableBytes { o in
                EVP_Digest(d.baseAddress, d.count, o.baseAddress?.assumingMemoryBound(to: UInt8.self), &length, EVP_sha256(), nil)
            }
        }
        return ok == 1 ? out : []
    }

    /// Compares two byte strings in time that depends only on their lengths (`CRYPTO_memcmp`).
    /// Returns false when the lengths differ or either is empty.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count, !a.isEmpty else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 } }
    }

    /// `count` bytes from OpenSSL's CSPRNG (`RAND_bytes`).
    /// - Throws: `CryptoError` if the generator is not seeded (never on a working Linux system).
    public static func randomBytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBytes { RAND_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(count)) }
        guard ok == 1 else { throw CryptoError(message: "RAND_bytes failed") }
        return out
    }

    /// A random RFC 4122 version-4 UUID in lowercase, e.g. for request ids.
    public static func uuid() -> String {
        UUID().uuidString.lowercased()
    }
}

/// OpenSSL reported a failure.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
