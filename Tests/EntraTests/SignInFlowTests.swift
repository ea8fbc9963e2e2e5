import Foundation
import Testing

@testable import Entra

/// What Azure tools need to sign in: first-party public clients, refresh tokens, ID tokens and `client_info`,
/// instance and user realm discovery, and Resource Manager's tenants, subscriptions and cloud metadata.
@Suite struct SignInFlowTests {
    static let tenant = "726878f1-1cb5-489c-a4f1-581d7b3c5984"
    static let subscription = "5b6a2c1e-7f3d-4e8a-9c21-0d4f6e8b3a17"
    static let azureCLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    static let confidential = "bfa26516-349e-48e7-acdc-5207da73e9bb"
    static let userObject = "8ed00aa5-c6dc-459c-b76c-37ed49bf987d"
    static let directory = EntraDirectory(tenants: [
        EntraDirectory.Tenant(
            id: tenant, domain: "iotc-mock.example", displayName: "Mock",
            servicePrincipals: [EntraDirectory.ServicePrincipal(displayName: "sp", appId: confidential, objectId: "02a70a2d-68af-45ae-b566-7556a18f5405", secrets: ["s"])],
            users: [EntraDirectory.User(displayName: "U", userPrincipalName: "u@iotc-mock.example", objectId: userObject, password: "p")],
            subscriptions: [EntraDirectory.Subscription(subscriptionId: subscription, displayName: "Sub")]),
    ])
    static let key = try! RSASigningKey.generate()
    static let now: Int64 = 1_900_000_000

    let service = EntraService(directory: Self.directory, signingKey: Self.key, tokenLifetime: 600, clock: { Self.now })

    func post(_ form: [String: String], tenant: String = tenant, version2: Bool = true) -> (status: Int, body: [String: Any]) {
        let body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        let response = service.handle(EntraService.Request(
            method: "POST", tenant: tenant, path: version2 ? ["oauth2", "v2.0", "token"] : ["oauth2", "token"],
            baseURL: "https://login.microsoftonline.com", body: Array(body.utf8)))
        return (response.status, (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:])
    }

    func claims(_ token: Any?) throws -> [String: Any] {
        let part = try #require((token as? String)?.split(separator: ".").dropFirst().first)
        let bytes = try #require(Base64URL.decode(part))
        let object = try JSONSerialization.jsonObject(with: Data(bytes))
        return try #require(object as? [String: Any])
    }

    func passwordForm(client: String = azureCLI, scope: String = "https://management.core.windows.net//.default offline_access openid profile") -> [String: String] {
        ["grant_type": "password", "client_id": client, "username": "u@iotc-mock.example", "password": "p", "scope": scope, "client_info": "1"]
    }

    @Test func azureCLIsPublicClientSignsAUserInWithoutASecret() throws {
        let r = post(passwordForm(), tenant: "organizations")
        #expect(r.status == 200, "\(r.body)")
        let access = try claims(r.body["access_token"])
        #expect(access["aud"] as? String == "https://management.core.windows.net/" && access["appid"] as? String == Self.azureCLI)
        #expect(access["upn"] as? String == "u@iotc-mock.example" && access["idtyp"] as? String == "user")
        #expect(r.body["scope"] as? String == "https://management.core.windows.net//user_impersonation https://management.core.windows.net//.default")
        // MSAL keeps the account from client_info (uid.utid) and the ID token (preferred_username).
        let encoded = try #require(r.body["client_info"] as? String)
        let info = try #require(Base64URL.decode(encoded))
        #expect(String(decoding: info, as: UTF8.self) == "{\"uid\":\"\(Self.userObject)\",\"utid\":\"\(Self.tenant)\"}")
        let id = try claims(r.body["id_token"])
        #expect(id["aud"] as? String == Self.azureCLI && id["preferred_username"] as? String == "u@iotc-mock.example")
        #expect(id["iss"] as? String == "https://login.microsoftonline.com/\(Self.tenant)/v2.0" && id["ver"] as? String == "2.0")
        #expect(r.body["refresh_token"] is String)
    }

    @Test func withoutOpenIDOrOfflineAccessThereIsNoIDOrRefreshToken() {
        var form = passwordForm(scope: "https://apps.azureiotcentral.com/.default")
        form["client_info"] = nil
        let r = post(form)
        #expect(r.status == 200)
        #expect(r.body["id_token"] == nil && r.body["refresh_token"] == nil && r.body["client_info"] == nil)
    }

