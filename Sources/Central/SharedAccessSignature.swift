import Foundation

/// An API token string: `SharedAccessSignature sr=<app id>&sig=<base64, URL-encoded>&skn=<token id>&se=<epoch ms>`
/// ("Authenticate and authorize IoT Central REST API calls").
///
/// The real signature algorithm is not published. In the mock (assumed, docs/fidelity.md) `sig` is the token's
/// secret, 32 random bytes, of which the store keeps only the SHA-256: a string verifies when the hash of its `sig`
/// is the stored one and `sr`, `skn` and `se` are the token's application, id and expiry.
public struct SharedAccessSignature: Sendable, Equatable {
    /// `sr`: the application id.
    public let resource: String
    /// `skn`: the API token id.
    public let keyName: String
    /// `se`: expiry in Unix epoch milliseconds.
    public let expiryMilliseconds: Int64
    /// `sig`: the decoded signature bytes.
    public let signature: [UInt8]

    public init(resource: String, keyName: String, expiryMilliseconds: Int64, signature: [UInt8]) {
        self.resource = resource; self.keyName = keyName; self.expiryMilliseconds = expiryMilliseconds
        self.signature = signature
    }

    /// The scheme word that starts the header value (matched case-insensitively, RFC 9110 §11.1).
    public static let scheme = "SharedAccessSignature"

    /// Parses a whole `Authorization` header value. Parameters may come in any order and are URL-decoded.
    /// Returns nil for anything else: another scheme, a missing, repeated, unknown or empty parameter, an `se`
    /// that is not a non-negative integer without leading zeros, a `sig` that is not canonical base64 of 32 bytes,
    /// or more than 4 KiB of text.
    public static func parse(_ header: String) -> SharedAccessSignature? {
        guard header.utf8.count <= 4096 else { return nil }
        let prefix = scheme + " "
        guard header.utf8.count > prefix.utf8.count,
              Validation.asciiCaseInsensitiveEquals(header.utf8.prefix(prefix.utf8.count), prefix.utf8)
        else { return nil }
        let parameterText = header.dropFirst(prefix.count).drop { $0 == " " }
        var fields: [String: String] = [:]
        for pair in parameterText.split(separator: "&", omittingEmptySubsequences: false) {
            guard let equals = pair.firstIndex(of: "=") else { return nil }
            let name = String(pair[..<equals])
            guard ["sr", "sig", "skn", "se"].contains(name), fields[name] == nil,
                  let value = String(pair[pair.index(after: equals)...]).removingPercentEncoding, !value.isEmpty
            else { return nil }
            fields[name] = value
        }
        // One token has one spelling: `se` without leading zeros, `sig` in canonical base64 (no other padding bits).
        guard let sr = fields["sr"], let sig = fields["sig"], let skn = fields["skn"], let se = fields["se"],
              se.utf8.count <= 18, se.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), se == "0" || !se.hasPrefix("0"),
              let expiry = Int64(se),
              let signature = Data(base64Encoded: sig), signature.count == 32, signature.base64EncodedString() == sig
        else { return nil }
        return SharedAccessSignature(resource: sr, keyName: skn, expiryMilliseconds: expiry, signature: Array(signature))
    }

    /// The full header value of a token of `applicationID` whose secret is `secret` (the 32 bytes of `sig`).
    public static func string(applicationID: String, tokenID: String, expiryMilliseconds: Int64, secret: [UInt8]) -> String {
        let sig = Data(secret).base64EncodedString().addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
        let sr = applicationID.addingPercentEncoding(withAllowedCharacters: unreserved) ?? applicationID
        let skn = tokenID.addingPercentEncoding(withAllowedCharacters: unreserved) ?? tokenID
        return "\(scheme) sr=\(sr)&sig=\(sig)&skn=\(skn)&se=\(expiryMilliseconds)"
    }

    /// Whether this is the string of the store's `token` of `application`: same application, id and expiry, and a
    /// `sig` whose SHA-256 is the stored hash (compared in constant time). Expiry against the clock is checked by the
    /// caller.
    public func isValid(for application: Application, token: APIToken) -> Bool {
        let hashMatches = Crypto.constantTimeEquals(Crypto.sha256(signature), token.secretHash)
        return hashMatches && resource == application.id && keyName == token.id && expiryMilliseconds == token.expiryMilliseconds
    }

    /// The `sig` of a token made by iotc-mock 0.10 and older: `HMAC-SHA256(app signing key, "<sr>\n<skn>\n<se>\n<nonce
    /// hex>")`. Used only to migrate such data folders and fixtures (their tokens keep working), never to verify.
    public static func legacySecret(applicationID: String, tokenID: String, expiryMilliseconds: Int64, nonce: [UInt8], key: [UInt8]) -> [UInt8] {
        let message = "\(applicationID)\n\(tokenID)\n\(expiryMilliseconds)\n\(Crypto.hex(nonce))"
        return Crypto.hmacSHA256(key: key, message: Array(message.utf8))
    }

    /// RFC 3986 unreserved characters: everything else is percent-encoded in the token string.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
