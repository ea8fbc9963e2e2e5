import Foundation
import Testing

@testable import Central

@Suite struct TimestampTests {
    @Test func expiryPrintsLikeTheSpecExamples() {
        #expect(Timestamp.iso8601(milliseconds: 1_603_045_840_227) == "2020-10-18T18:30:40.227Z")
    }

    @Test func rfc3339DateTimesParseWithAndWithoutFractionsAndOffsets() {
        #expect(Timestamp.parseISO8601("2020-10-18T18:30:40.227Z") == 1_603_045_840_227)
        #expect(Timestamp.parseISO8601("2020-10-18T18:30:40Z") == 1_603_045_840_000)
        #expect(Timestamp.parseISO8601("2020-10-18T20:30:40+02:00") == 1_603_045_840_000)
        #expect(Timestamp.parseISO8601("2032-02-29T00:00:00Z") != nil)  // a leap day
    }

    @Test(arguments: [
        "tomorrow", "", "2020-10-18", "2020-13-40T00:00:00Z", "12345", "2020-10-18T18:30:40.227Z trailing",
        "2030-02-30T00:00:00Z", "2030-01-01T24:00:00Z", "2030-01-01T00:60:00Z", "2030-01-01T00:00:60Z",
        "2031-02-29T00:00:00Z", "2030-00-10T00:00:00Z", "2030-01-00T00:00:00Z", "2030-01-01T00:00:00+24:00",
    ])
    func nonDatesDoNotParse(_ text: String) {
        #expect(Timestamp.parseISO8601(text) == nil)
    }