    @Test func aPublicClientMustNotSendASecretAndAConfidentialOneMust() {
        var withSecret = passwordForm()
        withSecret["client_secret"] = "x"
        let publicWithSecret = post(withSecret)
        #expect(publicWithSecret.status == 400 && publicWithSecret.body["error_codes"] as? [Int] == [700_025])
        let confidentialWithout = post(passwordForm(client: Self.confidential))
        #expect(confidentialWithout.status == 401 && confidentialWithout.body["error_codes"] as? [Int] == [7_000_218])
        var confidentialWith = passwordForm(client: Self.confidential)
        confidentialWith["client_secret"] = "s"
        #expect(post(confidentialWith).status == 200)
        // Client credentials need a secret, which a first-party public client has none of.
        let credentials = post(["grant_type": "client_credentials", "client_id": Self.azureCLI, "scope": "https://apps.azureiotcentral.com/.default"])
        #expect(credentials.status == 401 && credentials.body["error_codes"] as? [Int] == [7_000_218])
    }

    @Test func aRefreshTokenBuysATokenForAnotherResourceForItsOwnClientOnly() throws {
        let signIn = post(passwordForm(), tenant: "organizations")
        let refresh = try #require(signIn.body["refresh_token"] as? String)
        let r = post(["grant_type": "refresh_token", "client_id": Self.azureCLI, "refresh_token": refresh,
                      "scope": "https://apps.azureiotcentral.com/.default offline_access openid profile", "client_info": "1"])
        #expect(r.status == 200, "\(r.body)")
        let access = try claims(r.body["access_token"])
        #expect(access["aud"] as? String == "https://apps.azureiotcentral.com" && access["oid"] as? String == Self.userObject)
        let accessToken = try #require(r.body["access_token"] as? String)
        #expect(try service.verify(accessToken).oid == Self.userObject)
        // Another client may not use it; it is no access token; a changed byte breaks it.
        let other = post(["grant_type": "refresh_token", "client_id": "1950a258-227b-4e31-a9cf-717495945fc2", "refresh_token": refresh,
                          "scope": "https://apps.azureiotcentral.com/.default"])
        #expect(other.status == 400 && other.body["error_codes"] as? [Int] == [70_000])
        #expect(throws: JSONWebToken.VerificationError.self) { try service.verify(refresh) }
        var bytes = Array(refresh.utf8)
        bytes[bytes.count - 3] = bytes[bytes.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let broken = post(["grant_type": "refresh_token", "client_id": Self.azureCLI, "refresh_token": String(decoding: bytes, as: UTF8.self),
                           "scope": "https://apps.azureiotcentral.com/.default"])
        #expect(broken.status == 400 && broken.body["error"] as? String == "invalid_grant")
    }

    @Test func aRefreshTokenExpiresAfterNinetyDaysByTheClock() throws {
        let refresh = try #require(post(passwordForm()).body["refresh_token"] as? String)
        let later = EntraService(directory: Self.directory, signingKey: Self.key, clock: { Self.now + 91 * 86_400 })
        let body = "grant_type=refresh_token&client_id=\(Self.azureCLI)&refresh_token=\(refresh)&scope=https%3A%2F%2Fapps.azureiotcentral.com%2F.default"
        let response = later.handle(EntraService.Request(method: "POST", tenant: Self.tenant, path: ["oauth2", "v2.0", "token"], baseURL: "https://x", body: Array(body.utf8)))
        #expect(response.status == 400 && String(decoding: response.body, as: UTF8.self).contains("AADSTS700082"))
    }

    @Test func resourceManagerTokensAreIssuedAndRefusedByIoTCentral() throws {
        let r = post(["grant_type": "client_credentials", "client_id": Self.confidential, "client_secret": "s", "scope": "https://management.azure.com/.default"])
        let token = try #require(r.body["access_token"] as? String)
        #expect(try service.verify(token, for: .resourceManager).aud == "https://management.azure.com/")
        #expect(throws: JSONWebToken.VerificationError.self) { try service.verify(token) }
        let graph = post(["grant_type": "client_credentials", "client_id": Self.confidential, "client_secret": "s", "scope": "https://graph.microsoft.com/.default"])
        #expect(graph.status == 400 && graph.body["error_codes"] as? [Int] == [500_011])
    }

    func get(_ tenant: String, _ path: [String], query: [(name: String, value: String)] = [], method: String = "GET") -> (status: Int, body: [String: Any]) {
        let response = service.handle(EntraService.Request(method: method, tenant: tenant, path: path, query: query, baseURL: "https://login.microsoftonline.com"))
        return (response.status, (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:])
    }

    @Test func instanceDiscoveryVouchesForAnAuthorizationEndpointBesideItsOpenIDConfiguration() {
        let v2 = get("common", ["discovery", "instance"], query: [("api-version", "1.1"), ("authorization_endpoint", "https://localhost:8765/\(Self.tenant)/oauth2/v2.0/authorize")])
        #expect(v2.status == 200)
        #expect(v2.body["tenant_discovery_endpoint"] as? String == "https://localhost:8765/\(Self.tenant)/v2.0/.well-known/openid-configuration")
        let v1 = get("common", ["discovery", "instance"], query: [("authorization_endpoint", "https://example.test/organizations/oauth2/authorize")])
        #expect(v1.body["tenant_discovery_endpoint"] as? String == "https://example.test/organizations/.well-known/openid-configuration")
        for bad in ["not a url", "https://example.test/x/y", "ftp://example.test/t/oauth2/authorize", "https://example.test/t/oauth2/authorize?x=1"] {
            let r = get("common", ["discovery", "instance"], query: [("authorization_endpoint", bad)])
            #expect(r.status == 400 && r.body["error"] as? String == "invalid_instance", "\(bad)")
        }
        #expect(get("common", ["discovery", "instance"]).status == 400)
        #expect(get("common", ["discovery", "instance"], method: "POST").status == 405)
    }

    @Test func userRealmIsManagedForTheDirectorysDomainsAndUnknownElsewhere() {
        let known = get("common", ["userrealm", "U@IOTC-MOCK.example"], query: [("api-version", "1.0")])
        #expect(known.status == 200 && known.body["account_type"] as? String == "Managed" && known.body["domain_name"] as? String == "iotc-mock.example")
        #expect(get("common", ["userrealm", "someone@contoso.example"]).body["account_type"] as? String == "Unknown")
        #expect(get(Self.tenant, ["userrealm", "u@iotc-mock.example"]).status == 404)
    }

    // MARK: Resource Manager

    var resourceManager: ResourceManager { ResourceManager(entra: service) }

    func arm(_ path: [String], token: String? = nil, version: String? = "2022-12-01", method: String = "GET", base: String = "https://management.azure.com") -> (status: Int, body: Any?, headers: [(String, String)]) {
        let response = resourceManager.handle(ResourceManager.Request(
            method: method, path: path, query: version.map { [("api-version", $0)] } ?? [], authorization: token.map { "Bearer \($0)" }, baseURL: base))
        return (response.status, try? JSONSerialization.jsonObject(with: Data(response.body)), response.headers)
    }

    func armCode(_ answer: (status: Int, body: Any?, headers: [(String, String)])) -> String? {
        ((answer.body as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
    }

    @Test func subscriptionsAndTenantsNeedAResourceManagerToken() throws {
        let missing = arm(["subscriptions"])
        #expect(missing.status == 401 && armCode(missing) == "AuthenticationFailed")
        #expect(missing.headers.contains { $0.0 == "WWW-Authenticate" && $0.1.hasPrefix("Bearer authorization_uri=\"https://login.microsoftonline.com/common\"") })
        let central = try #require(service.issueToken(for: "sp")?.token)
        #expect(armCode(arm(["subscriptions"], token: central)) == "InvalidAuthenticationTokenAudience")
        let expired = try #require(service.issueToken(for: "sp", resource: .resourceManager, now: Self.now - 7200)?.token)
        #expect(armCode(arm(["subscriptions"], token: expired)) == "ExpiredAuthenticationToken")
        #expect(armCode(arm(["subscriptions"], token: "e30.e30.sig")) == "InvalidAuthenticationToken")

        let token = try #require(service.issueToken(for: "u@iotc-mock.example", resource: .resourceManager)?.token)
        let list = try #require(arm(["subscriptions"], token: token).body as? [String: Any])
        let first = try #require((list["value"] as? [[String: Any]])?.first)
        #expect(first["subscriptionId"] as? String == Self.subscription && first["tenantId"] as? String == Self.tenant)
        #expect(first["id"] as? String == "/subscriptions/\(Self.subscription)" && first["state"] as? String == "Enabled")
        #expect(arm(["subscriptions", Self.subscription.uppercased()], token: token).status == 200)
        #expect(armCode(arm(["subscriptions", "00000000-0000-0000-0000-000000000000"], token: token)) == "SubscriptionNotFound")
        let tenants = try #require((arm(["tenants"], token: token).body as? [String: Any])?["value"] as? [[String: Any]])
        #expect(tenants.map { $0["tenantId"] as? String } == [Self.tenant] && tenants.first?["displayName"] as? String == "Mock")
    }

    @Test func resourceManagerRefusesWhatItDoesNotServe() throws {
        let token = try #require(service.issueToken(for: "sp", resource: .resourceManager)?.token)
        #expect(armCode(arm(["subscriptions"], token: token, version: nil)) == "MissingApiVersionParameter")
        let post = arm(["subscriptions"], token: token, method: "POST")
        #expect(post.status == 405 && post.headers.contains { $0 == ("Allow", "GET") })
        #expect(arm(["subscriptions", Self.subscription, "resourceGroups"], token: token).status == 404)
        #expect(arm(["metadata"]).status == 404)
    }

    @Test func cloudMetadataNamesTheMockAsItWasCalled() throws {
        let own = try #require(arm(["metadata", "endpoints"], version: "2022-09-01", base: "https://localhost:8765").body as? [String: Any])
        #expect(own["resourceManager"] as? String == "https://localhost:8765/")
        let authentication = try #require(own["authentication"] as? [String: Any])
        #expect(authentication["loginEndpoint"] as? String == "https://localhost:8765")
        #expect((authentication["audiences"] as? [String])?.first == "https://management.core.windows.net/")
        #expect(own["iotCentralResourceId"] as? String == "https://apps.azureiotcentral.com")
        let dropIn = try #require(arm(["metadata", "endpoints"], version: "2022-09-01").body as? [String: Any])
        #expect((dropIn["authentication"] as? [String: Any])?["loginEndpoint"] as? String == "https://login.microsoftonline.com")
        #expect((arm(["metadata", "endpoints"], version: "2019-05-01").body as? [[String: Any]])?.count == 1)
    }

    @Test func aDirectoryFileMustUseGUIDsAndDottedDomains() {
        func load(_ tenant: String) -> String? {
            do { _ = try EntraDirectory.load(Array("{\"tenants\":[\(tenant)]}".utf8), source: "entra.json"); return nil } catch { return "\(error)" }
        }
        #expect(load("{\"id\":\"\(Self.tenant)\",\"domain\":\"contoso.example\"}") == nil)
        #expect(load("{\"id\":\"\(Self.tenant)\",\"domain\":\"subscriptions\"}")?.contains("must be a DNS name with a dot") == true)
        #expect(load("{\"id\":\"tenants\",\"domain\":\"contoso.example\"}")?.contains("not a GUID") == true)
        #expect(load("{\"id\":\"\(Self.tenant)\",\"domain\":\"c.example\",\"subscriptions\":[{\"subscriptionId\":\"x\",\"displayName\":\"y\"}]}")?.contains("not a GUID") == true)
    }

    @Test func anAccessTokenIsNoRefreshTokenAndSaysSo() throws {
        let signIn = post(passwordForm())
        let access = try #require(signIn.body["access_token"] as? String)
        let r = post(["grant_type": "refresh_token", "client_id": Self.azureCLI, "refresh_token": access, "scope": "https://apps.azureiotcentral.com/.default"])
        #expect(r.status == 400 && (r.body["error_description"] as? String)?.contains("is an access token, not a refresh token") == true, "\(r.body)")
    }

    @Test func clientAssertionsAreRefusedAsNotEmulated() {
        let r = post(["grant_type": "client_credentials", "client_id": Self.confidential, "scope": "https://apps.azureiotcentral.com/.default",
                      "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": "e30.e30.x"])
        #expect(r.status == 401 && r.body["error_codes"] as? [Int] == [700_027])
    }

    @Test func errorTimestampsFollowTheMocksClock() {
        let r = post(["grant_type": "nonsense", "client_id": Self.confidential, "scope": "https://apps.azureiotcentral.com/.default"])
        // 1_900_000_000 is 2030-03-17.
        #expect((r.body["timestamp"] as? String)?.hasPrefix("2030-03-17 ") == true, "\(r.body)")
    }

    @Test func aDirectoryAppMarkedPublicSignsUsersInWithoutASecret() throws {
        let control = service.handleControl(method: "POST", path: [Self.tenant, "servicePrincipals"],
                                            body: Array(#"{"displayName":"my-public-app","appId":"11111111-2222-3333-4444-555555555555","publicClient":true}"#.utf8))
        #expect(control.status == 201)
        let refused = service.handleControl(method: "POST", path: [Self.tenant, "servicePrincipals"], body: Array(#"{"displayName":"x","publicClient":1}"#.utf8))
        #expect(refused.status == 400)
        #expect(post(passwordForm(client: "11111111-2222-3333-4444-555555555555")).status == 200)
        var withSecret = passwordForm(client: "11111111-2222-3333-4444-555555555555")
        withSecret["client_secret"] = "anything"
        #expect(post(withSecret).body["error_codes"] as? [Int] == [700_025])
    }
}
