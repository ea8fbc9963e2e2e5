import Foundation
import Testing

@testable import Central
@testable import MockServer

/// Replays every apiTokens, users, roles and organizations example of the official 2022-07-31 spec over real HTTP,
/// against the `spec-examples` fixture (the organizations us > washington > seattle and the custom role the
/// examples name). The spec and its
/// examples are read at test time from the official specs checked out beside the repository (`shared/spec/`).
@Suite struct SpecExampleReplayTests {
    static let specDirectory = Paths.shared.appendingPathComponent("spec/iotcentral/2022-07-31")

    struct Example: CustomTestStringConvertible, Sendable {
        let file: String
        let method: String
        let pathTemplate: String
        let operationID: String
        var testDescription: String { "\(operationID) (\(file))" }
    }

    /// The examples the spec links from the operations of `/apiTokens`, `/users`, `/roles` and `/organizations`.
    static func examples() -> [Example] {
        guard let data = try? Data(contentsOf: specDirectory.appendingPathComponent("iotcentral.json")),
              let spec = try? JSONValue.parse(Array(data)), case .object(let paths) = spec["paths"] ?? .null
        else { return [] }
        var found: [Example] = []
        for (path, item) in paths where ["/apiTokens", "/users", "/roles", "/organizations"].contains(where: { path.hasPrefix($0) }) {
            guard case .object(let methods) = item else { continue }
            for (method, operation) in methods {
                guard case .object(let examples) = operation["x-ms-examples"] ?? .null else { continue }
                for (_, reference) in examples {
                    guard let ref = reference["$ref"]?.stringValue else { continue }
                    found.append(Example(
                        file: URL(fileURLWithPath: ref).lastPathComponent, method: method.uppercased(), pathTemplate: path,
                        operationID: operation["operationId"]?.stringValue ?? "?"))
                }
            }
        }
        return found.sorted { $0.file < $1.file }
    }

    @Test func theSpecIsPresentAndLinksEveryExampleFile() throws {
        let directory = Self.specDirectory.appendingPathComponent("examples")
        guard FileManager.default.fileExists(atPath: directory.path) else {
            withKnownIssue("the official specs are not checked out beside the repository: the spec example replay is skipped") { Issue.record("no spec at \(directory.path)") }
            return
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { ["apitoken_", "users_", "roles_", "organizations_"].contains(where: $0.hasPrefix) }
        #expect(Set(Self.examples().map(\.file)) == Set(files))
        #expect(files.count == 15)
    }

    @Test(.enabled(if: !examples().isEmpty, "the official 2022-07-31 spec is not checked out beside the repository"), arguments: examples())
    func exampleReplays(_ example: Example) throws {
        let data = try Data(contentsOf: Self.specDirectory.appendingPathComponent("examples/\(example.file)"))
        let document = try JSONValue.parse(Array(data))
        let parameters = try #require(document["parameters"])
        guard case .object(let responses) = document["responses"] ?? .null, let (statusText, expected) = responses.first,
              let status = Int(statusText)
        else { Issue.record("\(example.file) has no response"); return }

        let server = try startServer(fixture: "spec-examples")
        defer { server.stop() }
        let admin = try #require(server.wellKnownToken())
        let client = try RawHTTPClient(port: server.port)
        let version = parameters["api-version"]?.stringValue ?? "2022-07-31"

        // Make the items the example reads or deletes exist, from the example's own response where it has one.
        for prerequisite in Self.prerequisites(example, parameters: parameters, expected: expected["body"]) {
            let r = try client.request("PUT", "/api\(prerequisite.path)?api-version=\(version)", token: admin, body: prerequisite.body)
            try #require(r.status == 200, "set-up PUT \(prerequisite.path) failed: \(r.text)")
        }

        var path = example.pathTemplate
        for name in ["tokenId", "userId", "roleId", "organizationId"] {
            if let value = parameters[name]?.stringValue { path = path.replacingOccurrences(of: "{\(name)}", with: value) }
        }
        let body = parameters["body"].map { String(decoding: $0.serialized, as: UTF8.self) }
        let response = try client.request(example.method, "/api\(path)?api-version=\(version)", token: admin, body: body)
        #expect(response.status == status, "\(example.file): \(response.text)")
        if let expectedBody = expected["body"] {
            Self.expectConforms(response.json, to: expectedBody, at: example.file)
        } else {
            #expect(response.body.isEmpty)
        }
    }

    /// PUT requests that create what the example expects to find.
    static func prerequisites(_ example: Example, parameters: JSONValue, expected: JSONValue?) -> [(path: String, body: String)] {
        guard example.method != "PUT" else { return [] }
        let collection = example.pathTemplate.hasPrefix("/apiTokens") ? "/apiTokens" : example.pathTemplate.hasPrefix("/users") ? "/users" : nil
        guard let collection else { return [] }
        var items: [JSONValue] = expected?["value"]?.arrayValue ?? expected.map { [$0] } ?? []
        if items.isEmpty, let id = (parameters["tokenId"] ?? parameters["userId"])?.stringValue {
            // A delete example has no body: create a plain item under its id.
            items = [collection == "/users"
                ? .object([("id", .string(id)), ("type", .string("email")), ("email", .string("\(id)@contoso.com")), ("roles", .array([RoleAssignment(role: "ae2c9854-393b-4f97-8c42-479d70ce626e").json]))])
                : .object([("id", .string(id)), ("roles", .array([RoleAssignment(role: "ae2c9854-393b-4f97-8c42-479d70ce626e").json]))])]
        }
        return items.compactMap { item in
            guard let id = item["id"]?.stringValue ?? (parameters["tokenId"] ?? parameters["userId"])?.stringValue,
                  case .object(let members) = item else { return nil }
            // Read-only and time-bound fields are not sent: the example's expiry (2020) lies in the past.
            let writable = JSONValue.object(members.filter { !["id", "expiry", "token"].contains($0.0) })
            return ("\(collection)/\(id)", String(decoding: writable.serialized, as: UTF8.self))
        }
    }

    /// Every field of `expected` is in `actual` with the same JSON type; strings and numbers are equal too,
    /// except `expiry` (a date-time whose value depends on the clock) and `token` (a fresh secret). List items are
    /// matched by `id`.
    static func expectConforms(_ actual: JSONValue, to expected: JSONValue, at path: String) {
        switch expected {
        case .object(let members):
            guard case .object = actual else { Issue.record("\(path): expected an object, got \(actual.kindDescription)"); return }
            for (key, value) in members {
                guard let field = actual[key] else { Issue.record("\(path).\(key) is missing"); continue }
                switch key {
                case "expiry":
                    #expect(field.stringValue.flatMap(Timestamp.parseISO8601) != nil, "\(path).expiry is not a date-time: \(field)")
                case "token":
                    #expect(field.stringValue?.hasPrefix("SharedAccessSignature sr=") == true, "\(path).token: \(field)")
                default:
                    expectConforms(field, to: value, at: "\(path).\(key)")
                }
            }
        case .array(let elements):
            guard let actualElements = actual.arrayValue else { Issue.record("\(path): expected an array, got \(actual.kindDescription)"); return }
            for (index, element) in elements.enumerated() {
                let match = element["id"].flatMap { id in actualElements.first { $0["id"] == id } }
                    ?? (index < actualElements.count ? actualElements[index] : nil)
                guard let match else { Issue.record("\(path)[\(index)] is missing"); continue }
                expectConforms(match, to: element, at: "\(path)[\(index)]")
            }
        default:
            #expect(actual == expected, "\(path): expected \(expected), got \(actual)")
        }
    }
}
