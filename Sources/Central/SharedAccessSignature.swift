import Foundation

/// An API token string: `SharedAccessSignature sr=<app id>&sig=<base64, URL-encoded>&skn=<token id>&se=<epoch ms>`
/// ("Authenticate and authorize IoT Central REST API calls").
///
/// The real signature algorithm is not published. The mock signs (assumed, docs/fidelity.md)
/// `HMAC-SHA256(app signing key, "<sr>\n<skn>\n<se>\n<nonce hex>")`, where the nonce is random per token and kept
/// in the store, so only the token the store knows verifies, and re-creating an id mints a different string.
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

    /// Signs a token of `applicationID` and returns the full header value.
    public static func sign(applicationID: String, token: APIToken, key: [UInt8]) -> String {
        let signature = computeSignature(applicationID: applicationID, tokenID: token.id, expiryMilliseconds: token.expiryMilliseconds, nonce: token.nonce, key: key)
        let sig = Data(signature).base64EncodedString()
            .addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
        let sr = applicationID.addingPercentEncoding(withAllowedCharacters: unreserved) ?? applicationID
        let skn = token.id.addingPercentEncoding(withAllowedCharacters: unreserved) ?? token.id
        return "\(scheme) sr=\(sr)&sig=\(sig)&skn=\(skn)&se=\(token.expiryMilliseconds)"
    }

    /// Whether this signature is the one the store's `token` of `application` would carry: same app, id and
    /// expiry, and an HMAC that matches in constant time. Expiry against the clock is checked by the caller.
    public func isValid(for application: Application, token: APIToken) -> Bool {
        let expected = Self.computeSignature(
            applicationID: application.id, tokenID: token.id, expiryMilliseconds: token.expiryMilliseconds,
            nonce: token.nonce, key: application.signingKey)
        let signatureMatches = Crypto.constantTimeEquals(expected, signature)
        return signatureMatches && resource == application.id && keyName == token.id
            && expiryMilliseconds == token.expiryMilliseconds
    }

    static func computeSignature(applicationID: String, tokenID: String, expiryMilliseconds: Int64, nonce: [UInt8], key: [UInt8]) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        let nonceHex = String(decoding: nonce.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
        let message = "\(applicationID)\n\(tokenID)\n\(expiryMilliseconds)\n\(nonceHex)"
        return Crypto.hmacSHA256(key: key, message: Array(message.utf8))
    }

    /// RFC 3986 unreserved characters: everything else is percent-encoded in the token string.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
