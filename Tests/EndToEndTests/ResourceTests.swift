import Foundation
import Synchronization
import Testing

@testable import Central
@testable import MockServer

/// The resources checked by the spec's models, over HTTP: dashboards, deployment manifests, data export, continuous
/// data exports, enrollment groups and their certificates, relationships, cloud properties.
@Suite struct DocumentResourceTests {
    static let preview = "api-version=2022-10-31-preview"
    static let v = DeviceTests.v

    @Test func aDashboardIsCheckedByTheSpecModelAndScopedByItsOrganization() throws {
        let (server, client, admin) = try DeviceTests.serverWithTree()
        defer { server.stop() }
        let tile = #"{"displayName":"Notes","configuration":{"type":"markdown","description":"**hi**"},"height":2,"width":2,"x":0,"y":0}"#
        let made = try client.request("PUT", "/api/dashboards/main?\(Self.preview)", token: admin, body: #"{"displayName":"Main","tiles":[\#(tile)],"organizations":["washington"]}"#)
        try #require(made.status == 200, "\(made.text)")
        #expect(made.json["personal"] == .bool(false) && made.json["favorite"] == .bool(false))
        let tileID = try #require(made.json["tiles"]?.arrayValue?.first?["id"]?.stringValue)
        // A merge patch keeps the rest, and each tile its id.
        let patched = try client.request("PATCH", "/api/dashboards/main?\(Self.preview)", token: admin, body: #"{"favorite":true}"#)
        #expect(patched.json["favorite"] == .bool(true) && patched.json["displayName"] == .string("Main"), "\(patched.text)")
        #expect(patched.json["tiles"]?.arrayValue?.first?["id"] == .string(tileID))
        #expect(patched.json["etag"] != made.json["etag"])

        // The spec's model decides what is valid: a tile type its subtypes do not name, a wrong type, a missing member.
        for (body, named) in [
            (#"{"displayName":"X","tiles":[{"displayName":"t","configuration":{"type":"sparkles"},"height":1,"width":1,"x":0,"y":0}]}"#, "tiles[0].configuration.type"),
            (#"{"displayName":3}"#, "displayName"),
            (#"{"tiles":[]}"#, "displayName"),
            (#"{"displayName":"X","tiles":[{"displayName":"t","configuration":{"type":"markdown"},"height":1,"width":1,"x":0,"y":0}]}"#, "tiles[0].configuration.description"),
        ] {
            let refused = try client.request("PUT", "/api/dashboards/bad?\(Self.preview)", token: admin, body: body)
            #expect(refused.status == 422 && refused.json["error"]?["message"]?.stringValue?.contains("'\(named)'") == true, "\(body): \(refused.text)")
        }
        #expect(try client.request("GET", "/api/dashboards/bad?\(Self.preview)", token: admin).status == 404)
        #expect(try client.request("PUT", "/api/dashboards/has-dash?\(Self.preview)", token: admin, body: #"{"displayName":"X"}"#).status == 422, "the id pattern")

        // An Org Operator of oregon neither sees nor reaches washington's dashboard.
        #expect(try client.request("PUT", "/api/dashboards/root?\(Self.preview)", token: admin, body: #"{"displayName":"Root"}"#).status == 200)
        let oregon = try DeviceTests.token(client, admin: admin, id: "or-op", role: DeviceTests.orgOperator, organization: "oregon")
        #expect(DeviceTests.ids(try client.request("GET", "/api/dashboards?\(Self.preview)", token: oregon)) == [])
        #expect(try client.request("GET", "/api/dashboards/main?\(Self.preview)", token: oregon).status == 404)
        let washington = try DeviceTests.token(client, admin: admin, id: "wa-op", role: DeviceTests.orgOperator, organization: "washington")
        #expect(DeviceTests.ids(try client.request("GET", "/api/dashboards?\(Self.preview)", token: washington)) == ["main"])
        #expect(DeviceTests.ids(try client.request("GET", "/api/dashboards?\(Self.preview)", token: admin)) == ["main", "root"])
        #expect(try client.request("DELETE", "/api/dashboards/main?\(Self.preview)", token: admin).status == 204)
        #expect(try client.request("GET", "/api/dashboards/main?\(Self.preview)", token: admin).status == 404)
    }

    @Test func anExportNeedsItsDestinationsAndADestinationInUseStays() throws {
        let (server, client, admin) = try DeviceTests.serverWithTree()
        defer { server.stop() }
        let blob = #"{"displayName":"Blob","type":"blobstorage@v1","authorization":{"type":"connectionString","connectionString":"DefaultEndpointsProtocol=https;AccountName=a","containerName":"c"}}"#
        let destination = try client.request("PUT", "/api/dataExport/destinations/blob?\(Self.preview)", token: admin, body: blob)
        #expect(destination.status == 200 && destination.json["status"] == .string("healthy"), "\(destination.text)")
        // ExportDestination extends a destination with `transform`; it is no destination type of its own.
        let base = try client.request("PUT", "/api/dataExport/destinations/x?\(Self.preview)", token: admin, body: #"{"displayName":"W","type":"ExportDestination"}"#)
        #expect(base.status == 422 && !base.text.contains("ExportDestination,"), "\(base.text)")
        let noAuthorization = try client.request("PUT", "/api/dataExport/destinations/x?\(Self.preview)", token: admin, body: #"{"displayName":"B","type":"blobstorage@v1"}"#)
        #expect(noAuthorization.status == 422 && noAuthorization.text.contains("'authorization' is required"), "\(noAuthorization.text)")

        let missing = try client.request("PUT", "/api/dataExport/exports/e1?\(Self.preview)", token: admin,
                                         body: #"{"displayName":"E","enabled":true,"source":"telemetry","destinations":[{"id":"nowhere"}]}"#)
        #expect(missing.status == 400 && missing.text.contains("'nowhere' does not exist"), "\(missing.text)")
        let export = try client.request("PUT", "/api/dataExport/exports/e1?\(Self.preview)", token: admin,
                                        body: #"{"displayName":"E","enabled":true,"source":"telemetry","destinations":[{"id":"blob","transform":"{ id: .device.id }"}]}"#)
        #expect(export.status == 200 && export.json["status"] == .string("healthy"), "\(export.text)")
        let badSource = try client.request("PUT", "/api/dataExport/exports/e2?\(Self.preview)", token: admin,
                                           body: #"{"displayName":"E","enabled":true,"source":"weather","destinations":[]}"#)
        #expect(badSource.status == 422 && badSource.text.contains("'source'"), "\(badSource.text)")

        let sending = try client.request("GET", "/api/dataExport/destinations/blob/exports?\(Self.preview)", token: admin)
        #expect(DeviceTests.ids(sending) == ["e1"] && sending.json["value"]?.arrayValue?.first?["transform"] == .string("{ id: .device.id }"))
        #expect(DeviceTests.ids(try client.request("GET", "/api/dataExport/exports/e1/destinations?\(Self.preview)", token: admin)) == ["blob"])
        let inUse = try client.request("DELETE", "/api/dataExport/destinations/blob?\(Self.preview)", token: admin)
        #expect(inUse.status == 422 && inUse.text.contains("used by the export 'e1'"), "\(inUse.text)")
        #expect(try client.request("PATCH", "/api/dataExport/exports/e1?\(Self.preview)", token: admin, body: #"{"enabled":false,"destinations":[]}"#).json["status"] == .string("notStarted"))
        #expect(try client.request("DELETE", "/api/dataExport/destinations/blob?\(Self.preview)", token: admin).status == 204)
        // Data export is a preview feature: 2022-07-31 does not have it (404), and a Builder may only read it.
        #expect(try client.request("GET", "/api/dataExport/exports?\(Self.v)", token: admin).status == 404)
        let builder = try DeviceTests.token(client, admin: admin, id: "builder", role: DeviceTests.builder)
        #expect(try client.request("GET", "/api/dataExport/exports?\(Self.preview)", token: builder).status == 200)
        #expect(try client.request("PUT", "/api/dataExport/destinations/b2?\(Self.preview)", token: builder, body: blob).status == 403)
    }

    @Test func enrollmentGroupsGetKeysAndCertificatesAreVerifiedWithACode() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let keyed = try client.request("PUT", "/api/enrollmentGroups/sas?\(Self.v)", token: admin, body: #"{"displayName":"SAS","type":"iot","attestation":{"type":"symmetricKey"}}"#)
        #expect(keyed.status == 200 && keyed.json["enabled"] == .bool(true), "\(keyed.text)")
        let primary = try #require(keyed.json["attestation"]?["symmetricKey"]?["primaryKey"]?.stringValue)
        #expect(Data(base64Encoded: primary)?.count == 32)
        // The keys stay through a patch.
        let renamed = try client.request("PATCH", "/api/enrollmentGroups/sas?\(Self.v)", token: admin, body: #"{"displayName":"Renamed"}"#)
        #expect(renamed.json["attestation"]?["symmetricKey"]?["primaryKey"] == .string(primary) && renamed.json["displayName"] == .string("Renamed"))
        #expect(try client.request("PUT", "/api/enrollmentGroups/bad?\(Self.v)", token: admin, body: #"{"displayName":"G","type":"iotHub","attestation":{"type":"symmetricKey"}}"#).status == 422)
        #expect(try client.request("GET", "/api/enrollmentGroups/sas?\(Self.preview)", token: admin).json["idScope"]?.stringValue?.hasPrefix("0ne") == true)

        #expect(try client.request("PUT", "/api/enrollmentGroups/x509?\(Self.v)", token: admin, body: #"{"displayName":"X","type":"iotEdge","attestation":{"type":"x509"}}"#).status == 200)
        #expect(try client.request("GET", "/api/enrollmentGroups/x509/certificates/primary?\(Self.v)", token: admin).status == 404)
        let certificate = "-----BEGIN CERTIFICATE-----\\nAAECAw==\\n-----END CERTIFICATE-----"
        let set = try client.request("PUT", "/api/enrollmentGroups/x509/certificates/primary?\(Self.v)", token: admin, body: #"{"certificate":"\#(certificate)"}"#)
        #expect(set.status == 200 && set.json["verified"] == .bool(false), "\(set.text)")
        // SHA-1 of the DER bytes 00 01 02 03.
        #expect(set.json["info"]?["sha1Thumbprint"] == .string("A02A05B025B928C039CF1AE7E8EE04E7C190C0DB"))
        let early = try client.request("POST", "/api/enrollmentGroups/x509/certificates/primary/verify?\(Self.v)", token: admin, body: #"{"certificate":"proof"}"#)
        #expect(early.status == 422, "\(early.text)")
        let code = try client.request("POST", "/api/enrollmentGroups/x509/certificates/primary/generateVerificationCode?\(Self.v)", token: admin)
        #expect(code.json["verificationCode"]?.stringValue?.count == 48, "\(code.text)")
        #expect(try client.request("POST", "/api/enrollmentGroups/x509/certificates/primary/verify?\(Self.v)", token: admin, body: #"{"certificate":"proof"}"#).status == 204)
        #expect(try client.request("GET", "/api/enrollmentGroups/x509/certificates/primary?\(Self.v)", token: admin).json["verified"] == .bool(true))
        #expect(try client.request("GET", "/api/enrollmentGroups/x509?\(Self.v)", token: admin).json["attestation"]?["x509"]?["signingCertificates"]?["primary"]?["verified"] == .bool(true))
        #expect(try client.request("PUT", "/api/enrollmentGroups/sas/certificates/primary?\(Self.v)", token: admin, body: #"{"certificate":"c"}"#).status == 422, "not an x509 group")
        #expect(try client.request("PUT", "/api/enrollmentGroups/x509/certificates/secondary?\(Self.v)", token: admin, body: #"{"certificate":""}"#).status == 422)
        #expect(try client.request("PUT", "/api/enrollmentGroups/x5?\(Self.v)", token: admin,
                                   body: #"{"displayName":"X","type":"iot","attestation":{"type":"x509","x509":{"signingCertificates":{"primary":{"certificate":""}}}}}"#).status == 422)
        #expect(try client.request("DELETE", "/api/enrollmentGroups/x509/certificates/primary?\(Self.v)", token: admin).status == 204)
        #expect(try client.request("GET", "/api/enrollmentGroups/x509/certificates/primary?\(Self.v)", token: admin).status == 404)
        #expect(DeviceTests.ids(try client.request("GET", "/api/enrollmentGroups?\(Self.v)", token: admin)) == ["sas", "x509"])
    }

    @Test func relationshipsManifestsCloudPropertiesAndContinuousExports() throws {
        let (server, client, admin) = try DeviceTests.serverWithTree()
        defer { server.stop() }
        for (id, organization) in [("gateway", "washington"), ("sensor", "washington"), ("far", "oregon")] {
            try #require(try client.request("PUT", "/api/devices/\(id)?\(Self.v)", token: admin, body: #"{"organizations":["\#(organization)"]}"#).status == 200)
        }
        let made = try client.request("PUT", "/api/devices/gateway/relationships/r1?\(Self.v)", token: admin, body: #"{"target":"sensor"}"#)
        #expect(made.json == .object([("id", .string("r1")), ("source", .string("gateway")), ("target", .string("sensor"))]), "\(made.text)")
        #expect(try client.request("PUT", "/api/devices/gateway/relationships/r2?\(Self.v)", token: admin, body: #"{"target":"ghost"}"#).status == 400)
        #expect(try client.request("PUT", "/api/devices/gateway/relationships/r2?\(Self.v)", token: admin, body: #"{"source":"sensor","target":"sensor"}"#).status == 422)
        #expect(DeviceTests.ids(try client.request("GET", "/api/devices/gateway/relationships?\(Self.v)", token: admin)) == ["r1"])
        #expect(DeviceTests.ids(try client.request("GET", "/api/devices/sensor/relationships?\(Self.v)", token: admin)) == [])
        // An Org Operator of washington cannot point a relationship at oregon's device: for it, that one does not exist.
        let wa = try DeviceTests.token(client, admin: admin, id: "wa", role: DeviceTests.orgOperator, organization: "washington")
        #expect(try client.request("PATCH", "/api/devices/gateway/relationships/r1?\(Self.v)", token: wa, body: #"{"target":"far"}"#).status == 400)
        #expect(try client.request("GET", "/api/devices/far/relationships?\(Self.v)", token: wa).status == 404)
        #expect(try client.request("DELETE", "/api/devices/gateway/relationships/r1?\(Self.v)", token: wa).status == 204)
        // A relationship to a device it may not see is left out for it.
        #expect(try client.request("PUT", "/api/devices/gateway/relationships/to-far?\(Self.v)", token: admin, body: #"{"target":"far"}"#).status == 200)
        #expect(DeviceTests.ids(try client.request("GET", "/api/devices/gateway/relationships?\(Self.v)", token: wa)) == [])
        #expect(try client.request("GET", "/api/devices/gateway/relationships/to-far?\(Self.v)", token: wa).status == 404)
        #expect(DeviceTests.ids(try client.request("GET", "/api/devices/gateway/relationships?\(Self.v)", token: admin)) == ["to-far"])

        // Deployment manifests, and one applied to a device.
        let manifest = #"{"displayName":"Edge","data":{"modulesContent":{"$edgeAgent":{}}}}"#
        #expect(try client.request("PUT", "/api/deploymentManifests/edge1?\(Self.preview)", token: admin, body: manifest).status == 200)
        #expect(try client.request("PUT", "/api/deploymentManifests/edge2?\(Self.preview)", token: admin, body: #"{"displayName":"No data"}"#).status == 422)
        let applied = try client.request("POST", "/api/devices/gateway/applyDeploymentManifest?\(Self.preview)", token: admin, body: manifest)
        #expect(applied.status == 200 && applied.json["data"]?["modulesContent"] != nil, "\(applied.text)")

        // Cloud properties and continuous data exports exist in 2021-04-30-preview only.
        let legacy = "api-version=2021-04-30-preview"
        #expect(try client.request("GET", "/api/devices/gateway/cloudProperties?\(legacy)", token: admin).json == .object([]))
        #expect(try client.request("PUT", "/api/devices/gateway/cloudProperties?\(legacy)", token: admin, body: #"{"site":"A","floor":1}"#).status == 200)
        let merged = try client.request("PATCH", "/api/devices/gateway/cloudProperties?\(legacy)", token: admin, body: #"{"floor":null,"room":"12"}"#)
        #expect(merged.json == .object([("site", .string("A")), ("room", .string("12"))]), "\(merged.text)")
        #expect(try client.request("GET", "/api/devices/gateway/cloudProperties?\(Self.v)", token: admin).status == 404)
        // Deleting a device deletes what belongs to it, and the relationships that target it: a device created again
        // with the id starts empty.
        #expect(try client.request("PUT", "/api/devices/sensor/relationships/back?\(Self.v)", token: admin, body: #"{"target":"far"}"#).status == 200)
        #expect(try client.request("DELETE", "/api/devices/gateway?\(Self.v)", token: admin).status == 204)
        #expect(try client.request("DELETE", "/api/devices/far?\(Self.v)", token: admin).status == 204)
        #expect(try client.request("PUT", "/api/devices/gateway?\(Self.v)", token: admin, body: "{}").status == 200)
        #expect(try client.request("GET", "/api/devices/gateway/cloudProperties?\(legacy)", token: admin).json == .object([]))
        #expect(DeviceTests.ids(try client.request("GET", "/api/devices/gateway/relationships?\(Self.v)", token: admin)) == [])
        #expect(DeviceTests.ids(try client.request("GET", "/api/devices/sensor/relationships?\(Self.v)", token: admin)) == [])
        let cde = try client.request("PUT", "/api/continuousDataExports/c1?\(legacy)", token: admin,
                                     body: #"{"displayName":"C","endpoint":{"type":"EventHubsEndpoint","connectionString":"Endpoint=sb://x","name":"hub"},"enabled":true,"sources":["telemetry"]}"#)
        #expect(cde.status == 200 && cde.json["status"] == .string("running"), "\(cde.text)")
        #expect(try client.request("PUT", "/api/continuousDataExports/c2?\(legacy)", token: admin,
                                   body: #"{"endpoint":{"type":"Kafka","connectionString":"x","name":"y"},"enabled":true,"sources":["telemetry"]}"#).status == 422)
        #expect(try client.request("PUT", "/api/continuousDataExports/c2?\(legacy)", token: admin,
                                   body: #"{"endpoint":{"type":"StorageEndpoint","connectionString":"x","name":"y"},"enabled":true,"sources":[]}"#).status == 422)
        #expect(try client.request("PATCH", "/api/continuousDataExports/c1?\(legacy)", token: admin, body: #"{"enabled":false}"#).json["status"] == .string("stopped"))
    }

    /// Bodies of the older handlers are checked by the spec's model too: a member of the wrong type anywhere is 422.
    @Test func aMemberOfTheWrongTypeIsRefusedOnDevicesTemplatesAndFileUploads() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        for (path, body) in [
            ("devices/x", #"{"displayName":"X","etag":{}}"#),
            ("deviceTemplates/dtmi:a:b;1", #"{"@type":["ModelDefinition"],"capabilityModel":{"@type":"Interface"},"etag":7}"#),
            ("fileUploads", #"{"connectionString":"c","container":"x","etag":[]}"#),
        ] {
            let refused = try client.request("PUT", "/api/\(path)?\(Self.v)", token: admin, body: body)
            #expect(refused.status == 422 && refused.text.contains("'etag' must be a string"), "\(path): \(refused.text)")
        }
    }

    @Test func theNewResourcesSurviveARestartAndAResetEmptiesThem() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iotc-mock-resources-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let configure: (inout MockServerConfiguration) -> Void = { $0.inMemory = false; $0.dataDirectory = folder.path }
        var server = try startServer(configure: configure)
        var client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        #expect(try client.request("PUT", "/api/dashboards/kept?\(Self.preview)", token: admin, body: #"{"displayName":"Kept"}"#).status == 200)
        #expect(try client.request("PUT", "/api/deviceGroups/all?\(Self.v)", token: admin, body: #"{"displayName":"All","filter":"SELECT * FROM devices"}"#).status == 200)
        #expect(try client.request("PUT", "/api/jobs/kept?\(Self.v)", token: admin, body: #"{"group":"all","data":[{"type":"property","target":"dtmi:a:b;1","path":"p","value":1}]}"#).status == 200)
        server.stop()
        server = try startServer(configure: configure)
        defer { server.stop() }
        client = try RawHTTPClient(port: server.port)
        #expect(try client.request("GET", "/api/dashboards/kept?\(Self.preview)", token: admin).json["displayName"] == .string("Kept"))
        #expect(try client.request("GET", "/api/jobs/kept?\(Self.v)", token: admin).json["status"] == .string("completed"))
        #expect(try client.request("POST", "/_mock/apps/\(server.application.id)/reset").status == 200)
        #expect(try client.request("GET", "/api/dashboards/kept?\(Self.preview)", token: admin).status == 404)
        #expect(try client.request("GET", "/api/jobs?\(Self.v)", token: admin).json == .object([("value", .array([]))]))
    }
}

/// Jobs over the devices of a group, progressing on the mock's clock, and scheduled jobs.
@Suite struct JobTests {
    static let v = DeviceTests.v
    static let data = #"[{"type":"property","target":"dtmi:contoso:thermostatTemplate;1","path":"targetTemperature","value":21}]"#

    /// A running server whose clock the test moves, with devices d1...d3 in washington, o1 in oregon and a group of all.
    static func setUp() throws -> (MockServer, RawHTTPClient, String) {
        let (server, client, admin) = try DeviceTests.serverWithTree()
        for (id, organization) in [("d1", "washington"), ("d2", "seattle"), ("o1", "oregon"), ("d3", "washington")] {
            try #require(try client.request("PUT", "/api/devices/\(id)?\(v)", token: admin, body: #"{"organizations":["\#(organization)"]}"#).status == 200)
        }
        try #require(try client.request("PUT", "/api/deviceGroups/all?\(v)", token: admin, body: #"{"displayName":"All","filter":"SELECT * FROM devices"}"#).status == 200)
        return (server, client, admin)
    }

    static func step(_ client: RawHTTPClient, to seconds: Int) throws {
        try #require(try client.request("POST", "/_mock/clock", body: #"{"offsetSeconds":\#(seconds)}"#).status == 200)
    }

    @Test func aJobHandlesOneDeviceASecondOfMockTimeAndStopsAndResumes() throws {
        let (server, client, admin) = try Self.setUp()
        defer { server.stop() }
        try Self.step(client, to: 1000)
        let made = try client.request("PUT", "/api/jobs/j1?\(Self.v)", token: admin, body: #"{"displayName":"Set","group":"all","data":\#(Self.data)}"#)
        try #require(made.status == 200, "\(made.text)")
        #expect(made.json["status"] == .string("running"))
        #expect(made.json["progress"] == .object([("total", .number(4)), ("pending", .number(4)), ("completed", .number(0)), ("failed", .number(0))]))
        let again = try client.request("PUT", "/api/jobs/j1?\(Self.v)", token: admin, body: #"{"group":"all","data":\#(Self.data)}"#)
        #expect(again.status == 409 && again.json["error"]?["code"] == .string("Conflict"), "a job id is used once: \(again.text)")

        try Self.step(client, to: 1002)
        var job = try client.request("GET", "/api/jobs/j1?\(Self.v)", token: admin).json
        #expect(job["progress"]?["completed"] == .number(2) && job["progress"]?["pending"] == .number(2), "\(job)")
        let devices = try client.request("GET", "/api/jobs/j1/devices?\(Self.v)", token: admin).json["value"]
        #expect(devices == .array([
            .object([("id", .string("d1")), ("status", .string("completed"))]), .object([("id", .string("d2")), ("status", .string("completed"))]),
            .object([("id", .string("o1")), ("status", .string("pending"))]), .object([("id", .string("d3")), ("status", .string("pending"))]),
        ]))

        // Stopped, it waits however far the clock moves; resumed, it goes on from there. A device deleted before
        // its turn fails.
        #expect(try client.request("POST", "/api/jobs/j1/stop?\(Self.v)", token: admin).status == 204)
        try Self.step(client, to: 1100)
        job = try client.request("GET", "/api/jobs/j1?\(Self.v)", token: admin).json
        #expect(job["status"] == .string("stopped") && job["progress"]?["completed"] == .number(2), "\(job)")
        #expect(try client.request("DELETE", "/api/devices/d3?\(Self.v)", token: admin).status == 204)
        #expect(try client.request("POST", "/api/jobs/j1/resume?\(Self.v)", token: admin).status == 204)
        try Self.step(client, to: 1102)
        job = try client.request("GET", "/api/jobs/j1?\(Self.v)", token: admin).json
        #expect(job["status"] == .string("completed") && job["progress"] == .object([("total", .number(4)), ("pending", .number(0)), ("completed", .number(3)), ("failed", .number(1))]), "\(job)")
        let end = try #require(job["end"]?.stringValue)

        // Once seen, outcomes stay: the device created again, the clock stepped back, a stop and a resume of the
        // completed job change nothing.
        #expect(try client.request("PUT", "/api/devices/d3?\(Self.v)", token: admin, body: #"{"organizations":["washington"]}"#).status == 200)
        try Self.step(client, to: 0)
        #expect(try client.request("POST", "/api/jobs/j1/stop?\(Self.v)", token: admin).status == 204)
        #expect(try client.request("POST", "/api/jobs/j1/resume?\(Self.v)", token: admin).status == 204)
        try Self.step(client, to: 1200)
        let after = try client.request("GET", "/api/jobs/j1?\(Self.v)", token: admin).json
        #expect(after["status"] == .string("completed") && after["progress"] == job["progress"] && after["end"] == .string(end), "\(after)")

        // A rerun is a new job over the devices that failed.
        let rerun = try client.request("PUT", "/api/jobs/j1/rerun/j1-again?\(Self.v)", token: admin)
        #expect(rerun.status == 200 && rerun.json["id"] == .string("j1-again") && rerun.json["progress"]?["total"] == .number(1), "\(rerun.text)")
        #expect(DeviceTests.ids(try client.request("GET", "/api/jobs?\(Self.v)", token: admin)) == ["j1", "j1-again"])
        #expect(try client.request("PUT", "/api/jobs/nogroup?\(Self.v)", token: admin, body: #"{"group":"none","data":\#(Self.data)}"#).status == 400)
        #expect(try client.request("PUT", "/api/jobs/nodata?\(Self.v)", token: admin, body: #"{"group":"all","data":[]}"#).status == 422)
    }

    @Test func aDevicesTurnSetsItsPropertiesAndRunsItsCommands() throws {
        let (server, client, admin) = try Self.setUp()
        defer { server.stop() }
        let template = #"{"@type":["ModelDefinition","DeviceModel"],"capabilityModel":{"@type":"Interface","contents":[{"@type":"Component","name":"thermostat","schema":"dtmi:t:c;1"}]}}"#
        try #require(try client.request("PUT", "/api/deviceTemplates/dtmi:t:x;1?\(Self.v)", token: admin, body: template).status == 200)
        for id in ["p1", "p2"] {
            try #require(try client.request("PUT", "/api/devices/\(id)?\(Self.v)", token: admin, body: #"{"template":"dtmi:t:x;1"}"#).status == 200)
        }
        try #require(try client.request("PUT", "/api/deviceGroups/ps?\(Self.v)", token: admin, body: #"{"displayName":"P","filter":"SELECT * FROM devices WHERE $template = \"dtmi:t:x;1\""}"#).status == 200)
        // p1 is connected (the control plane plays it and says how it answers reboot); p2 is not.
        try #require(try client.request("PATCH", "/_mock/apps/\(server.application.id)/devices/p1", body: #"{"commands":{"thermostat":{"reboot":{"responseCode":200,"response":"ok"}}}}"#).status == 200)

        try Self.step(client, to: 500)
        let property = #"[{"type":"property","target":"dtmi:t:x;1","path":"thermostat.targetTemperature","value":22},{"type":"property","target":"dtmi:t:x;1","path":"mode","value":"eco"}]"#
        #expect(try client.request("PUT", "/api/jobs/set?\(Self.v)", token: admin, body: #"{"group":"ps","data":\#(property)}"#).status == 200)
        #expect(try client.request("GET", "/api/devices/p1/components/thermostat/properties?\(Self.v)", token: admin).json["targetTemperature"] == nil, "not before its turn")
        try Self.step(client, to: 510)
        #expect(try client.request("GET", "/api/jobs/set?\(Self.v)", token: admin).json["progress"]?["completed"] == .number(2))
        for id in ["p1", "p2"] {
            let properties = try client.request("GET", "/api/devices/\(id)/properties?\(Self.v)", token: admin).json
            #expect(properties["mode"] == .string("eco") && properties["thermostat"]?["targetTemperature"] == .number(22), "\(id): \(properties)")
        }

        let command = #"[{"type":"command","target":"dtmi:t:x;1","path":"thermostat.reboot","value":{"delay":1}}]"#
        #expect(try client.request("PUT", "/api/jobs/reboot?\(Self.v)", token: admin, body: #"{"group":"ps","data":\#(command)}"#).status == 200)
        try Self.step(client, to: 520)
        let devices = try client.request("GET", "/api/jobs/reboot/devices?\(Self.v)", token: admin).json["value"]
        #expect(devices == .array([.object([("id", .string("p1")), ("status", .string("completed"))]), .object([("id", .string("p2")), ("status", .string("failed"))])]))
        let history = try client.request("GET", "/api/devices/p1/components/thermostat/commands/reboot?\(Self.v)", token: admin).json["value"]?.arrayValue
        #expect(history?.count == 1 && history?.first?["response"] == .string("ok") && history?.first?["request"] == .object([("delay", .number(1))]))
    }

    /// A turn happens at its time, not when someone next reads the job: a value set after the turn stays, a device
    /// deleted after its turn was handled.
    @Test func turnsComeBeforeTheRequestsThatFollowThem() throws {
        let (server, client, admin) = try Self.setUp()
        defer { server.stop() }
        try Self.step(client, to: 300)
        #expect(try client.request("PUT", "/api/jobs/mode?\(Self.v)", token: admin, body: #"{"group":"all","data":[{"type":"property","target":"dtmi:a:b;1","path":"mode","value":"job"}]}"#).status == 200)
        try Self.step(client, to: 330)
        // Without reading the job: d1 is changed by hand, d2 deleted.
        #expect(try client.request("PATCH", "/api/devices/d1/properties?\(Self.v)", token: admin, body: #"{"mode":"manual"}"#).status == 202)
        #expect(try client.request("DELETE", "/api/devices/d2?\(Self.v)", token: admin).status == 204)
        let properties = try client.request("GET", "/api/devices/d1/properties?\(Self.v)", token: admin).json
        #expect(properties["mode"] == .string("manual") && properties["$metadata"]?["mode"]?["desiredVersion"] == .number(2), "\(properties)")
        let job = try client.request("GET", "/api/jobs/mode?\(Self.v)", token: admin).json
        #expect(job["progress"]?["completed"] == .number(4) && job["progress"]?["failed"] == .number(0), "\(job)")
    }

    @Test func concurrentCreatesOfOneJobIdLeaveExactlyOneJob() throws {
        let (server, _, admin) = try Self.setUp()
        defer { server.stop() }
        let port = server.port
        let statuses = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 12) { index in
            guard let client = try? RawHTTPClient(port: port),
                  let response = try? client.request("PUT", "/api/jobs/race?\(Self.v)", token: admin, body: #"{"displayName":"\#(index)","group":"all","data":\#(Self.data)}"#)
            else { return }
            statuses.withLock { $0.append(response.status) }
        }
        let seen = statuses.withLock { $0 }
        #expect(seen.count == 12 && seen.filter { $0 == 200 }.count == 1 && seen.filter { $0 == 409 }.count == 11, "\(seen)")
    }

    @Test func anOrgOperatorsJobReachesOnlyTheDevicesItMaySee() throws {
        let (server, client, admin) = try Self.setUp()
        defer { server.stop() }
        let wa = try DeviceTests.token(client, admin: admin, id: "wa", role: DeviceTests.orgOperator, organization: "washington")
        // The application-wide group is not one it may see; the one of washington is, with washington's devices.
        #expect(try client.request("PUT", "/api/jobs/wide?\(Self.v)", token: wa, body: #"{"group":"all","data":\#(Self.data)}"#).status == 400)
        let group = #"{"displayName":"Washington","filter":"SELECT * FROM devices","organizations":["washington"]}"#
        try #require(try client.request("PUT", "/api/deviceGroups/wa-all?\(Self.v)", token: admin, body: group).status == 200)
        let made = try client.request("PUT", "/api/jobs/mine?\(Self.v)", token: wa, body: #"{"group":"wa-all","data":\#(Self.data)}"#)
        #expect(made.status == 200 && made.json["organizations"] == .array([.string("washington")]), "\(made.text)")
        let ids = try client.request("GET", "/api/jobs/mine/devices?\(Self.v)", token: wa).json["value"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
        #expect(ids == ["d1", "d2", "d3"])
        // Its jobs are its own: an Org Operator of oregon does not see them, nor can it stop them.
        let oregon = try DeviceTests.token(client, admin: admin, id: "or", role: DeviceTests.orgOperator, organization: "oregon")
        #expect(DeviceTests.ids(try client.request("GET", "/api/jobs?\(Self.v)", token: oregon)) == [])
        #expect(try client.request("POST", "/api/jobs/mine/stop?\(Self.v)", token: oregon).status == 404)
        #expect(try client.request("PUT", "/api/jobs/theirs?\(Self.v)", token: wa, body: #"{"group":"wa-all","organizations":["oregon"],"data":\#(Self.data)}"#).status == 403)
        // An application-wide caller's job takes its group's organization, so washington's operator sees it; a job
        // it places in washington over oregon's group reaches none of oregon's devices.
        let byAdmin = try client.request("PUT", "/api/jobs/admins?\(Self.v)", token: admin, body: #"{"group":"wa-all","data":\#(Self.data)}"#)
        #expect(byAdmin.json["organizations"] == .array([.string("washington")]), "\(byAdmin.text)")
        #expect(try client.request("GET", "/api/jobs/admins?\(Self.v)", token: wa).status == 200)
        let oregonGroup = #"{"displayName":"Oregon","filter":"SELECT * FROM devices","organizations":["oregon"]}"#
        try #require(try client.request("PUT", "/api/deviceGroups/or-all?\(Self.v)", token: admin, body: oregonGroup).status == 200)
        let mislabelled = try client.request("PUT", "/api/jobs/mislabelled?\(Self.v)", token: admin, body: #"{"group":"or-all","organizations":["washington"],"data":\#(Self.data)}"#)
        #expect(mislabelled.json["progress"]?["total"] == .number(0), "\(mislabelled.text)")
    }

    @Test func scheduledJobsAreStoredAndListTheirJobs() throws {
        let (server, client, admin) = try Self.setUp()
        defer { server.stop() }
        let body = #"{"displayName":"Nightly","group":"all","schedule":{"start":"2026-01-01T00:00:00Z","recurrence":"daily","end":{"type":"date","date":"2026-02-01T00:00:00Z"}},"data":\#(Self.data)}"#
        let made = try client.request("PUT", "/api/scheduledJobs/nightly?\(Self.v)", token: admin, body: body)
        #expect(made.status == 200 && made.json["enabled"] == .bool(false) && made.json["completed"] == .bool(true), "\(made.text)")
        #expect(try client.request("PATCH", "/api/scheduledJobs/nightly?\(Self.v)", token: admin, body: #"{"enabled":true}"#).json["enabled"] == .bool(true))
        let badRecurrence = try client.request("PUT", "/api/scheduledJobs/x?\(Self.v)", token: admin, body: body.replacingOccurrences(of: "daily", with: "hourly"))
        #expect(badRecurrence.status == 422 && badRecurrence.text.contains("'schedule.recurrence'"), "\(badRecurrence.text)")
        let badStart = try client.request("PUT", "/api/scheduledJobs/x?\(Self.v)", token: admin, body: body.replacingOccurrences(of: "2026-01-01T00:00:00Z", with: "tomorrow"))
        #expect(badStart.status == 422 && badStart.text.contains("'schedule.start'"), "\(badStart.text)")
        #expect(try client.request("PUT", "/api/jobs/run1?\(Self.v)", token: admin, body: #"{"scheduledJobId":"nightly","group":"all","data":\#(Self.data)}"#).status == 200)
        #expect(try client.request("PUT", "/api/jobs/other?\(Self.v)", token: admin, body: #"{"group":"all","data":\#(Self.data)}"#).status == 200)
        #expect(DeviceTests.ids(try client.request("GET", "/api/scheduledJobs/nightly/jobs?\(Self.v)", token: admin)) == ["run1"])
        // Its group deleted, it can still be changed (and given another group).
        #expect(try client.request("PUT", "/api/deviceGroups/temp?\(Self.v)", token: admin, body: #"{"displayName":"T","filter":"SELECT * FROM devices"}"#).status == 200)
        #expect(try client.request("PATCH", "/api/scheduledJobs/nightly?\(Self.v)", token: admin, body: #"{"group":"temp"}"#).status == 200)
        #expect(try client.request("DELETE", "/api/deviceGroups/temp?\(Self.v)", token: admin).status == 204)
        #expect(try client.request("PATCH", "/api/scheduledJobs/nightly?\(Self.v)", token: admin, body: #"{"displayName":"Renamed"}"#).status == 200)
        #expect(try client.request("PATCH", "/api/scheduledJobs/nightly?\(Self.v)", token: admin, body: #"{"group":"gone"}"#).status == 400)
        #expect(try client.request("DELETE", "/api/scheduledJobs/nightly?\(Self.v)", token: admin).status == 204)
        #expect(try client.request("GET", "/api/scheduledJobs/nightly/jobs?\(Self.v)", token: admin).status == 404)
    }
}

/// IoT Edge modules of a device, from its template's EdgeModule relationships, and the query language subset.
@Suite struct ModuleAndQueryTests {
    static let v = DeviceTests.v
    static let preview = DocumentResourceTests.preview
    static let edgeTemplate = #"""
        {"@type":["ModelDefinition","DeviceModel","EdgeModel"],"displayName":"Gateway","capabilityModel":{"@id":"dtmi:contoso:gateway;1","@type":"Interface","contents":[
        {"@type":["Relationship","SemanticType/EdgeModule"],"name":"SimulatedTemperatureSensor","maxMultiplicity":1,"target":[{"@id":"dtmi:contoso:sensor;1","@type":"Interface","contents":[
        {"@type":"Component","name":"thermostat","schema":"dtmi:contoso:thermostat;1"},{"@type":"Telemetry","name":"machine","schema":"double"}]}]}]}}
        """#

    @Test func modulesComeFromTheTemplateAndTheControlPlanePlaysThem() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        #expect(try client.request("PUT", "/api/deviceTemplates/dtmi:contoso:gateway;1?\(Self.v)", token: admin, body: Self.edgeTemplate).status == 200)
        #expect(try client.request("PUT", "/api/devices/edge1?\(Self.v)", token: admin, body: #"{"template":"dtmi:contoso:gateway;1"}"#).status == 200)
        let modules = try client.request("GET", "/api/devices/edge1/modules?\(Self.v)", token: admin)
        #expect(modules.json["value"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["SimulatedTemperatureSensor"], "\(modules.text)")
        let module = "/api/devices/edge1/modules/SimulatedTemperatureSensor"
        #expect(try client.request("GET", "\(module)/components?\(Self.v)", token: admin).json["value"]?.arrayValue?.first?["name"] == .string("thermostat"))
        #expect(try client.request("GET", "/api/devices/edge1/modules/nothere/properties?\(Self.v)", token: admin).status == 404)
        #expect(try client.request("GET", "\(module)/components/nothere/properties?\(Self.v)", token: admin).status == 404)

        // The control plane plays the module: a member named after it holds its values, its components' nested.
        let app = server.application.id
        let played = try client.request("PATCH", "/_mock/apps/\(app)/devices/edge1", body: #"""
            {"telemetry":{"SimulatedTemperatureSensor":{"machine":71.5,"thermostat":{"temperature":20}}},
             "reported":{"SimulatedTemperatureSensor":{"SendInterval":10}},
             "commands":{"SimulatedTemperatureSensor":{"thermostat":{"reboot":{"responseCode":200,"response":"ok"}}}}}
            """#)
        #expect(played.status == 200, "\(played.text)")
        #expect(try client.request("GET", "\(module)/telemetry/machine?\(Self.v)", token: admin).json["value"] == .number(71.5))
        #expect(try client.request("GET", "\(module)/components/thermostat/telemetry/temperature?\(Self.v)", token: admin).json["value"] == .number(20))
        #expect(try client.request("GET", "/api/devices/edge1/telemetry/machine?\(Self.v)", token: admin).status == 404, "the device's own telemetry is apart")

        #expect(try client.request("PATCH", "\(module)/properties?\(Self.v)", token: admin, body: #"{"SendInterval":5}"#).status == 202)
        let properties = try client.request("GET", "\(module)/properties?\(Self.v)", token: admin).json
        #expect(properties["SendInterval"] == .number(10) && properties["$metadata"]?["SendInterval"]?["desiredValue"] == .number(5), "\(properties)")
        #expect(try client.request("PUT", "\(module)/components/thermostat/properties?\(Self.v)", token: admin, body: #"{"target":21}"#).status == 202)
        #expect(try client.request("GET", "\(module)/components/thermostat/properties?\(Self.v)", token: admin).json["target"] == .number(21))

        let run = try client.request("POST", "\(module)/components/thermostat/commands/reboot?\(Self.v)", token: admin, body: #"{"request":{"delay":1}}"#)
        #expect(run.status == 201 && run.json["response"] == .string("ok"), "\(run.text)")
        #expect(try client.request("GET", "\(module)/components/thermostat/commands/reboot?\(Self.v)", token: admin).json["value"]?.arrayValue?.count == 1)
        #expect(try client.request("GET", "/api/devices/edge1/commands/reboot?\(Self.v)", token: admin).json["value"] == .array([]))
    }

    @Test func aQueryReadsTheLastValuesOfTheTemplatesDevices() throws {
        let (server, client, admin) = try DeviceTests.serverWithTree()
        defer { server.stop() }
        #expect(try client.request("PUT", "/api/deviceTemplates/\(DeviceTests.template)?\(Self.v)", token: admin, body: DeviceTests.templateBody).status == 200)
        let app = server.application.id
        for (id, temperature, organization) in [("t1", 18.5, "washington"), ("t2", 25.0, "oregon"), ("t3", 31.0, "seattle")] {
            try #require(try client.request("PUT", "/api/devices/\(id)?\(Self.v)", token: admin, body: #"{"template":"\#(DeviceTests.template)","organizations":["\#(organization)"]}"#).status == 200)
            try #require(try client.request("PATCH", "/_mock/apps/\(app)/devices/\(id)", body: #"{"telemetry":{"temperature":\#(temperature)},"reported":{"mode":"\#(id == "t2" ? "eco" : "boost")"}}"#).status == 200)
        }
        try #require(try client.request("PUT", "/api/devices/other?\(Self.v)", token: admin, body: "{}").status == 200)
        try #require(try client.request("PUT", "/api/devices/silent?\(Self.v)", token: admin, body: #"{"template":"\#(DeviceTests.template)","organizations":["oregon"]}"#).status == 200)

        func query(_ text: String, token: String? = nil) throws -> RawResponse {
            try client.request("POST", "/api/query?\(Self.preview)", token: token ?? admin, body: #"{"query":"\#(text)"}"#)
        }
        let hot = try query("SELECT $id, temperature AS t FROM \(DeviceTests.template) WHERE temperature > 20 ORDER BY temperature DESC")
        #expect(hot.json == .object([("results", .array([
            .object([("$id", .string("t3")), ("t", .number(31))]), .object([("$id", .string("t2")), ("t", .number(25))]),
        ]))]), "\(hot.text)")
        // A device without the value comes last either way, and is in no window.
        let descending = try query("SELECT $id FROM \(DeviceTests.template) ORDER BY temperature DESC")
        #expect(descending.json["results"]?.arrayValue?.compactMap { $0["$id"]?.stringValue } == ["t3", "t2", "t1", "silent"], "\(descending.text)")
        let windowed = try query("SELECT $id FROM \(DeviceTests.template) WHERE WITHIN_WINDOW(P1D)")
        #expect(windowed.json["results"]?.arrayValue?.count == 3, "\(windowed.text)")
        let top = try query("select top 1 $id from \(DeviceTests.template) where mode = 'boost' and within_window(PT1H) order by $id")
        #expect(top.json["results"] == .array([.object([("$id", .string("t1"))])]), "\(top.text)")
        let either = try query("SELECT $id FROM \(DeviceTests.template) WHERE (mode = 'eco' OR temperature < 19) ORDER BY $id")
        #expect(either.json["results"]?.arrayValue?.compactMap { $0["$id"]?.stringValue } == ["t1", "t2"], "\(either.text)")
        let all = try query("SELECT * FROM \(DeviceTests.template) WHERE $id = 't1'")
        let row = try #require(all.json["results"]?.arrayValue?.first)
        #expect(row["temperature"] == .number(18.5) && row["mode"] == .string("boost") && row["$ts"]?.stringValue != nil, "\(all.text)")

        // Scope: an Org Operator of washington reads washington's and seattle's devices only.
        let wa = try DeviceTests.token(client, admin: admin, id: "wa", role: DeviceTests.orgOperator, organization: "washington")
        #expect(try query("SELECT $id FROM \(DeviceTests.template) ORDER BY $id", token: wa).json["results"]?.arrayValue?.compactMap { $0["$id"]?.stringValue } == ["t1", "t3"])

        for unsupported in ["SELECT COUNT(*) FROM \(DeviceTests.template)", "SELECT $id FROM \(DeviceTests.template) GROUP BY mode",
                            "SELECT $id FROM devices", "SELECT TOP 0 $id FROM \(DeviceTests.template)", "DELETE FROM x"] {
            let refused = try query(unsupported)
            #expect(refused.status == 422 && refused.json["error"]?["code"] == .string("InvalidQuery"), "\(unsupported): \(refused.text)")
        }
        #expect(try query("SELECT $id FROM dtmi:nothere:x;1").status == 404)
        #expect(try client.request("POST", "/api/query?\(Self.preview)", token: admin, body: #"{"q":"SELECT"}"#).status == 422)
    }
}

/// The list options (OData `filter`, `orderby`; `$filter`, `$orderby`, `$top` in the older previews) over HTTP.
@Suite struct ListOptionsTests {
    static let preview = DocumentResourceTests.preview

    static func ids(_ response: RawResponse) -> [String] { DeviceTests.ids(response) }

    /// `text` percent-encoded for a query value.
    static func encoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    @Test func devicesAreFilteredSortedAndPagedWithTheirOptionsKeptInTheNextLink() throws {
        let (server, client, admin) = try DeviceTests.serverWithTree()
        defer { server.stop() }
        for (id, name, enabled, organization) in [("d1", "Seattle north", true, "seattle"), ("d2", "Oregon", false, "oregon"),
                                                  ("d3", "Seattle south", false, "washington"), ("d4", "Tacoma", true, "washington")] {
            try #require(try client.request("PUT", "/api/devices/\(id)?\(Self.preview)", token: admin,
                                            body: #"{"displayName":"\#(name)","enabled":\#(enabled),"organizations":["\#(organization)"]}"#).status == 200)
        }
        func list(_ query: String, token: String? = nil) throws -> RawResponse {
            try client.request("GET", "/api/devices?\(Self.preview)&\(query)", token: token ?? admin)
        }
        #expect(Self.ids(try list("filter=\(Self.encoded("contains(displayName, 'Seattle')"))")) == ["d1", "d3"])
        #expect(Self.ids(try list("filter=\(Self.encoded("enabled eq false and not startswith(displayName, 'Ore')"))")) == ["d3"])
        #expect(Self.ids(try list("orderby=\(Self.encoded("displayName desc"))")) == ["d4", "d3", "d1", "d2"])
        #expect(Self.ids(try list("filter=\(Self.encoded("enabled eq true or displayName eq 'Oregon'"))&orderby=displayName")) == ["d2", "d1", "d4"])
        // An Org Operator of washington filters within what it may see.
        let wa = try DeviceTests.token(client, admin: admin, id: "wa", role: DeviceTests.orgOperator, organization: "washington")
        #expect(Self.ids(try list("filter=\(Self.encoded("contains(displayName, 'S')"))", token: wa)) == ["d1", "d3"])

        // Paged: the nextLink keeps the options, and its $skiptoken is the next position.
        let first = try list("orderby=displayName&maxpagesize=2")
        #expect(Self.ids(first) == ["d2", "d1"])
        let next = try #require(first.json["nextLink"]?.stringValue)
        #expect(next.contains("orderby=displayName") && next.contains("maxpagesize=2"), "\(next)")
        let path = try #require(next.range(of: "/api/")).lowerBound
        let second = try client.request("GET", String(next[path...]), token: admin)
        #expect(Self.ids(second) == ["d3", "d4"] && second.json["nextLink"] == nil, "\(second.text)")

        for bad in ["displayName like 'x'", "any(o: o eq 'x')", "length(displayName) gt 3", "(enabled eq true", "enabled eq",
                    "foo eq 1", "Enabled eq true", "enabled eq 'true'", "displayName lt 5", "contains(enabled, 'x')"] {
            let refused = try list("filter=\(Self.encoded(bad))")
            #expect(refused.status == 422 && refused.json["error"]?["code"] == .string("InvalidQuery"), "\(bad): \(refused.text)")
        }
        #expect(try list("orderby=foo").status == 422)
        // 2022-07-31 has no list options: they are ignored, as any undeclared query parameter is.
        #expect(Self.ids(try client.request("GET", "/api/devices?api-version=2022-07-31&filter=nonsense", token: admin)).count == 4)
    }

    @Test func theOlderPreviewsTakeDollarFilterOrderbyAndTop() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try RawHTTPClient(port: server.port)
        let admin = try #require(server.wellKnownToken())
        let v = "api-version=1.2-preview"
        for (id, name) in [("g1", "Zulu"), ("g2", "Alpha"), ("g3", "Mike")] {
            try #require(try client.request("PUT", "/api/deviceGroups/\(id)?\(v)", token: admin, body: #"{"displayName":"\#(name)","filter":"SELECT * FROM devices"}"#).status == 200)
        }
        #expect(Self.ids(try client.request("GET", "/api/deviceGroups?\(v)&$orderby=displayName&$top=2", token: admin)) == ["g2", "g3"])
        #expect(Self.ids(try client.request("GET", "/api/deviceGroups?\(v)&$filter=\(Self.encoded("displayName ne 'Mike'"))", token: admin)) == ["g1", "g2"])
        #expect(try client.request("GET", "/api/deviceGroups?\(v)&$top=0", token: admin).status == 400)
        let unknown = try client.request("GET", "/api/deviceGroups?\(v)&$filter=\(Self.encoded("name eq 'x'"))", token: admin)
        #expect(unknown.status == 422 && unknown.text.contains("$filter=") && unknown.text.contains("displayName"), "\(unknown.text)")
        // Dashboards (2022-10-31-preview) take filter and orderby too.
        for (id, name) in [("b", "Beta"), ("a", "Alpha")] {
            try #require(try client.request("PUT", "/api/dashboards/\(id)?\(Self.preview)", token: admin, body: #"{"displayName":"\#(name)"}"#).status == 200)
        }
        #expect(Self.ids(try client.request("GET", "/api/dashboards?\(Self.preview)&orderby=displayName", token: admin)) == ["a", "b"])
        #expect(Self.ids(try client.request("GET", "/api/dashboards?\(Self.preview)&filter=\(Self.encoded("favorite eq false and displayName eq 'Beta'"))", token: admin)) == ["b"])
    }
}
