import Foundation

/// Compact JWS tokens signed with RS256 (RFC 7515, RFC 7519), as Entra ID issues access tokens.
public enum JSONWebToken {
    /// The JOSE header the mock writes and accepts: `alg` must be `RS256` and `kid` must name a known key.
    struct Header: Codable {
        var alg: String
        var typ: String?
        var kid: String?
    }

    /// Why a token was refused. Every case is a 401 for IoT Central ("Authenticate and authorize IoT Central REST API
    /// calls", learn.microsoft.com: a token that cannot be validated).
    public enum VerificationError: Error, Sendable, Equatable {
        /// Not three base64url parts of JSON, or claims of the wrong shape.
        case malformed
        /// `alg` is not RS256 (`none` and `HS256` included: no algorithm confusion).
        case unsupportedAlgorithm(String)
        case missingKeyID
        case unknownKeyID(String)
        case badSignature
        /// `exp` is more than the allowed skew in the past.
        case expired
        /// `nbf` is more than the allowed skew in the future.
        case notYetValid
        case wrongAudience(String)
        /// `iss` or `tid` is not the expected tenant's.
        case wrongIssuer(String)
    }

    /// Signs `claims` (an access token's, an ID token's) with `key`: `base64url(header).base64url(claims).base64url(signature)`.
    public static func sign(_ claims: some Encodable, with key: RSASigningKey) -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let header = try? encoder.encode(Header(alg: "RS256", typ: "JWT", kid: key.keyID)),
              let payload = try? encoder.encode(claims)
        else { return nil }
        let signingInput = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        guard let signature = key.sign(Array(signingInput.utf8)) else { return nil }
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// Verifies `token` and returns its claims.
    /// - Parameters:
    ///   - keys: the keys whose `kid`s are trusted.
    ///   - now: Unix epoch seconds.
    ///   - skew: seconds of clock skew allowed on `exp` and `nbf` (Entra's libraries allow 300).
    ///   - audiences: accepted `aud` values.
    ///   - issuer: returns the accepted issuer for a tenant id, or nil for a tenant that is not trusted.
    /// - Throws: `VerificationError`.
    public static func verify(
        _ token: String, keys: [RSASigningKey], now: Int64, skew: Int64 = 300, audiences: Set<String>,
        issuer: (String) -> String?
    ) throws(VerificationError) -> AccessTokenClaims {
        guard token.utf8.count <= 16_384 else { throw .malformed }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2])
        else { throw .malformed }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)) else { throw .malformed }
        guard header.alg == "RS256" else { throw .unsupportedAlgorithm(header.alg) }
        guard let kid = header.kid else { throw .missingKeyID }
        guard let key = keys.first(where: { $0.keyID == kid }) else { throw .unknownKeyID(kid) }
        guard key.verify(signature, of: Array("\(parts[0]).\(parts[1])".utf8)) else { throw .badSignature }
        guard let claims = try? JSONDecoder().decode(AccessTokenClaims.self, from: Data(payloadBytes)) else { throw .malformed }
        guard claims.exp > now - skew else { throw .expired }
        guard claims.nbf <= now + skew else { throw .notYetValid }
        guard audiences.contains(claims.aud) else { throw .wrongAudience(claims.aud) }
        guard let expected = issuer(claims.tid), claims.iss == expected else { throw .wrongIssuer(claims.iss) }
        return claims
    }
}

extension JSONWebToken.VerificationError {
    /// Why the token was refused, in a sentence for the `x-iotc-mock-reason` header and the journal.
    public var explanation: String {
        switch self {
        case .malformed: "it is not a JWT of three base64url parts with the claims of an access token."
        case .unsupportedAlgorithm(let alg): "its algorithm is \(alg.prefix(20)), not RS256."
        case .missingKeyID: "its header has no kid."
        case .unknownKeyID(let kid): "its kid '\(kid.prefix(64))' is no key of the mock Entra ID (a token of another issuer, or of a data folder since deleted)."
        case .badSignature: "its signature does not match the mock Entra ID's key."
        case .expired: "it has expired (exp is more than 5 minutes in the past by the server's clock)."
        case .notYetValid: "it is not valid yet (nbf is more than 5 minutes in the future by the server's clock)."
        case .wrongAudience(let aud): "its audience is '\(aud.prefix(100))', not the API it was sent to (IoT Central takes https://apps.azureiotcentral.com, Resource Manager https://management.core.windows.net/)."
        case .wrongIssuer(let iss): "its issuer '\(iss.prefix(100))' is not the token's tenant in the mock Entra ID."
        }
    }
}
