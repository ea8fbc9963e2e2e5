import COpenSSL
import Foundation
import Testing

@testable import Entra

@Suite struct JSONWebTokenTests {
    static let key = try! RSASigningKey.generate()  // test-only set-up; a failure here fails the suite
    static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    static let audience = "https://apps.azureiotcentral.com"
    static let now: Int64 = 1_900_000_000

    static func claims(exp: Int64 = now + 3599, nbf: Int64 = now, tid: String = tenant, aud: String = audience) -> AccessTokenClaims {
        AccessTokenClaims(
            aud: aud, iss: "https://sts.windows.net/\(tid)/", iat: nbf, nbf: nbf, exp: exp, tid: tid,
            oid: "9071c899-bce0-4862-b208-75dabae226a9", sub: "9071c899-bce0-4862-b208-75dabae226a9", idtyp: "app",
            appid: "11111111-2222-3333-4444-555555555555", appidacr: "1")
    }

    func verify(_ token: String, keys: [RSASigningKey] = [key]) throws(JSONWebToken.VerificationError) -> AccessTokenClaims {
        try JSONWebToken.verify(
            token, keys: keys, now: Self.now, audiences: [Self.audience, Self.audience + "/"],
            issuer: { $0 == Self.tenant ? "https://sts.windows.net/\($0)/" : nil })
    }

    /// A token with any header, signed (or not) as the test says.
    func token(header: String, claims: AccessTokenClaims = claims(), signature: ([UInt8]) -> [UInt8]) throws -> String {
        let payload = try JSONEncoder().encode(claims)
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(payload)
        return input + "." + Base64URL.encode(signature(Array(input.utf8)))
    }

    @Test func aSignedTokenVerifiesAndKeepsItsClaims() throws {
        let token = try #require(JSONWebToken.sign(Self.claims(), with: Self.key))
        #expect(try verify(token) == Self.claims())
        #expect(token.split(separator: ".").count == 3)
    }

