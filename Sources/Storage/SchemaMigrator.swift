import Foundation

/// Brings a database's schema up to date with numbered migrations, recorded in `PRAGMA user_version`
/// (https://sqlite.org/pragma.html#pragma_user_version).
///
/// Migration `i` (0-based) moves the schema from version `i` to `i + 1`. Each runs in its own transaction together
/// with the version bump, so a crash leaves the schema at a whole version.
public struct SchemaMigrator: Sendable {
    public let migrations: [String]
    /// Work in Swift that a migration needs beyond its SQL (rewriting values), by migration index: it runs after
    /// that migration's statements, in the same transaction.
    public let steps: [Int: @Sendable (SQLiteDatabase.Transaction) throws -> Void]

    public init(migrations: [String], steps: [Int: @Sendable (SQLiteDatabase.Transaction) throws -> Void] = [:]) {
        self.migrations = migrations; self.steps = steps
    }

    /// Applies every migration the database has not had yet and returns the resulting version.
    /// - Throws: `SQLiteError`, or `SchemaMigrator.TooNewError` when the file was written by a newer build.
    @discardableResult
    public func migrate(_ database: SQLiteDatabase) throws -> Int {
        let current = Int(try database.query("PRAGMA user_version").first?[0].integer ?? 0)
        guard current <= migrations.count else {
            throw TooNewError(found: current, supported: migrations.count)
        }
        for version in current..<migrations.count {
            try database.transaction { tx in
                for statement in Self.split(migrations[version]) { try tx.query(statement) }
                try steps[version]?(tx)
                try tx.query("PRAGMA user_version = \(version + 1)")
            }
        }
        return migrations.count
    }

    /// The data folder holds a schema newer than this build understands.
    public struct TooNewError: Error, Sendable, CustomStringConvertible {
        public let found: Int
        public let supported: Int
        public var description: String {
            "the database has schema version \(found), but this build knows versions up to \(supported); use a newer iotc-mock or another data folder"
        }
    }

    /// Splits a migration on `;` at line ends. Migrations are our own text, written one statement per `;\n`.
    static func split(_ sql: String) -> [String] {
        sql.components(separatedBy: ";\n")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }
            .filter { !$0.isEmpty }
    }
}
