import Foundation
import Testing

@testable import Central

@Suite struct SharedAccessSignatureTests {
    let app = Application(id: "83f94f28-4f76-40b6-b518-13b8f67f42c5", subdomain: "x", displayName: "x")
    static let secret: [UInt8] = Array(100..<132)
    let token = APIToken(id: "tok-1", roles: [], expiryMilliseconds: 4_102_444_800_000, secretHash: Crypto.sha256(secret))

    var signed: String { SharedAccessSignature.string(applicationID: app.id, tokenID: token.id, expiryMilliseconds: token.expiryMilliseconds, secret: Self.secret) }

    @Test func signedTokenHasTheDocumentedShapeAndVerifies() throws {
        #expect(signed.hasPrefix("SharedAccessSignature sr=83f94f28-4f76-40b6-b518-13b8f67f42c5&sig="))
        #expect(signed.hasSuffix("&skn=tok-1&se=4102444800000"))
        let parsed = try #require(SharedAccessSignature.parse(signed))
        #expect(parsed.keyName == "tok-1")
        #expect(parsed.expiryMilliseconds == 4_102_444_800_000)
        #expect(parsed.isValid(for: app, token: token))
    }

    @Test func parametersParseInAnyOrderAndTheSchemeIgnoresCase() throws {
        let fields = String(signed.dropFirst("SharedAccessSignature ".count)).split(separator: "&").map(String.init)
        let reordered = "sharedaccesssignature " + fields.reversed().joined(separator: "&")
        let parsed = try #require(SharedAccessSignature.parse(reordered))
        #expect(parsed.isValid(for: app, token: token))
    }

    @Test func signatureIsPercentDecoded() throws {
        // A standard base64 signature almost always holds '+', '/' or '='; the string percent-encodes them.
        let sig = signed.components(separatedBy: "&sig=")[1].components(separatedBy: "&")[0]
        #expect(!sig.contains("+") && !sig.contains("/") && !sig.contains("="))
        #expect(SharedAccessSignature.parse(signed)?.signature.count == 32)
    }

    @Test(arguments: [
        "", "SharedAccessSignature", "SharedAccessSignature ", "Bearer abc", "Basic dXNlcjpwYXNz", "Token sr=a",
        "SharedAccessSignature sr=a&skn=b&se=1",  // no sig
        "SharedAccessSignature sr=a&sig=AAAA&skn=b&se=1",  // sig of 3 bytes
        "SharedAccessSignature sr=a&sig=%zz&skn=b&se=1",
        "SharedAccessSignature sr=a&sr=a&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&skn=b&se=1",  // repeated
        "SharedAccessSignature sr=a&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&skn=b&se=-1",
        "SharedAccessSignature sr=a&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&skn=b&se=1e9",
        "SharedAccessSignature sr=a&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&skn=b&se=99999999999999999999999",
        "SharedAccessSignature sr=a&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&skn=b&se=1&x=y",  // unknown
        "SharedAccessSignature sr=a&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&skn=&se=1",  // empty skn
        "SharedAccessSignature sr=a&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&skn&se=1",  // no '='
    ])
    func malformedHeadersDoNotParse(_ header: String) {
        #expect(SharedAccessSignature.parse(header) == nil)
    }

    @Test func aChangedSignatureByteIsRefused() throws {
        var parsed = try #require(SharedAccessSignature.parse(signed))
        var bytes = parsed.signature
        bytes[5] ^= 0x01
        parsed = SharedAccessSignature(resource: parsed.resource, keyName: parsed.keyName, expiryMilliseconds: parsed.expiryMilliseconds, signature: bytes)
        #expect(!parsed.isValid(for: app, token: token))
    }

