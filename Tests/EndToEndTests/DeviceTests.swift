import Foundation
import Testing

@testable import Central
@testable import MockServer

/// Devices and device templates over HTTP: stored, versioned shapes, and organization scope on real data (the
/// README's us > washington > seattle tree, with oregon beside washington).
@Suite struct DeviceTests {
    static let v = "api-version=2022-07-31"
    static let builder = "344138e9-8de4-4497-8c54-5237e96d6aaf"
    static let operatorRole = "ae2c9854-393b-4f97-8c42-479d70ce626e"
    static let orgOperator = "b4935647-30e4-4ed3-9074-dcac66c2f8ef"
    static let template = "dtmi:contoso:thermostatTemplate;1"
    static let templateBody = #"{"@type":["ModelDefinition","DeviceModel"],"displayName":"Thermostat","capabilityModel":{"@id":"dtmi:contoso:thermostat;1","@type":"Interface","contents":[{"@type":"Telemetry","name":"temperature","schema":"double"}]}}"#

    /// A server with the organization tree, and a token for `role` (on `organization`, when given).
    static func serverWithTree() throws -> (MockServer, RawHTTPClient, String) {
        let server = try startServer()
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        for (id, body) in [
            ("us", #"{"displayName":"United States"}"#), ("washington", #"{"displayName":"Washington","parent":"us"}"#),
            ("seattle", #"{"displayName":"Seattle","parent":"washington"}"#), ("oregon", #"{"displayName":"Oregon","parent":"us"}"#),
        ] {
            try #require(try client.request("PUT", "/api/organizations/\(id)?\(v)", token: admin, body: body).status == 200)
        }
        return (server, client, admin)
    }

    static func token(_ client: RawHTTPClient, admin: String, id: String, role: String, organization: String? = nil) throws -> String {
        let assignment = organization.map { #"{"role":"\#(role)","organization":"\#($0)"}"# } ?? #"{"role":"\#(role)"}"#
        let made = try client.request("PUT", "/api/apiTokens/\(id)?\(v)", token: admin, body: #"{"roles":[\#(assignment)]}"#)
        return try #require(made.json["token"]?.stringValue, "\(made.text)")
    }

    static func ids(_ response: RawResponse) -> [String] {
        response.json["value"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }

    @Test func anOrgOperatorOfWashingtonSeesAndChangesOnlyTheDevicesOfWashingtonAndSeattle() throws {
        let (server, client, admin) = try Self.serverWithTree()
        defer { server.stop() }
        for (id, organization) in [("wa-1", "washington"), ("sea-1", "seattle"), ("or-1", "oregon"), ("us-1", "us")] {
            let made = try client.request("PUT", "/api/devices/\(id)?\(Self.v)", token: admin, body: #"{"displayName":"\#(id)","organizations":["\#(organization)"]}"#)
            try #require(made.status == 200, "\(made.text)")
        }
        #expect(try client.request("PUT", "/api/devices/root-1?\(Self.v)", token: admin, body: "{}").status == 200)
        let wa = try Self.token(client, admin: admin, id: "wa-operator", role: Self.orgOperator, organization: "washington")

        #expect(Self.ids(try client.request("GET", "/api/devices?\(Self.v)", token: wa)) == ["wa-1", "sea-1"])
        #expect(Self.ids(try client.request("GET", "/api/devices?\(Self.v)", token: admin)) == ["wa-1", "sea-1", "or-1", "us-1", "root-1"])
        #expect(try client.request("GET", "/api/devices/sea-1?\(Self.v)", token: wa).json["organizations"] == .array([.string("seattle")]))
        // Outside its subtree a device does not exist for it (404), whether it reads, changes or deletes it.
        for (method, body) in [("GET", nil), ("PATCH", #"{"enabled":false}"#), ("DELETE", nil)] as [(String, String?)] {
            let response = try client.request(method, "/api/devices/or-1?\(Self.v)", token: wa, body: body)
            #expect(response.status == 404 && response.json["error"]?["code"] == .string("NotFound"), "\(method): \(response.text)")
        }
        #expect(try client.request("GET", "/api/devices/root-1?\(Self.v)", token: wa).status == 404)

        // Creating: in seattle yes; in oregon, or moving a device there, no (403); with no organization it lands in
        // the caller's own.
        #expect(try client.request("PUT", "/api/devices/sea-2?\(Self.v)", token: wa, body: #"{"organizations":["seattle"]}"#).status == 200)
        let refused = try client.request("PUT", "/api/devices/or-2?\(Self.v)", token: wa, body: #"{"organizations":["oregon"]}"#)
        #expect(refused.status == 403 && refused.json["error"]?["code"] == .string("Forbidden"), "\(refused.text)")
        #expect(try client.request("PATCH", "/api/devices/sea-2?\(Self.v)", token: wa, body: #"{"organizations":["oregon"]}"#).status == 403)
        #expect(try client.request("PATCH", "/api/devices/sea-2?\(Self.v)", token: wa, body: #"{"organizations":null}"#).status == 403)
        let defaulted = try client.request("PUT", "/api/devices/wa-2?\(Self.v)", token: wa, body: #"{"displayName":"Mine"}"#)
        #expect(defaulted.json["organizations"] == .array([.string("washington")]), "\(defaulted.text)")
        // A device id taken outside its subtree cannot be overwritten through PUT.
        #expect(try client.request("PUT", "/api/devices/or-1?\(Self.v)", token: wa, body: #"{"organizations":["seattle"]}"#).status == 403)
        #expect(try client.request("GET", "/api/devices/or-1?\(Self.v)", token: admin).json["organizations"] == .array([.string("oregon")]))
        // An organization with devices cannot be deleted.
        let inUse = try client.request("DELETE", "/api/organizations/oregon?\(Self.v)", token: admin)
        #expect(inUse.status == 422 && inUse.json["error"]?["message"]?.stringValue?.contains("devices in it (or-1)") == true, "\(inUse.text)")
    }

    @Test func aBuilderPublishesATemplateAnOperatorAddsADeviceOfItButCannotPublish() throws {
        let (server, client, admin) = try Self.serverWithTree()
        defer { server.stop() }
        let builder = try Self.token(client, admin: admin, id: "builder", role: Self.builder)
        let operatorToken = try Self.token(client, admin: admin, id: "operator", role: Self.operatorRole)
        let path = "/api/deviceTemplates/\(Self.template)?\(Self.v)"

        let published = try client.request("PUT", path, token: builder, body: Self.templateBody)
        #expect(published.status == 200, "\(published.text)")
        #expect(published.json["@id"] == .string(Self.template))
        #expect(published.json["capabilityModel"]?["contents"]?.arrayValue?.first?["name"] == .string("temperature"))
        #expect(published.json["etag"]?.stringValue?.hasPrefix("\"~") == true)
        let denied = try client.request("PUT", "/api/deviceTemplates/dtmi:contoso:other;1?\(Self.v)", token: operatorToken, body: Self.templateBody)
        #expect(denied.status == 403 && denied.json["error"]?["code"] == .string("Forbidden"), "\(denied.text)")
        #expect(try client.request("GET", path, token: operatorToken).json == published.json)

        let device = try client.request("PUT", "/api/devices/thermostat-1?\(Self.v)", token: operatorToken, body: #"{"displayName":"Thermostat 1","template":"\#(Self.template)","simulated":true}"#)
        #expect(device.status == 200, "\(device.text)")
        #expect(device.json["template"] == .string(Self.template) && device.json["simulated"] == .bool(true) && device.json["enabled"] == .bool(true)
                && device.json["provisioned"] == .bool(false))
        #expect(Self.ids(try client.request("GET", "/api/deviceTemplates/\(Self.template)/devices?api-version=2021-04-30-preview", token: operatorToken)) == ["thermostat-1"])  // only that version has it
        // A template in use cannot be deleted; a missing one cannot be assigned.
        let inUse = try client.request("DELETE", path, token: admin)
        #expect(inUse.status == 422 && inUse.json["error"]?["code"] == .string("DeviceTemplateInUse"), "\(inUse.text)")
        #expect(try client.request("PATCH", "/api/devices/thermostat-1?\(Self.v)", token: operatorToken, body: #"{"template":"dtmi:contoso:missing;1"}"#).status == 400)
        #expect(try client.request("DELETE", "/api/devices/thermostat-1?\(Self.v)", token: operatorToken).status == 204)
        #expect(try client.request("DELETE", path, token: admin).status == 204)
        #expect(try client.request("GET", path, token: admin).status == 404)
    }

    @Test func templatesAndDevicesAreCheckedAsTheSpecSays() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let path = "/api/deviceTemplates/\(Self.template)?\(Self.v)"
        for (body, words) in [
            (#"{"capabilityModel":{}}"#, "'@type' is required"),
            (#"{"@type":"ModelDefinition","capabilityModel":{}}"#, "'@type' must be an array"),
            (#"{"@type":["DeviceModel"],"capabilityModel":{}}"#, "must contain \"ModelDefinition\""),
            (#"{"@type":["ModelDefinition","DeviceModel"]}"#, "'capabilityModel' is required"),
            (#"{"@type":["ModelDefinition","DeviceModel"],"capabilityModel":{"@id":"urn:x"}}"#, "capabilityModel.@id must be a DTMI"),
            (#"{"@type":["ModelDefinition","DeviceModel"],"capabilityModel":{},"displayName":7}"#, "'displayName' must be"),
        ] {
            let response = try client.request("PUT", path, token: admin, body: body)
            #expect(response.status == 422 && response.json["error"]?["message"]?.stringValue?.contains(words) == true, "\(body): \(response.text)")
        }
        #expect(try client.request("PUT", "/api/deviceTemplates/thermostat?\(Self.v)", token: admin, body: Self.templateBody).status == 422)
        // A merge patch changes the document and a new etag comes back; @id stays the path's.
        let first = try client.request("PUT", path, token: admin, body: Self.templateBody)
        let patched = try client.request("PATCH", path, token: admin, body: #"{"displayName":"Thermostat 2","@id":"dtmi:x:y;1"}"#)
        #expect(patched.json["displayName"] == .string("Thermostat 2") && patched.json["@id"] == .string(Self.template))
        #expect(patched.json["etag"] != first.json["etag"])

        for (body, status) in [
            (#"{"enabled":"yes"}"#, 422), (#"{"simulated":true}"#, 422), (#"{"displayName":""}"#, 422),
            (#"{"organizations":["a","b"]}"#, 422), (#"{"organizations":["nowhere"]}"#, 400), (#"{"template":"dtmi:none:x;1"}"#, 400),
        ] {
            let response = try client.request("PUT", "/api/devices/d1?\(Self.v)", token: admin, body: body)
            #expect(response.status == status, "\(body): \(response.text)")
        }
        #expect(try client.request("PUT", "/api/devices/bad%20id?\(Self.v)", token: admin, body: "{}").status == 422)
        #expect(try client.request("GET", "/api/devices?\(Self.v)", token: admin).json == .object([("value", .array([]))]), "nothing refused was stored")
        // api-version 1.0 has no organizations: not shown, not accepted.
        #expect(try client.request("PUT", "/api/devices/d2?api-version=1.0", token: admin, body: #"{"organizations":[]}"#).status == 422)
        let old = try client.request("PUT", "/api/devices/d2?api-version=1.0", token: admin, body: #"{"displayName":"Old"}"#)
        #expect(old.status == 200 && old.json["organizations"] == nil, "\(old.text)")
    }

    @Test func devicesAndTemplatesSurviveARestartAndAResetEmptiesThem() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-devices-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let configure: (inout MockServerConfiguration) -> Void = { $0.inMemory = false; $0.dataDirectory = folder.path }
        var server = try startServer(configure: configure)
        var client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        #expect(try client.request("PUT", "/api/deviceTemplates/\(Self.template)?\(Self.v)", token: admin, body: Self.templateBody).status == 200)
        #expect(try client.request("PUT", "/api/devices/kept?\(Self.v)", token: admin, body: #"{"template":"\#(Self.template)"}"#).status == 200)
        server.stop()
        server = try startServer(configure: configure)
        defer { server.stop() }
        client = try RawHTTPClient(port: server.port)
        #expect(try client.request("GET", "/api/devices/kept?\(Self.v)", token: admin).json["template"] == .string(Self.template))
        let application = try #require(server.application.id as String?)
        #expect(try client.request("POST", "/_mock/apps/\(application)/reset").status == 200)
        #expect(try client.request("GET", "/api/devices/kept?\(Self.v)", token: admin).status == 404)
        #expect(try client.request("GET", "/api/deviceTemplates?\(Self.v)", token: admin).json == .object([("value", .array([]))]))
    }
}

/// What a device sends and is sent, answered from the state the control plane sets in its place.
@Suite struct DeviceDataTests {
    static let v = DeviceTests.v
    static let template = #"{"@type":["ModelDefinition","DeviceModel"],"capabilityModel":{"@type":"Interface","contents":[{"@type":"Component","name":"thermostat1","schema":"dtmi:com:example:Thermostat;1"}]}}"#

    @Test func propertiesTelemetryAndCommandsComeFromTheControlPlanesStandIn() throws {
        let (server, client, admin) = try DeviceTests.serverWithTree()
        defer { server.stop() }
        #expect(try client.request("PUT", "/api/deviceTemplates/dtmi:t:x;1?\(Self.v)", token: admin, body: Self.template).status == 200)
        #expect(try client.request("PUT", "/api/devices/s1?\(Self.v)", token: admin, body: #"{"template":"dtmi:t:x;1","organizations":["washington"]}"#).status == 200)
        let app = server.application.id
        // Before the device connects: no telemetry (404), commands refused (404 DeviceNotConnected), not provisioned.
        #expect(try client.request("GET", "/api/devices/s1/telemetry/t?\(Self.v)", token: admin).status == 404)
        let offline = try client.request("POST", "/api/devices/s1/commands/reboot?\(Self.v)", token: admin, body: "{}")
        #expect(offline.status == 404 && offline.json["error"]?["code"] == .string("DeviceNotConnected"), "\(offline.text)")
        #expect(try client.request("GET", "/api/devices/s1?\(Self.v)", token: admin).json["provisioned"] == .bool(false))

        let played = try client.request("PATCH", "/_mock/apps/\(app)/devices/s1", body: #"{"reported":{"mode":"eco"},"telemetry":{"t":1.5,"thermostat1":{"temperature":20}},"timestamp":"2026-01-02T03:04:05Z"}"#)
        #expect(played.status == 200, "\(played.text)")
        #expect(try client.request("GET", "/api/devices/s1?\(Self.v)", token: admin).json["provisioned"] == .bool(true))
        // A PUT that replaces the device keeps what the body cannot set.
        #expect(try client.request("PUT", "/api/devices/s1?\(Self.v)", token: admin, body: #"{"template":"dtmi:t:x;1","organizations":["washington"]}"#).json["provisioned"] == .bool(true))
        #expect(try client.request("GET", "/api/devices/s1/telemetry/t?\(Self.v)", token: admin).json == .object([("timestamp", .string("2026-01-02T03:04:05.000Z")), ("value", .number(1.5))]))
        #expect(try client.request("GET", "/api/devices/s1/components/thermostat1/telemetry/temperature?\(Self.v)", token: admin).json["value"] == .number(20))
        #expect(try client.request("GET", "/api/devices/s1/components/nothere/properties?\(Self.v)", token: admin).status == 404)

        // Desired values: an update merges (null drops one), a replace keeps only what it names; reported wins.
        #expect(try client.request("PATCH", "/api/devices/s1/properties?\(Self.v)", token: admin, body: #"{"mode":"boost","fan":2}"#).status == 202)
        var properties = try client.request("GET", "/api/devices/s1/properties?\(Self.v)", token: admin).json
        #expect(properties["mode"] == .string("eco") && properties["fan"] == .number(2))
        #expect(properties["$metadata"]?["mode"]?["desiredValue"] == .string("boost") && properties["$metadata"]?["fan"]?["desiredVersion"] == .number(1))
        #expect(try client.request("PUT", "/api/devices/s1/properties?\(Self.v)", token: admin, body: #"{"fan":3}"#).status == 202)
        properties = try client.request("GET", "/api/devices/s1/properties?\(Self.v)", token: admin).json
        #expect(properties["fan"] == .number(3) && properties["$metadata"]?["fan"]?["desiredVersion"] == .number(2))
        #expect(properties["$metadata"]?["mode"]?["desiredValue"] == nil)
        #expect(try client.request("PATCH", "/api/devices/s1/properties?\(Self.v)", token: admin, body: #"{"$metadata":1}"#).status == 422)

        // Commands: the configured answer, a default 200 otherwise; history newest first; timeouts checked.
        #expect(try client.request("PATCH", "/_mock/apps/\(app)/devices/s1", body: #"{"commands":{"reboot":{"responseCode":500,"response":"busy"}}}"#).status == 200)
        let run = try client.request("POST", "/api/devices/s1/commands/reboot?\(Self.v)", token: admin, body: #"{"request":1,"responseTimeout":10}"#)
        #expect(run.status == 201 && run.json["responseCode"] == .number(500) && run.json["response"] == .string("busy"), "\(run.text)")
        let other = try client.request("POST", "/api/devices/s1/commands/other?\(Self.v)", token: admin, body: "{}")
        #expect(other.status == 201 && other.json["responseCode"] == .number(200) && other.json["response"] == nil)
        #expect(try client.request("POST", "/api/devices/s1/commands/reboot?\(Self.v)", token: admin, body: #"{"responseTimeout":4}"#).status == 422)
        #expect(try client.request("POST", "/api/devices/s1/commands/reboot?\(Self.v)", token: admin, body: #"{"request":2}"#).status == 201)
        let history = try client.request("GET", "/api/devices/s1/commands/reboot?\(Self.v)", token: admin).json["value"]?.arrayValue ?? []
        #expect(history.map { $0["request"] } == [.number(2), .number(1)])
        // Disconnected again: refused.
        #expect(try client.request("PATCH", "/_mock/apps/\(app)/devices/s1", body: #"{"connected":false}"#).status == 200)
        #expect(try client.request("POST", "/api/devices/s1/commands/reboot?\(Self.v)", token: admin, body: "{}").status == 404)

        // Organization scope holds for device data too: oregon's operator does not see washington's device.
        let oregon = try DeviceTests.token(client, admin: admin, id: "or-op", role: DeviceTests.orgOperator, organization: "oregon")
        #expect(try client.request("GET", "/api/devices/s1/properties?\(Self.v)", token: oregon).status == 404)
        #expect(try client.request("PATCH", "/api/devices/s1/properties?\(Self.v)", token: oregon, body: #"{"fan":9}"#).status == 404)
        // The control plane refuses what it does not understand; a device's data goes with it.
        #expect(try client.request("PATCH", "/_mock/apps/\(app)/devices/s1", body: #"{"reportd":{}}"#).status == 400)
        #expect(try client.request("PATCH", "/_mock/apps/\(app)/devices/nope", body: "{}").status == 404)
        #expect(try client.request("DELETE", "/api/devices/s1?\(Self.v)", token: admin).status == 204)
        #expect(try client.request("PUT", "/api/devices/s1?\(Self.v)", token: admin, body: #"{"template":"dtmi:t:x;1"}"#).status == 200)
        #expect(try client.request("GET", "/api/devices/s1/commands/reboot?\(Self.v)", token: admin).json["value"] == .array([]))
        #expect(try client.request("GET", "/api/devices/s1/properties?\(Self.v)", token: admin).json == .object([("$metadata", .object([]))]))
    }
}

/// Device groups: membership from the filter, scoped to the caller and the group's organization.
@Suite struct DeviceGroupTests {
    static let v = DeviceTests.v

    @Test func aGroupsDevicesComeFromItsFilterWithinWhatTheCallerMaySee() throws {
        let (server, client, admin) = try DeviceTests.serverWithTree()
        defer { server.stop() }
        let template = "dtmi:contoso:thermostatTemplate;1"
        #expect(try client.request("PUT", "/api/deviceTemplates/\(template)?\(Self.v)", token: admin, body: DeviceTests.templateBody).status == 200)
        for (id, organization, withTemplate) in [("t-wa", "washington", true), ("t-sea", "seattle", true), ("t-or", "oregon", true), ("plain-wa", "washington", false)] {
            let templateMember = withTemplate ? #","template":"\#(template)""# : ""
            #expect(try client.request("PUT", "/api/devices/\(id)?\(Self.v)", token: admin, body: #"{"organizations":["\#(organization)"]\#(templateMember)}"#).status == 200)
        }
        let filter = #"SELECT * FROM devices WHERE $template = \"\#(template)\""#
        let made = try client.request("PUT", "/api/deviceGroups/thermostats?\(Self.v)", token: admin, body: #"{"displayName":"Thermostats","filter":"\#(filter)"}"#)
        #expect(made.status == 200 && made.json["filter"]?.stringValue?.hasPrefix("SELECT") == true, "\(made.text)")
        #expect(DeviceTests.ids(try client.request("GET", "/api/deviceGroups/thermostats/devices?\(Self.v)", token: admin)) == ["t-wa", "t-sea", "t-or"])
        // A group of washington selects only within washington's subtree, and its operator sees that group only.
        let scoped = try client.request("PUT", "/api/deviceGroups/wa-all?\(Self.v)", token: admin, body: #"{"displayName":"WA","filter":"SELECT * FROM devices","organizations":["washington"]}"#)
        #expect(scoped.status == 200, "\(scoped.text)")
        #expect(DeviceTests.ids(try client.request("GET", "/api/deviceGroups/wa-all/devices?\(Self.v)", token: admin)) == ["t-wa", "t-sea", "plain-wa"])
        let wa = try DeviceTests.token(client, admin: admin, id: "wa-op", role: DeviceTests.orgOperator, organization: "washington")
        #expect(DeviceTests.ids(try client.request("GET", "/api/deviceGroups?\(Self.v)", token: wa)) == ["wa-all"])
        #expect(try client.request("GET", "/api/deviceGroups/thermostats/devices?\(Self.v)", token: wa).status == 404)
        // Membership follows the devices: a change of template moves a device out.
        #expect(try client.request("PATCH", "/api/devices/t-sea?\(Self.v)", token: admin, body: #"{"template":null}"#).status == 200)
        #expect(DeviceTests.ids(try client.request("GET", "/api/deviceGroups/thermostats/devices?\(Self.v)", token: admin)) == ["t-wa", "t-or"])
        let combined = try client.request("PATCH", "/api/deviceGroups/thermostats?\(Self.v)", token: admin, body: #"{"filter":"select * from devices where $template = '\#(template)' and $organization != 'oregon'"}"#)
        #expect(combined.status == 200, "\(combined.text)")
        #expect(DeviceTests.ids(try client.request("GET", "/api/deviceGroups/thermostats/devices?\(Self.v)", token: admin)) == ["t-wa"])
        #expect(try client.request("DELETE", "/api/deviceGroups/thermostats?\(Self.v)", token: admin).status == 204)
        #expect(try client.request("GET", "/api/deviceGroups/thermostats?\(Self.v)", token: admin).status == 404)
    }

    @Test func aFilterIotcMockDoesNotUnderstandIsA422ThatSaysWhat() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        for (filter, words) in [
            ("SELECT * FROM devices WHERE $template = 'a' OR $id = 'b'", "expected 'AND' instead of 'OR'"),
            ("SELECT * FROM devices WHERE temperature > 5", "'temperature' is not a field"),
            ("SELECT * FROM devices WHERE $id > 'a'", "'>' is not supported"),
            ("SELECT id FROM devices", "expected '*'"),
            ("SELECT * FROM devices WHERE $id = 'a", "not closed"),
        ] {
            let response = try client.request("PUT", "/api/deviceGroups/g?\(Self.v)", token: admin, body: #"{"displayName":"G","filter":"\#(filter)"}"#)
            #expect(response.status == 422 && response.json["error"]?["message"]?.stringValue?.contains(words) == true, "\(filter): \(response.text)")
        }
        #expect(try client.request("PUT", "/api/deviceGroups/g?\(Self.v)", token: admin, body: #"{"displayName":"G"}"#).status == 422)
        #expect(try client.request("PUT", "/api/deviceGroups/g%20h?\(Self.v)", token: admin, body: #"{"displayName":"G","filter":"SELECT * FROM devices"}"#).status == 422)
        #expect(try client.request("GET", "/api/deviceGroups?\(Self.v)", token: admin).json == .object([("value", .array([]))]))
    }
}

/// A device's attestation and credentials.
@Suite struct DeviceAttestationTests {
    static let v = DeviceTests.v

    @Test func credentialsAreStableDerivedKeysUntilAnAttestationIsSet() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        #expect(try client.request("PUT", "/api/devices/d1?\(Self.v)", token: admin, body: "{}").status == 200)
        #expect(try client.request("PUT", "/api/devices/d2?\(Self.v)", token: admin, body: "{}").status == 200)
        let first = try client.request("GET", "/api/devices/d1/credentials?\(Self.v)", token: admin)
        #expect(first.status == 200 && first.json["idScope"]?.stringValue?.hasPrefix("0ne") == true, "\(first.text)")
        let key = try #require(first.json["symmetricKey"]?["primaryKey"]?.stringValue)
        #expect(Data(base64Encoded: key)?.count == 32)
        #expect(try client.request("GET", "/api/devices/d1/credentials?\(Self.v)", token: admin).json == first.json, "stable")
        #expect(try client.request("GET", "/api/devices/d2/credentials?\(Self.v)", token: admin).json["symmetricKey"] != first.json["symmetricKey"])
        #expect(try client.request("GET", "/api/devices/d1/attestation?\(Self.v)", token: admin).status == 404)

        let tpm = #"{"type":"tpm","tpm":{"endorsementKey":"AToAAQALAAMAsgAgg3GXZ0SEs"}}"#
        let set = try client.request("PUT", "/api/devices/d1/attestation?\(Self.v)", token: admin, body: tpm)
        let expected = try JSONValue.parse(Array(tpm.utf8))
        #expect(set.status == 200 && set.json == expected, "\(set.text)")
        #expect(try client.request("GET", "/api/devices/d1/credentials?\(Self.v)", token: admin).json["tpm"]?["endorsementKey"] == .string("AToAAQALAAMAsgAgg3GXZ0SEs"))
        for (body, words) in [
            (#"{"tpm":{"endorsementKey":"x"}}"#, "'type' is required"), (#"{"type":"password"}"#, "not one of"),
            (#"{"type":"symmetricKey","symmetricKey":{"primaryKey":"a"}}"#, "secondaryKey is required"),
            (#"{"type":"x509","x509":{"clientCertificates":{}}}"#, "primary is required"),
        ] {
            let response = try client.request("PUT", "/api/devices/d1/attestation?\(Self.v)", token: admin, body: body)
            #expect(response.status == 422 && response.json["error"]?["message"]?.stringValue?.contains(words) == true, "\(body): \(response.text)")
        }
        let patched = try client.request("PATCH", "/api/devices/d1/attestation?\(Self.v)", token: admin, body: #"{"type":"symmetricKey","tpm":null,"symmetricKey":{"primaryKey":"cA==","secondaryKey":"cw=="}}"#)
        #expect(patched.status == 200 && patched.json["symmetricKey"]?["secondaryKey"] == .string("cw=="), "\(patched.text)")
        #expect(try client.request("DELETE", "/api/devices/d1/attestation?\(Self.v)", token: admin).status == 204)
        #expect(try client.request("DELETE", "/api/devices/d1/attestation?\(Self.v)", token: admin).status == 404)
        #expect(try client.request("GET", "/api/devices/d1/credentials?\(Self.v)", token: admin).json == first.json)
        #expect(try client.request("GET", "/api/devices/nope/credentials?\(Self.v)", token: admin).status == 404)
    }
}

/// The application's file upload configuration.
@Suite struct FileUploadTests {
    @Test func theConfigurationIsStoredCheckedAndRemoved() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let path = "/api/fileUploads?api-version=2022-10-31-preview"
        #expect(try client.request("GET", path, token: admin).status == 404)
        let body = #"{"connectionString":"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5","container":"uploads","sasTtl":"PT1H","readAccess":true}"#
        let made = try client.request("PUT", path, token: admin, body: body)
        #expect(made.status == 200 && made.json["state"] == .string("succeeded") && made.json["readAccess"] == .bool(true), "\(made.text)")
        #expect(try client.request("GET", "/api/fileUploads?api-version=2022-07-31", token: admin).json["readAccess"] == nil, "not in 2022-07-31")
        for (bad, words) in [
            (#"{"container":"c"}"#, "'connectionString' is required"), (#"{"connectionString":"x","container":""}"#, "non-empty string"),
            (#"{"connectionString":"x","container":"c","sasTtl":"1 hour"}"#, "ISO 8601 duration"),
        ] {
            let response = try client.request("PUT", path, token: admin, body: bad)
            #expect(response.status == 422 && response.json["error"]?["message"]?.stringValue?.contains(words) == true, "\(bad): \(response.text)")
        }
        let patched = try client.request("PATCH", path, token: admin, body: #"{"sasTtl":"P1DT2H","account":null}"#)
        #expect(patched.status == 200 && patched.json["sasTtl"] == .string("P1DT2H") && patched.json["container"] == .string("uploads"), "\(patched.text)")
        let operatorToken = try DeviceTests.token(client, admin: admin, id: "op", role: DeviceTests.operatorRole)
        #expect(try client.request("PUT", path, token: operatorToken, body: body).status == 403)
        #expect(try client.request("DELETE", path, token: admin).status == 204)
        #expect(try client.request("DELETE", path, token: admin).status == 404)
        #expect(CentralService.isDuration("PT30M") && CentralService.isDuration("P1D") && !CentralService.isDuration("P") && !CentralService.isDuration("PT"))
    }
}

extension DeviceDataTests {
    /// The spec's example "Update device properties": a component's values nested under its name in the device's own
    /// properties, answered with `$metadata.{name}.desiredValue`.
    @Test func settingPropertiesAnswersAsTheSpecsExample() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let template = #"{"@type":["ModelDefinition","DeviceModel"],"capabilityModel":{"@type":"Interface","contents":[{"@type":"Component","name":"settings","schema":"dtmi:x:settings;1"}]}}"#
        #expect(try client.request("PUT", "/api/deviceTemplates/dtmi:t:s;1?\(Self.v)", token: admin, body: template).status == 200)
        #expect(try client.request("PUT", "/api/devices/mx1?\(Self.v)", token: admin, body: #"{"template":"dtmi:t:s;1"}"#).status == 200)
        let set = try client.request("PATCH", "/api/devices/mx1/properties?\(Self.v)", token: admin, body: #"{"settings":{"voltage":25,"current":7}}"#)
        #expect(set.status == 202)
        #expect(set.json == .object([("settings", .object([("$metadata", .object([
            ("voltage", .object([("desiredValue", .number(25))])), ("current", .object([("desiredValue", .number(7))])),
        ]))]))]), "\(set.text)")
        let component = try client.request("GET", "/api/devices/mx1/components/settings/properties?\(Self.v)", token: admin)
        #expect(component.json["voltage"] == .number(25) && component.json["$metadata"]?["current"]?["desiredValue"] == .number(7), "\(component.text)")
    }
}

extension DeviceDataTests {
    /// Found by a new-user trial: the control plane took reserved names (the answer then had `$metadata` twice),
    /// component members that were not objects, and any response code; a filter compared a flag with a string.
    @Test func reservedNamesNonObjectComponentsAndOddCodesAreRefused() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        #expect(try client.request("PUT", "/api/deviceTemplates/dtmi:t:x;1?\(Self.v)", token: admin, body: Self.template).status == 200)
        #expect(try client.request("PUT", "/api/devices/w1?\(Self.v)", token: admin, body: #"{"template":"dtmi:t:x;1"}"#).status == 200)
        let app = server.application.id
        for body in [#"{"reported":{"$metadata":{"x":1}}}"#, #"{"reported":{"__t":"c"}}"#, #"{"reported":{"thermostat1":5}}"#,
                     #"{"commands":{"reboot":{"responseCode":-1}}}"#, #"{"commands":{"reboot":{"responseCode":99999}}}"#] {
            #expect(try client.request("PATCH", "/_mock/apps/\(app)/devices/w1", body: body).status == 400, "\(body)")
        }
        #expect(try client.request("GET", "/api/devices/w1/properties?\(Self.v)", token: admin).json == .object([("$metadata", .object([]))]), "nothing refused was kept")
        #expect(try client.request("PATCH", "/api/devices/w1/properties?\(Self.v)", token: admin, body: #"{"thermostat1":5}"#).status == 422)
        #expect(try client.request("PUT", "/api/deviceGroups/g?\(Self.v)", token: admin, body: #"{"displayName":"G","filter":"SELECT * FROM devices WHERE $provisioned = 'yes'"}"#).status == 422)
        #expect(try client.request("PUT", "/api/deviceGroups/g?\(Self.v)", token: admin, body: #"{"displayName":"G","filter":"SELECT * FROM devices WHERE $id = true"}"#).status == 422)
    }
}
