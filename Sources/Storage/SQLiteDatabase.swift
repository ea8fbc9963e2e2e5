import CSQLite
import Foundation
import Synchronization

/// One SQLite connection, used from many threads one at a time.
///
/// Every call takes an internal lock, so the connection is never used by two threads at once (SQLite's
/// "multi-thread" mode requires exactly that). Statements are prepared once and cached by their SQL text.
/// A file database runs in WAL mode with `synchronous=FULL` and foreign keys on, so a write that `transaction`
/// returned from is on disk before the caller acknowledges it, and survives `kill -9` and power loss.
public final class SQLiteDatabase: @unchecked Sendable {
    // @unchecked: `handle` and `statements` are touched only while `lock` is held.
    private let lock = NSLock()
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    private var inTransaction = false

    /// Where the data lives: a file path, or nil for a private in-memory database that vanishes with the process.
    public let path: String?
    /// The device and inode the file had when it was opened: a write first checks that `path` still names it.
    private let identity: (device: UInt64, inode: UInt64)?
    /// What is known about the files beyond `identity`: the write-ahead log's device and inode (once it exists) and
    /// the problem of the episode under way, if any (set by a failed write, cleared by the next one that succeeds).
    private let files = Mutex<FileState>(FileState())
    private struct FileState {
        var log: (device: UInt64, inode: UInt64)?
        var problem: String?
        var onChange: (@Sendable (String?) -> Void)?
    }