    @Test func rfc1123MatchesTheHTTPDateFormat() {
        #expect(Timestamp.rfc1123(milliseconds: 784_111_777_000) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}

@Suite struct JSONValueTests {
    @Test func objectsKeepMemberOrderAndStringsAreEscaped() {
        let value = JSONValue.object([("b", .string("q\"\\\n\u{1}")), ("a", .array([.number(1), .bool(true), .null]))])
        #expect(String(decoding: value.serialized, as: UTF8.self) == #"{"b":"q\"\\\n\u0001","a":[1,true,null]}"#)
    }

    @Test func deepNestingIsRefusedWithItsOwnMessageButBracketsInStringsDoNotCount() throws {
        let deep = Array((String(repeating: "[", count: 65) + String(repeating: "]", count: 65)).utf8)
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(deep) }
        do { _ = try JSONValue.parse(deep) } catch { #expect(error.message.contains("deeper than 64 levels")) }
        let fine = Array((String(repeating: "[", count: 64) + String(repeating: "]", count: 64)).utf8)
        #expect(throws: Never.self) { try JSONValue.parse(fine) }
        #expect(try JSONValue.parse(Array(#"{"a":"[[[[\"{{{{"}"#.utf8))["a"] == .string(#"[[[["{{{{"#))
    }

    @Test func parsingTellsBooleansFromNumbers() throws {
        let value = try JSONValue.parse(Array(#"{"t": true, "n": 1, "s": "x", "z": null}"#.utf8))
        #expect(value["t"] == .bool(true))
        #expect(value["n"] == .number(1))
        #expect(value["s"] == .string("x"))
        #expect(value["z"] == .null)
    }

    /// A number written, read back and written again is the same text: large ones included.
    @Test(arguments: ["1.2345678901234568e+29", "123456789012345678901234567890", "9007199254740992", "-0.5", "1e+300", "12345678901234567"])
    func numbersSurviveAWriteAndARead(_ text: String) throws {
        let once = try JSONValue.parse(Array("[\(text)]".utf8)).serialized
        let twice = try JSONValue.parse(once).serialized
        #expect(once == twice, "\(String(decoding: once, as: UTF8.self)) then \(String(decoding: twice, as: UTF8.self))")
        #expect(!String(decoding: once, as: UTF8.self).hasSuffix(".0]"))
    }

    @Test(arguments: ["", "{", "{\"a\":}", "nul", "{'a': 1}", "{\"a\":1} x", "[NaN]"])
    func notJSONIsASyntaxError(_ text: String) {
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(Array(text.utf8)) }
    }

    /// Foundation's parser, like Json.NET, accepts a trailing comma (docs/fidelity.md).
    @Test func aTrailingCommaIsTolerated() throws {
        #expect(try JSONValue.parse(Array("[1,]".utf8)) == .array([.number(1)]))
    }

    @Test func deeplyNestedInputDoesNotCrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        _ = try? JSONValue.parse(Array(deep.utf8))
    }
}

@Suite struct ValidationTests {
    @Test func userIdsFollowTheSpecPattern() {
        #expect(Validation.isResourceID("abc-DEF_123"))
        #expect(Validation.isResourceID(String(repeating: "a", count: 48)))
        #expect(!Validation.isResourceID(String(repeating: "a", count: 49)))
        #expect(!Validation.isResourceID("a/b"))
        #expect(!Validation.isResourceID("a b"))
        #expect(!Validation.isResourceID(""))
        #expect(!Validation.isResourceID("é"))
    }

    @Test func guidsAndEmails() {
        #expect(Validation.isGUID("72f988bf-86f1-41af-91ab-2d7cd011db47"))
        #expect(!Validation.isGUID("72f988bf86f141af91ab2d7cd011db47"))
        #expect(!Validation.isGUID("72f988bf-86f1-41af-91ab-2d7cd011db4g"))
        #expect(Validation.isEmail("alice@contoso.com"))
        #expect(!Validation.isEmail("alice"))
        #expect(!Validation.isEmail("a@b@c.com"))
        #expect(!Validation.isEmail("alice @contoso.com"))
    }
}

@Suite struct OperationCatalogTests {
    @Test func routesByMethodAndTemplateWithTrailingSlashesAlreadyRemoved() {
        guard case .operation(let op, let parameters) = OperationCatalog.match(method: "PATCH", segments: ["users", "abc"], version: .v2022_07_31) else {
            Issue.record("no match"); return
        }
        #expect(op.operationID == "Users_Update")
        #expect(parameters == ["userId": "abc"])
    }

    @Test func aKnownPathWithAnotherMethodListsTheAllowedOnes() {
        guard case .methodNotAllowed(let allowed) = OperationCatalog.match(method: "POST", segments: ["apiTokens", "x"], version: .v2022_07_31) else {
            Issue.record("expected 405"); return
        }
        #expect(Set(allowed) == ["GET", "PUT", "DELETE"])
    }

    @Test func aPathOfOtherVersionsOnlyIsNotInThisOne() {
        // Organizations do not exist in 1.0: any method there is 404, not 405.
        guard case .notInVersion(let other) = OperationCatalog.match(method: "DELETE", segments: ["organizations"], version: .v1_0) else {
            Issue.record("expected not in version"); return
        }
        #expect(other == nil)
        guard case .notInVersion(let remove?) = OperationCatalog.match(method: "DELETE", segments: ["deviceGroups", "x"], version: .v1_0) else {
            Issue.record("expected not in version"); return
        }
        #expect(remove.operationID == "DeviceGroups_Remove")
        // 2022-06-30-preview has data export.
        guard case .operation(let create, _) = OperationCatalog.match(method: "PUT", segments: ["dataExport", "destinations", "x"], version: .v2022_06_30_preview) else {
            Issue.record("expected the operation"); return
        }
        #expect(create.operationID == "Destinations_Create")
    }

    @Test func unknownPathsMatchNothing() {
        guard case .noSuchPath = OperationCatalog.match(method: "GET", segments: ["widgets"], version: .v2022_07_31) else {
            Issue.record("expected no match"); return
        }
    }

    @Test func everyOperationIdIsUniqueAndNamesADefinedPermission() throws {
        let ids = OperationCatalog.operations.map(\.operationID)
        #expect(Set(ids).count == ids.count)
        let roles = try JSONValue.parse(Array(try Data(contentsOf: FixturePaths.directory.appendingPathComponent("roles.json"))))
        for operation in OperationCatalog.operations {
            #expect(roles["permissions"]?[operation.permission] != nil, "\(operation.operationID) needs undefined \(operation.permission)")
        }
    }
}

enum FixturePaths {
    /// The repository's `fixtures/` folder.
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures")
    }
}
