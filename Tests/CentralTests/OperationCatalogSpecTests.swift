import Foundation
import Testing

@testable import Central

/// The operation catalog against the official specs, checked out beside the repository (`shared/spec/iotcentral/`) (read at test time, skipped
/// with a message when absent), and `docs/permissions.md` against the catalog.
@Suite struct OperationCatalogSpecTests {
    static let specRoot = FixturePaths.directory.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/spec/iotcentral")

    struct SpecOperation: Hashable {
        let method: String
        let path: String
        let operationID: String
    }

    /// Every (method, path, operationId) of one spec file, or nil when the file is absent.
    static func specOperations(_ version: String) throws -> Set<SpecOperation>? {
        let url = specRoot.appendingPathComponent("\(version)/iotcentral.json")
        guard let data = try? Data(contentsOf: url) else { return nil }
        guard case .object(let paths) = try JSONValue.parse(Array(data))["paths"] ?? .null else { return [] }
        var found = Set<SpecOperation>()
        for (path, item) in paths {
            guard case .object(let methods) = item else { continue }
            for (method, operation) in methods where ["get", "put", "post", "patch", "delete"].contains(method) {
                found.insert(SpecOperation(method: method.uppercased(), path: path, operationID: operation["operationId"]?.stringValue ?? "?"))
            }
        }
        return found
    }

    static func catalog(in version: APIVersion) -> Set<SpecOperation> {
        Set(OperationCatalog.operations.filter { $0.versions.contains(version) }
            .map { SpecOperation(method: $0.method, path: $0.path, operationID: $0.operationID) })
    }

    @Test(arguments: [(APIVersion.v2022_07_31, 96), (APIVersion.v2022_10_31_preview, 120)])
    func theCatalogHoldsExactlyTheOperationsOfTheSpec(version: APIVersion, count: Int) throws {
        guard let spec = try Self.specOperations(version.rawValue) else {
            withKnownIssue("the official specs are not checked out beside the repository: the catalog cannot be compared") { Issue.record("no spec for \(version.rawValue)") }
            return
        }
        let catalog = Self.catalog(in: version)
        #expect(spec.count == count)
        #expect(spec.subtracting(catalog).isEmpty, "missing from the catalog: \(spec.subtracting(catalog).map(\.operationID).sorted())")
        #expect(catalog.subtracting(spec).isEmpty, "invented by the catalog: \(catalog.subtracting(spec).map(\.operationID).sorted())")
    }

    /// The official per-version operation table (`operations-by-version.json`, beside the spec files): for each
    /// api-version, its operations' (method, path, operationId). Nil when the shared folder is absent.
    static func versionTable() throws -> [String: Set<SpecOperation>]? {
        guard let data = try? Data(contentsOf: specRoot.appendingPathComponent("operations-by-version.json")) else { return nil }
        guard case .object(let versions) = try JSONValue.parse(Array(data))["versions"] ?? .null else { return [:] }
        var table: [String: Set<SpecOperation>] = [:]
        for (version, operations) in versions {
            table[version] = Set((operations.arrayValue ?? []).map {
                // 1.1-preview writes one path with a trailing slash; routing ignores it.
                var path = $0["path"]?.stringValue ?? "?"
                if path.count > 1, path.hasSuffix("/") { path.removeLast() }
                return SpecOperation(method: $0["method"]?.stringValue ?? "?", path: path, operationID: $0["operationId"]?.stringValue ?? "?")
            })
        }
        return table
    }

    @Test func theCatalogMatchesTheOfficialTableCellByCell() throws {
        guard let table = try Self.versionTable() else {
            withKnownIssue("the specs' operations-by-version.json is not checked out beside the repository: the catalog cannot be compared") {
                Issue.record("no per-version table")
            }
            return
        }
        #expect(Set(table.keys) == Set(APIVersion.allCases.map(\.rawValue)))
        let everyOperation = Set(table.values.flatMap { $0 })
        #expect(OperationCatalog.operations.count == everyOperation.count && everyOperation.count == 130)
        var cells = 0, wrong: [String] = []
        for operation in OperationCatalog.operations {
            let row = SpecOperation(method: operation.method, path: operation.path, operationID: operation.operationID)
            #expect(everyOperation.contains(row), "\(operation.operationID): not in the table as \(operation.method) \(operation.path)")
            for version in APIVersion.allCases {
                cells += 1
                let listed = table[version.rawValue]?.contains(row) == true
                if listed != operation.versions.contains(version) { wrong.append("\(operation.operationID) in \(version.rawValue)") }
            }
        }
        #expect(cells == 1040)
        #expect(wrong.isEmpty, "cells that differ: \(wrong)")
    }

    @Test func organizationsExistWhereTheirVersionsSay() {
        for operation in OperationCatalog.operations where operation.operationID.hasPrefix("Organizations_") {
            #expect(!operation.versions.contains(.v1_0) && !operation.versions.contains(.v2021_04_30_preview))
            #expect(operation.versions.contains(.v1_1_preview) && operation.versions.contains(.v2022_05_31))
            #expect(operation.versions.allSatisfy { $0.hasOrganizations })
        }
    }

    @Test func everyPermissionIsDefinedAndEveryEmulatedOperationHasAHandler() throws {
        let fixture = try Fixture.load(directory: FixturePaths.directory, name: "default")
        for operation in OperationCatalog.operations {
            #expect(fixture.permissions[operation.permission] != nil, "\(operation.operationID) names \(operation.permission)")
        }
        // Every operation is answered from state: none answers 501.
        let notEmulated = OperationCatalog.operations.filter { !$0.isEmulated }.map(\.operationID)
        #expect(notEmulated.isEmpty, "\(notEmulated)")
    }

    @Test func theCommittedPermissionsDocumentIsTheGeneratedOne() throws {
        let fixture = try Fixture.load(directory: FixturePaths.directory, name: "default")
        let url = FixturePaths.directory.deletingLastPathComponent().appendingPathComponent("docs/permissions.md")
        let committed = try String(contentsOf: url, encoding: .utf8)
        #expect(committed == PermissionsDocument.markdown(fixture: fixture), "run `make docs` and commit docs/permissions.md")
        #expect(committed.contains("| Devices_Create | `PUT /devices/{deviceId}` | `devices.create` | organization |"))
    }
}
