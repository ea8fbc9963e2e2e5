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
    public static func sha256(_ data: [UInt8]) -> [UInt8] { digest(data, EVP_sha256(), size: 32) }

    /// SHA-1 digest of `data` (FIPS 180-4), for certificate thumbprints only. Returns 20 bytes.
    public static func sha1(_ data: [UInt8]) -> [UInt8] { digest(data, EVP_sha1(), size: 20) }

    /// The digest of `data` by `algorithm`, `size` bytes (empty when OpenSSL fails, which it does only when it cannot
    /// allocate).
    private static func digest(_ data: [UInt8], _ algorithm: OpaquePointer?, size: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { d in
            out.withUnsafeMutableBytes { o in
                EVP_Digest(d.baseAddress, d.count, o.baseAddress?.assumingMemoryBound(to: UInt8.self), &length, algorithm, nil)
            }
        }
        return ok == 1 && Int(length) == size ? out : []
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

    /// A random RFC 9562 version-4 UUID in lowercase, e.g. for request ids. Drawn from OpenSSL's user-space
    /// generator: Foundation's `UUID()` opens /dev/urandom on every call, which showed in profiles.
    /// Lower-case hexadecimal of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
    }

    /// The bytes of an even-length hexadecimal string, or nil.
    public static func bytes(hex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    public static func uuid() -> String {
        var bytes = (try? randomBytes(16)) ?? Array(repeating: 0, count: 16)
        bytes[6] = bytes[6] & 0x0F | 0x40  // version 4
        bytes[8] = bytes[8] & 0x3F | 0x80  // variant 10
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// OpenSSL reported a failure.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
