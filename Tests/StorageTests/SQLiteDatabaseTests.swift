import Foundation
import Synchronization
import Testing

@testable import Storage

@Suite struct SQLiteDatabaseTests {
    @Test func valuesOfEveryStorageClassRoundTrip() throws {
        let db = try SQLiteDatabase(path: nil)
        try db.execute("CREATE TABLE t (a, b, c, d, e)")
        try db.query("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [.null, .integer(-42), .real(1.5), .text("héllo"), .blob([0, 1, 255])])
        let row = try #require(try db.query("SELECT a, b, c, d, e FROM t").first)
        #expect(row.values == [.null, .integer(-42), .real(1.5), .text("héllo"), .blob([0, 1, 255])])
    }

    @Test func textWithANulCharacterRoundTripsWhole() throws {
        let db = try SQLiteDatabase(path: nil)
        try db.execute("CREATE TABLE t (a)")
        try db.query("INSERT INTO t VALUES (?), (?)", [.text("before\u{0}after"), .text("")])
        #expect(try db.query("SELECT a, length(CAST(a AS BLOB)) FROM t ORDER BY rowid").map(\.values) == [
            [.text("before\u{0}after"), .integer(12)], [.text(""), .integer(0)],
        ])
    }

    @Test func aThrowingTransactionWritesNothing() throws {
        struct Boom: Error {}
        let db = try SQLiteDatabase(path: nil)
        try db.execute("CREATE TABLE t (x INTEGER)")
        #expect(throws: Boom.self) {
            try db.transaction { tx in
                try tx.query("INSERT INTO t VALUES (1)")
                throw Boom()
            }
        }
        #expect(try db.query("SELECT COUNT(*) FROM t").first?[0] == .integer(0))
    }

    @Test func uniqueViolationIsReportedAsSuch() throws {
        let db = try SQLiteDatabase(path: nil)
        try db.execute("CREATE TABLE t (x INTEGER UNIQUE)")
        try db.query("INSERT INTO t VALUES (1)")
        do {
            try db.query("INSERT INTO t VALUES (1)")
            Issue.record("a duplicate was accepted")
        } catch let error as SQLiteError {
            #expect(error.isUniqueViolation)
            #expect(error.isConstraintViolation)
        }
    }

    @Test func wrongParameterCountIsAnErrorNotACrash() throws {
        let db = try SQLiteDatabase(path: nil)
        #expect(throws: SQLiteError.self) { try db.query("SELECT ?", []) }
    }

    @Test func aFileDatabaseUsesWriteAheadLoggingAndSurvivesReopening() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("db.sqlite3").path
        do {
            let db = try SQLiteDatabase(path: path)
            #expect(try db.query("PRAGMA journal_mode").first?[0] == .text("wal"))
            #expect(try db.query("PRAGMA synchronous").first?[0] == .integer(2))
            try db.execute("CREATE TABLE t (x TEXT)")
            try db.transaction { tx in try tx.query("INSERT INTO t VALUES ('kept')") }
        }
        let reopened = try SQLiteDatabase(path: path)
        #expect(try reopened.query("SELECT x FROM t").first?[0] == .text("kept"))
    }

    @Test func aFullDiskFailsTheWriteWithAProblemThatClearsOnTheNextSuccess() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = try SQLiteDatabase(path: folder.appendingPathComponent("db.sqlite3").path)
        let reports = Mutex<[String?]>([])
        db.onProblemChange { problem in reports.withLock { $0.append(problem) } }
        try db.execute("CREATE TABLE t (x BLOB)")
        // SQLite answers SQLITE_FULL, as for a full disk, once the file may grow no further.
        let pages = try #require(db.query("PRAGMA page_count").first?[0])
        guard case .integer(let count) = pages else { Issue.record("page_count: \(pages)"); return }
        _ = try db.query("PRAGMA max_page_count = \(count)")
        for _ in 0..<2 {
            #expect {
                try db.transaction { tx in try tx.query("INSERT INTO t VALUES (?)", [.blob([UInt8](repeating: 1, count: 100_000))]) }
            } throws: { error in
                (error as? SQLiteDatabase.FileProblem)?.recovers == true && "\(error)".contains("is full")
            }
        }
        #expect(db.problem()?.contains("is full") == true)
        #expect(db.fileProblem() == nil)
        _ = try db.query("PRAGMA max_page_count = 1000000")
        try db.transaction { tx in try tx.query("INSERT INTO t VALUES (?)", [.blob([1])]) }
        #expect(db.problem() == nil)
        let seen = reports.withLock { $0 }
        #expect(seen.count == 2 && seen.first??.contains("is full") == true && seen.last == .some(nil), "\(seen)")
    }

    @Test func aDeletedWriteAheadLogIsAFileProblem() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("db.sqlite3").path
        let db = try SQLiteDatabase(path: path)
        try db.execute("CREATE TABLE t (x TEXT)")
        #expect(db.fileProblem() == nil)
        try FileManager.default.removeItem(atPath: path + "-wal")
        #expect(db.fileProblem()?.contains("write-ahead log \(path)-wal was deleted") == true)
        #expect(throws: SQLiteDatabase.FileProblem.self) { try db.query("INSERT INTO t VALUES ('lost')") }
    }
}

@Suite struct SchemaMigratorTests {
    @Test func migrationsRunOnceAndRecordTheVersion() throws {
        let db = try SQLiteDatabase(path: nil)
        let migrator = SchemaMigrator(migrations: ["CREATE TABLE a (x);\nCREATE TABLE b (y);", "ALTER TABLE a ADD COLUMN z"])
        #expect(try migrator.migrate(db) == 2)
        #expect(try migrator.migrate(db) == 2)  // a second run must not re-create the tables
        #expect(try db.query("PRAGMA user_version").first?[0] == .integer(2))
        try db.query("INSERT INTO a (x, z) VALUES (1, 2)")
    }

    @Test func aNewerDatabaseIsRefused() throws {
        let db = try SQLiteDatabase(path: nil)
        try db.execute("PRAGMA user_version = 7")
        #expect(throws: SchemaMigrator.TooNewError.self) { try SchemaMigrator(migrations: ["CREATE TABLE a (x)"]).migrate(db) }
    }

    @Test func aFailingMigrationLeavesTheVersionUnchanged() throws {
        let db = try SQLiteDatabase(path: nil)
        #expect(throws: SQLiteError.self) { try SchemaMigrator(migrations: ["CREATE TABLE a (x);\nNOT SQL"]).migrate(db) }
        #expect(try db.query("PRAGMA user_version").first?[0] == .integer(0))
        #expect(try db.query("SELECT name FROM sqlite_master WHERE name = 'a'").isEmpty)
    }
}