    @Test func aTokenHasOneSpellingOnly() throws {
        #expect(SharedAccessSignature.parse(signed.replacingOccurrences(of: "se=", with: "se=0")) == nil)
        // Base64 with different unused bits in the last character decodes to the same bytes: refused.
        let sig = try #require(signed.components(separatedBy: "&sig=").last?.components(separatedBy: "&").first?.removingPercentEncoding)
        let last = sig.dropLast().last.map(String.init) ?? ""  // the character before '='
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let index = try #require(alphabet.firstIndex(of: Character(last)))
        let sibling = String(alphabet[index ^ 1])  // flips the lowest bit, which 32 bytes leave unused
        let variant = String(sig.dropLast(2)) + sibling + "="
        #expect(Data(base64Encoded: variant) == Data(base64Encoded: sig), "the variant must decode to the same bytes")
        let encoded = variant.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? variant
        let forged = signed.replacingOccurrences(of: signed.components(separatedBy: "&sig=")[1].components(separatedBy: "&")[0], with: encoded)
        #expect(SharedAccessSignature.parse(forged) == nil)
    }

    @Test func aLaterExpiryIsRefusedBecauseItIsSigned() throws {
        let forged = signed.replacingOccurrences(of: "se=4102444800000", with: "se=4102444800001")
        let parsed = try #require(SharedAccessSignature.parse(forged))
        #expect(!parsed.isValid(for: app, token: token))
    }

    @Test func anotherApplicationsTokenDoesNotVerify() throws {
        let other = Application(id: "11111111-2222-3333-4444-555555555555", subdomain: "y", displayName: "y")
        let parsed = try #require(SharedAccessSignature.parse(signed))
        #expect(!parsed.isValid(for: other, token: token))
    }

    @Test func aRecreatedTokenWithTheSameIdAndExpiryDoesNotReviveTheOldString() throws {
        let secret = try APIToken.newSecret()
        let recreated = APIToken(id: token.id, roles: [], expiryMilliseconds: token.expiryMilliseconds, secretHash: Crypto.sha256(secret))
        let parsed = try #require(SharedAccessSignature.parse(signed))
        #expect(!parsed.isValid(for: app, token: recreated))
        #expect(SharedAccessSignature.string(applicationID: app.id, tokenID: token.id, expiryMilliseconds: token.expiryMilliseconds, secret: secret) != signed)
    }

    @Test func theStoreKeepsOnlyAHashThatMintsNothing() throws {
        // Nothing of the stored token is in its string, and the string's secret is not the stored value.
        #expect(token.secretHash.count == 32 && token.secretHash != Self.secret)
        #expect(!signed.contains(Data(token.secretHash).base64EncodedString().prefix(20)))
        let withHashAsSig = SharedAccessSignature.string(applicationID: app.id, tokenID: token.id, expiryMilliseconds: token.expiryMilliseconds, secret: token.secretHash)
        #expect(SharedAccessSignature.parse(withHashAsSig)?.isValid(for: app, token: token) == false)
    }

    @Test func theLegacySecretIsTheSignatureOfOlderVersions() {
        // The README's well-known admin token, made by iotc-mock 0.10 from its fixture's key and nonce.
        let key = Array(Data(base64Encoded: "d3hiJpkmgiR+j3uPyoL2nuCvLnagz5bdB40kN4K8s1Y=") ?? Data())
        let legacy = SharedAccessSignature.legacySecret(
            applicationID: "83f94f28-4f76-40b6-b518-13b8f67f42c5", tokenID: "iotc-mock-admin", expiryMilliseconds: 4_102_444_799_000,
            nonce: Crypto.bytes(hex: "14695cea6b5899a772c3f5fea827e6c0") ?? [], key: key)
        #expect(Data(legacy).base64EncodedString() == "9z0FKG+9rA6+RLvXdls2g77ksORTIXqtIxIvJdQmZXI=")
    }

    @Test func hmacMatchesRFC4231TestCase2() {
        let mac = Crypto.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(mac.map { String(format: "%02x", $0) }.joined() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func requestIDsAreVersion4UUIDs() {
        let ids = (0..<100).map { _ in Crypto.uuid() }
        #expect(Set(ids).count == 100)
        for id in ids {
            #expect(id.range(of: "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", options: .regularExpression) != nil, "\(id)")
        }
    }

    @Test func constantTimeEqualsComparesLengthAndContent() {
        #expect(Crypto.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(!Crypto.constantTimeEquals([], []))
    }
}