    /// Opens (creating if needed) the database at `path`, or an in-memory one when `path` is nil.
    /// - Throws: `SQLiteError` when the file cannot be opened or is not a database.
    public init(path: String?) throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path ?? ":memory:", &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message)
        }
        self.handle = db
        self.path = path
        var info = stat()
        identity = path.flatMap { stat($0, &info) == 0 ? (UInt64(info.st_dev), UInt64(info.st_ino)) : nil }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5_000)
        do {
            try execute("PRAGMA foreign_keys = ON")
            if path != nil {
                _ = try query("PRAGMA journal_mode = WAL")
                try execute("PRAGMA synchronous = FULL")
            }
        } catch {
            sqlite3_close_v2(db)
            throw error
        }
        _ = fileProblem()  // records the write-ahead log's identity
    }

    /// Called when writes begin to fail (with the reason) and when they succeed again (with nil), once per change:
    /// for the operator's log. Called on the thread of the write that changed it.
    public func onProblemChange(_ report: @escaping @Sendable (String?) -> Void) {
        files.withLock { $0.onChange = report }
    }

    /// Why writes fail or would be lost, or nil: `fileProblem()`, else the failure of the last write when it was
    /// the disk's (full, or an I/O error) and no write has succeeded since.
    public func problem() -> String? {
        fileProblem() ?? files.withLock { $0.problem }
    }

    /// Why writes would be lost, or nil when the files are still the ones opened and writable: the database file
    /// was deleted (with its folder, say), replaced by another file, or made unwritable, or its write-ahead log
    /// (which holds the latest writes until a checkpoint copies them into the file) was deleted or replaced. A write
    /// would otherwise go to a file no later start can find. In-memory databases have no file and never report one.
    public func fileProblem() -> String? {
        guard let path, let identity else { return nil }
        var info = stat()
        guard stat(path, &info) == 0 else {
            return errno == ENOENT ? "the database file \(path) was deleted while the server ran (its data folder too, perhaps)"
                : "the database file \(path) cannot be reached: \(String(cString: strerror(errno)))"
        }
        guard UInt64(info.st_dev) == identity.device, UInt64(info.st_ino) == identity.inode else {
            return "the database file \(path) was replaced by another file while the server ran"
        }
        guard access(path, W_OK) == 0 else { return "the database file \(path) was made read-only while the server ran" }
        let logPath = path + "-wal"
        let found = stat(logPath, &info) == 0 ? (device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) : nil
        return files.withLock { state in
            guard let known = state.log else {
                state.log = found
                return nil
            }
            guard let found else { return "the write-ahead log \(logPath) was deleted while the server ran; the latest writes went with it" }
            return found == known ? nil : "the write-ahead log \(logPath) was replaced by another file while the server ran"
        }
    }

    /// A write refused or failed because the files cannot keep it: `fileProblem()` found one gone, replaced or
    /// read-only (`recovers` false: only a restart on a usable folder helps), or the disk is full or failed
    /// (`recovers` true: the next write is tried again). Nothing of the write was stored.
    public struct FileProblem: Error, Sendable, CustomStringConvertible {
        public let description: String
        /// Whether a later write can succeed without a restart (once space is freed, say).
        public let recovers: Bool
    }

    /// Records the outcome of a write for `problem()`, reporting a change to `onProblemChange`.
    private func noteWrite(failure: String?) {
        let report = files.withLock { state -> (@Sendable (String?) -> Void)? in
            let changed = (state.problem == nil) != (failure == nil)
            state.problem = failure
            return changed ? state.onChange : nil
        }
        report?(failure)
    }

    /// The `FileProblem` for a failed step, when SQLite says the disk is full or failed; nil for other errors.
    private func storageFailure(_ code: Int32) -> FileProblem? {
        guard let path else { return nil }
        switch code & 0xFF {
        case SQLITE_FULL: return FileProblem(description: "the disk holding \(path) is full", recovers: true)
        case SQLITE_IOERR: return FileProblem(description: "writing \(path) failed (\(String(cString: sqlite3_errstr(code))))", recovers: true)
        default: return nil
        }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Runs one or more SQL statements that take no parameters and return no rows (schema changes, pragmas).
    /// - Throws: `SQLiteError`.
    public func execute(_ sql: String) throws {
        try locked {
            var error: UnsafeMutablePointer<CChar>?
            let rc = sqlite3_exec(handle, sql, nil, nil, &error)
            if rc != SQLITE_OK {
                let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
                sqlite3_free(error)
                throw SQLiteError(code: sqlite3_extended_errcode(handle), message: message, sql: sql)
            }
        }
    }

    /// Runs one statement with `?` parameters bound in order and returns all of its rows.
    /// - Throws: `SQLiteError` (a constraint violation included).
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [SQLiteRow] {
        try locked { try run(sql, parameters) }
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`; any error thrown rolls everything back, so a write either
    /// happens whole or not at all. Transactions do not nest.
    /// - Throws: what `body` throws, or `SQLiteError`.
    @discardableResult
    public func transaction<T>(_ body: (Transaction) throws -> T) throws -> T {
        try locked {
            guard !inTransaction else {
                throw SQLiteError(code: SQLITE_MISUSE, message: "nested transaction")
            }
            inTransaction = true
            defer { inTransaction = false }
            _ = try run("BEGIN IMMEDIATE", [])
            do {
                let result = try body(Transaction(database: self))
                _ = try run("COMMIT", [])
                if path != nil { noteWrite(failure: nil) }
                return result
            } catch {
                _ = try? run("ROLLBACK", [])
                throw error
            }
        }
    }

    /// The statements of one open transaction. Valid only inside the closure given to `transaction`.
    public struct Transaction {
        fileprivate let database: SQLiteDatabase

        /// As `SQLiteDatabase.query`, inside the transaction.
        @discardableResult
        public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [SQLiteRow] {
            try database.run(sql, parameters)
        }
    }

    // MARK: - Internals (call with `lock` held)

    private func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func statement(for sql: String) throws -> OpaquePointer {
        if let cached = statements[sql] { return cached }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw SQLiteError(
                code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), sql: sql)
        }
        statements[sql] = statement
        return statement
    }

    private func run(_ sql: String, _ parameters: [SQLiteValue]) throws -> [SQLiteRow] {
        let statement = try statement(for: sql)
        // A statement that writes (not BEGIN, COMMIT or a SELECT) first checks that its files are still there.
        let writes = sqlite3_stmt_readonly(statement) == 0
        if identity != nil, writes, let problem = fileProblem() {
            noteWrite(failure: problem)
            throw FileProblem(description: problem, recovers: false)
        }
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        guard Int(sqlite3_bind_parameter_count(statement)) == parameters.count else {
            throw SQLiteError(code: SQLITE_RANGE, message: "expected \(sqlite3_bind_parameter_count(statement)) parameters, got \(parameters.count)", sql: sql)
        }
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, index)
            case .integer(let i): rc = sqlite3_bind_int64(statement, index, i)
            case .real(let d): rc = sqlite3_bind_double(statement, index, d)
            case .text(let s):
                // With its byte length, so a NUL inside the text is stored, not taken for its end.
                var text = s
                rc = text.withUTF8 { utf8 -> Int32 in
                    guard let base = utf8.baseAddress, utf8.count > 0 else {
                        return sqlite3_bind_text(statement, index, "", 0, csqlite_transient())
                    }
                    return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                        sqlite3_bind_text(statement, index, $0, Int32(utf8.count), csqlite_transient())
                    }
                }
            case .blob(let b):
                rc = b.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), csqlite_transient()) }
            }
            guard rc == SQLITE_OK else {
                throw SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
            }
        }
        var rows: [SQLiteRow] = []
        let columns = sqlite3_column_count(statement)
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                if let failure = storageFailure(sqlite3_extended_errcode(handle)) {
                    noteWrite(failure: failure.description)
                    throw failure
                }
                throw SQLiteError(
                    code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), sql: sql)
            }
            var values: [SQLiteValue] = []
            values.reserveCapacity(Int(columns))
            for column in 0..<columns {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(statement, column)))
                case SQLITE_TEXT:
                    let count = Int(sqlite3_column_bytes(statement, column))
                    let text = sqlite3_column_text(statement, column).map { String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self) }
                    values.append(.text(text ?? ""))
                case SQLITE_BLOB:
                    let count = Int(sqlite3_column_bytes(statement, column))
                    if let base = sqlite3_column_blob(statement, column), count > 0 {
                        values.append(.blob(Array(UnsafeRawBufferPointer(start: base, count: count))))
                    } else {
                        values.append(.blob([]))
                    }
                default: values.append(.null)
                }
            }
            rows.append(SQLiteRow(values))
        }
        if writes && !inTransaction && path != nil { noteWrite(failure: nil) }
        return rows
    }
}