    @Test func algNoneIsRefused() throws {
        let unsigned = try token(header: #"{"alg":"none","typ":"JWT","kid":"\#(Self.key.keyID)"}"#) { _ in [] }
        #expect(throws: JSONWebToken.VerificationError.unsupportedAlgorithm("none")) { try verify(unsigned) }
    }

    @Test func hs256WithOurPublicKeyAsTheSecretIsRefused() throws {
        let secret = Self.key.publicKeyDER
        let forged = try token(header: #"{"alg":"HS256","typ":"JWT","kid":"\#(Self.key.keyID)"}"#) { input in
            var out = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            _ = HMAC(EVP_sha256(), secret, Int32(secret.count), input, input.count, &out, &length)
            return out
        }
        #expect(throws: JSONWebToken.VerificationError.unsupportedAlgorithm("HS256")) { try verify(forged) }
    }

    @Test func aMissingOrUnknownKeyIDIsRefused() throws {
        let noKid = try token(header: #"{"alg":"RS256","typ":"JWT"}"#) { Self.key.sign($0) ?? [] }
        #expect(throws: JSONWebToken.VerificationError.missingKeyID) { try verify(noKid) }
        let other = try RSASigningKey.generate()
        let foreign = try #require(JSONWebToken.sign(Self.claims(), with: other))
        #expect(throws: JSONWebToken.VerificationError.unknownKeyID(other.keyID)) { try verify(foreign) }
    }

    @Test func aChangedSignatureByteIsRefused() throws {
        let signed = try #require(JSONWebToken.sign(Self.claims(), with: Self.key))
        var parts = signed.split(separator: ".").map(String.init)
        var signature = try #require(Base64URL.decode(parts[2]))
        signature[10] ^= 0x01
        parts[2] = Base64URL.encode(signature)
        #expect(throws: JSONWebToken.VerificationError.badSignature) { try verify(parts.joined(separator: ".")) }
        // So is a changed claim under the old signature.
        let original = signed.split(separator: ".").map(String.init)
        var claims = Self.claims()
        claims.oid = "00000000-0000-0000-0000-000000000000"
        let tampered = original[0] + "." + Base64URL.encode(try JSONEncoder().encode(claims)) + "." + original[2]
        #expect(throws: JSONWebToken.VerificationError.badSignature) { try verify(tampered) }
    }

    @Test func expiryAndNotBeforeAllowFiveMinutesOfSkew() throws {
        let expired = try #require(JSONWebToken.sign(Self.claims(exp: Self.now - 301), with: Self.key))
        #expect(throws: JSONWebToken.VerificationError.expired) { try verify(expired) }
        let justInSkew = try #require(JSONWebToken.sign(Self.claims(exp: Self.now - 299), with: Self.key))
        #expect(throws: Never.self) { try verify(justInSkew) }
        let early = try #require(JSONWebToken.sign(Self.claims(nbf: Self.now + 301), with: Self.key))
        #expect(throws: JSONWebToken.VerificationError.notYetValid) { try verify(early) }
    }

    @Test func aTokenFromAnotherTenantOrForAnotherAudienceIsRefused() throws {
        let otherTenant = "00000000-1111-2222-3333-444444444444"
        let foreign = try #require(JSONWebToken.sign(Self.claims(tid: otherTenant), with: Self.key))
        #expect(throws: JSONWebToken.VerificationError.wrongIssuer("https://sts.windows.net/\(otherTenant)/")) { try verify(foreign) }
        let graph = try #require(JSONWebToken.sign(Self.claims(aud: "https://graph.microsoft.com"), with: Self.key))
        #expect(throws: JSONWebToken.VerificationError.wrongAudience("https://graph.microsoft.com")) { try verify(graph) }
    }

    @Test(arguments: ["", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.e30.e30", String(repeating: "a", count: 20_000)])
    func malformedTokensAreRefused(_ text: String) {
        #expect(throws: JSONWebToken.VerificationError.self) { try verify(text) }
    }
}

@Suite struct RSASigningKeyTests {
    @Test func aStoredKeyIsReusedWithTheSameKeyIDAndKeptPrivate() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("entra-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("entra-signing-key.pem").path
        let first = try RSASigningKey.loadOrCreate(at: path)
        let second = try RSASigningKey.loadOrCreate(at: path)
        #expect(first.keyID == second.keyID)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: RSASigningKey.KeyError.self) { try RSASigningKey.loadOrCreate(at: path) }
    }

    @Test func aKeyInAFolderEveryUserCanWriteOrBehindALinkIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("entra-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: folder) }
        chmod(folder.path, 0o777)
        #expect { try RSASigningKey.loadOrCreate(at: folder.appendingPathComponent("key.pem").path) } throws: { "\($0)".contains("not every user can write") }
        chmod(folder.path, 0o700)
        let target = folder.appendingPathComponent("target.pem").path
        _ = try RSASigningKey.loadOrCreate(at: target)
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("link.pem").path, withDestinationPath: target)
        #expect { try RSASigningKey.loadOrCreate(at: folder.appendingPathComponent("link.pem").path) } throws: { "\($0)".contains("not a regular file") }
    }

    @Test func theJWKCarriesTheModulusAndExponent() throws {
        let key = try RSASigningKey.generate()
        let jwk = key.jwk
        #expect(jwk["kty"] == "RSA" && jwk["alg"] == "RS256" && jwk["use"] == "sig" && jwk["kid"] == key.keyID)
        #expect(Base64URL.decode(jwk["n"] ?? "")?.count == 256)
        #expect(jwk["e"] == "AQAB")
    }

    @Test func base64URLRoundTripsAndRefusesOtherAlphabets() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0x00, 0x3E, 0x3F]
        #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        #expect(!Base64URL.encode(bytes).contains("+") && !Base64URL.encode(bytes).contains("="))
        #expect(Base64URL.decode("a+b/") == nil)
        #expect(Base64URL.decode("abcde") == nil)
    }
}

@Suite struct EntraServiceTests {
    static let directory = EntraDirectory(tenants: [
        EntraDirectory.Tenant(
            id: "726878f1-1cb5-489c-a4f1-581d7b3c5984", domain: "iotc-mock.example",
            servicePrincipals: [EntraDirectory.ServicePrincipal(displayName: "sp", appId: "bfa26516-349e-48e7-acdc-5207da73e9bb", objectId: "02a70a2d-68af-45ae-b566-7556a18f5405", secrets: ["s"])],
            users: [EntraDirectory.User(displayName: "U", userPrincipalName: "u@iotc-mock.example", objectId: "8ed00aa5-c6dc-459c-b76c-37ed49bf987d", password: "p")],
            groups: [EntraDirectory.Group(displayName: "g", objectId: "2ab9a930-754c-455c-a645-d29f86c7016d", members: ["8ed00aa5-c6dc-459c-b76c-37ed49bf987d"])])
    ])

    @Test func issuedTokensCarryTheDocumentedClaimsAndVerify() throws {
        let service = EntraService(directory: Self.directory, signingKey: try RSASigningKey.generate(), tokenLifetime: 600, clock: { 1_900_000_000 })
        let app = try #require(service.issueToken(for: "sp"))
        #expect(app.claims.idtyp == "app" && app.claims.appid == "bfa26516-349e-48e7-acdc-5207da73e9bb" && app.claims.ver == "1.0")
        #expect(app.claims.exp - app.claims.iat == 600)
        #expect(app.claims.aud == "https://apps.azureiotcentral.com")
        #expect(app.claims.iss == "https://sts.windows.net/726878f1-1cb5-489c-a4f1-581d7b3c5984/")
        let user = try #require(service.issueToken(for: "U@IOTC-mock.example"))
        #expect(user.claims.upn == "u@iotc-mock.example" && user.claims.scp == "user_impersonation" && user.claims.idtyp == "user")
        #expect(user.claims.groups == ["2ab9a930-754c-455c-a645-d29f86c7016d"])
        #expect(try service.verify(user.token) == user.claims)
        #expect(service.issueToken(for: "nobody") == nil)
    }

    @Test func aTokenOfAnotherServiceKeyIsRefused() throws {
        let one = EntraService(directory: Self.directory, signingKey: try RSASigningKey.generate())
        let other = EntraService(directory: Self.directory, signingKey: try RSASigningKey.generate())
        let token = try #require(one.issueToken(for: "sp")?.token)
        #expect(throws: JSONWebToken.VerificationError.self) { try other.verify(token) }
    }
}
