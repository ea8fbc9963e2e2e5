import Testing

@testable import Central

/// The spec models bodies are checked by, and the query grammar, without a server.
@Suite struct SpecSchemaTests {
    static func json(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    static func problem(_ body: String, _ model: String, _ version: APIVersion = .v2022_10_31_preview) throws -> String? {
        let value = try json(body)
        do {
            try SpecSchema.of(version).validate(value, model: model)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func bothSpecFilesAreReadWithTheirDiscriminatedSubtypes() {
        #expect(SpecSchema.stable.has("Job") && SpecSchema.stable.has("EnrollmentGroup") && !SpecSchema.stable.has("Dashboard"))
        #expect(SpecSchema.preview.has("Dashboard") && SpecSchema.preview.has("Destination"))
        #expect(SpecSchema.preview.kinds(of: "JobData") == ["cloudProperty", "command", "deviceManifestMigration", "deviceTemplateMigration", "property"])
        #expect(SpecSchema.stable.kinds(of: "JobData") == ["cloudProperty", "command", "deviceTemplateMigration", "property"])
        #expect(SpecSchema.preview.kinds(of: "Destination").contains("webhook@v1"))
        #expect(SpecSchema.preview.kinds(of: "TileConfiguration").count >= 20)
    }

    @Test func aBodyIsCheckedMemberByMemberThroughSubtypes() throws {
        #expect(try Self.problem(#"{"group":"g","data":[{"type":"property","target":"t","path":"p"}]}"#, "Job") == nil)
        #expect(try Self.problem(#"{"data":[{"type":"property","target":"t","path":"p"}]}"#, "Job") == "The field 'group' is required.")
        #expect(try Self.problem(#"{"group":"g","data":[]}"#, "Job") == "The field 'data' must have at least 1 element.")
        #expect(try Self.problem(#"{"group":"g","data":[{"type":"property","path":"p"}]}"#, "Job") == "The field 'data[0].target' is required.")
        #expect(try Self.problem(#"{"group":"g","data":[{"type":"dance"}]}"#, "Job")?.contains("'data[0].type' is 'dance', which is not one of cloudProperty, command") == true)
        #expect(try Self.problem(#"{"group":"g","data":[{"type":7}]}"#, "Job") == "The field 'data[0].type' must be a string, not a number.")
        #expect(try Self.problem(#"{"group":"g","batch":{"type":"some","value":1},"data":[{"type":"command","target":"t","path":"p"}]}"#, "Job")?
            .contains("'batch.type' must be one of number, percentage") == true)
        // Read-only members are never required, but a wrong type is still wrong.
        #expect(try Self.problem(#"{"group":"g","status":"x","data":[{"type":"command","target":"t","path":"p"}]}"#, "Job") == nil)
        #expect(try Self.problem(#"{"group":"g","status":1,"data":[{"type":"command","target":"t","path":"p"}]}"#, "Job") == "The field 'status' must be a string, not a number.")
        // Formats and ranges.
        #expect(try Self.problem(#"{"start":"soon"}"#, "JobSchedule")?.contains("ISO 8601") == true)
        #expect(try Self.problem(#"{"displayName":"d","configuration":{"type":"markdown","description":"x"},"height":0,"width":1,"x":0,"y":0}"#, "Tile") == "The field 'height' must be at least 1, not 0.")
        #expect(try Self.problem(#"{"type":"date","date":"x"}"#, "JobScheduleEnd") == nil)
        #expect(try Self.problem(#"{"type":"occurrences","occurrences":1.5}"#, "JobScheduleEnd")?.contains("must be an integer") == true)
        #expect(try Self.problem(#"[1]"#, "Dashboard") == "The body must be an object, not an array.")
    }

    @Test func shapingKeepsWhatTheModelOrItsSubtypeHas() throws {
        let destination = try Self.json(#"{"id":"d","type":"webhook@v1","displayName":"W","url":"https://x","extra":1,"status":"healthy"}"#)
        #expect(SpecSchema.preview.shape(destination, model: "Destination") ==
                (try Self.json(#"{"id":"d","type":"webhook@v1","displayName":"W","url":"https://x","status":"healthy"}"#)))
        #expect(SpecSchema.preview.shape(destination, model: "Destination", droppingReadOnly: true) ==
                (try Self.json(#"{"type":"webhook@v1","displayName":"W","url":"https://x"}"#)))
        // A free-form object (a deployment manifest's data) is kept whole.
        let manifest = try Self.json(#"{"data":{"anything":{"goes":[1]}},"displayName":"M"}"#)
        #expect(SpecSchema.preview.shape(manifest, model: "DeploymentManifest") == manifest)
    }

    @Test func theQueryGrammarIsParsedAndWhatItLacksIsNamed() throws {
        let query = try DeviceQuery(parsing: "SELECT TOP 5 $id, thermostat.temperature AS t FROM dtmi:a:b;1 WHERE t > -1.5 AND (mode = 'eco' OR WITHIN_WINDOW(PT1H)) ORDER BY $ts DESC")
        #expect(query.top == 5 && query.template == "dtmi:a:b;1")
        #expect(query.columns?.map(\.label) == ["$id", "t"] && query.columns?.last?.component == "thermostat")
        #expect(query.orderBy?.column.name == "$ts" && query.orderBy?.descending == true)
        #expect(query.condition == .and(
            .comparison(.init(component: nil, name: "t"), ">", .number(-1.5)),
            .or(.comparison(.init(component: nil, name: "mode"), "=", .string("eco")), .withinWindow(milliseconds: 3_600_000))))
        #expect(Timestamp.durationMilliseconds("P1DT2H3M4S") == 93_784_000)
        #expect(try DeviceQuery(parsing: "SELECT $id, $id FROM dtmi:a:b;1 WHERE x = 'it''s'").columns?.count == 1)
        #expect(try DeviceQuery(parsing: "SELECT * FROM dtmi:a:b;1 WHERE x = 'it''s'").condition == .comparison(.init(component: nil, name: "x"), "=", .string("it's")))
        #expect(throws: DeviceQuery.SyntaxError(message: "the query is empty")) { try DeviceQuery(parsing: "  ") }
        #expect(Timestamp.durationMilliseconds("PT") == nil && Timestamp.durationMilliseconds("1H") == nil)
        for text in ["SELECT", "SELECT * FROM devices", "SELECT AVG(temperature) FROM dtmi:a:b;1", "SELECT * FROM dtmi:a:b;1 GROUP BY x",
                     "SELECT * FROM dtmi:a:b;1 WHERE x ~ 1", "SELECT * FROM dtmi:a:b;1 WHERE x = 'open", "SELECT TOP 10001 * FROM dtmi:a:b;1", "SELECT TOP 1e3 * FROM dtmi:a:b;1",
                     "SELECT * FROM dtmi:a:b;1 WHERE " + String(repeating: "(", count: 40) + "x = 1" + String(repeating: ")", count: 40)] {
            #expect(throws: DeviceQuery.SyntaxError.self, "\(text)") { try DeviceQuery(parsing: text) }
        }
    }
}

/// The OData subset of the list options, without a server.
@Suite struct ListOptionsUnitTests {
    @Test func filtersAndOrdersAreParsedAndApplied() throws {
        let options = try ListOptions(filter: "not (enabled eq true) and (contains(displayName, 'it''s') or template/id eq null)", orderBy: "displayName desc, id", top: "5")
        #expect(options.top == 5 && options.orderBy.count == 2 && options.orderBy[0].descending)
        let items: [JSONValue] = [
            .object([("id", .string("a")), ("displayName", .string("it's here")), ("enabled", .bool(false))]),
            .object([("id", .string("b")), ("displayName", .string("other")), ("enabled", .bool(true))]),
            .object([("id", .string("c")), ("displayName", .string("zzz")), ("enabled", .bool(false))]),
        ]
        #expect(items.filter(options.matches).compactMap { $0["id"]?.stringValue } == ["a", "c"])
        #expect(options.sorted(items).compactMap { $0["id"]?.stringValue } == ["c", "b", "a"])
        // Missing values sort last either way.
        let sparse: [JSONValue] = [.object([("id", .string("x"))]), .object([("id", .string("y")), ("n", .number(2))]), .object([("id", .string("z")), ("n", .number(1))])]
        #expect(try ListOptions(filter: nil, orderBy: "n", top: nil).sorted(sparse).compactMap { $0["id"]?.stringValue } == ["z", "y", "x"])
        #expect(try ListOptions(filter: nil, orderBy: "n desc", top: nil).sorted(sparse).compactMap { $0["id"]?.stringValue } == ["y", "z", "x"])
        let types = try #require(SpecSchema.preview.memberTypes(of: "Device"))
        #expect(types["enabled"] == "boolean" && types["displayName"] == "string" && types["organizations"] == "array")
        #expect(throws: Never.self) { try ListOptions(filter: "enabled eq true and organizations eq null", orderBy: "displayName", top: nil).check(against: types) }
        #expect(throws: ListOptions.SyntaxError.self) { try ListOptions(filter: "enabld eq true", orderBy: nil, top: nil).check(against: types) }
        #expect(throws: ListOptions.SyntaxError.self) { try ListOptions(filter: nil, orderBy: "colour", top: nil).check(against: types) }
        for (filter, orderBy, top) in [("x eq", nil, nil), ("x ~ 1", nil, nil), (nil, "a asc desc", nil), (nil, nil, "-1"), (nil, nil, "1e3"),
                                       (String(repeating: "not ", count: 40) + "x eq 1", nil, nil), ("", nil, nil)] as [(String?, String?, String?)] {
            #expect(throws: ListOptions.SyntaxError.self) { try ListOptions(filter: filter, orderBy: orderBy, top: top) }
        }
    }
}
