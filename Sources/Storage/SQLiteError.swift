/// A failure reported by SQLite, with its result code (https://sqlite.org/rescode.html) and message.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code, e.g. 2067 (`SQLITE_CONSTRAINT_UNIQUE`).
    public let code: Int32
    public let message: String
    /// The SQL that failed, when there was one.
    public let sql: String?

    public init(code: Int32, message: String, sql: String? = nil) {
        self.code = code; self.message = message; self.sql = sql
    }

    /// True for any constraint violation (primary key, unique, foreign key, check, not null).
    public var isConstraintViolation: Bool { code & 0xFF == 19 }
    /// True for a UNIQUE or PRIMARY KEY violation.
    public var isUniqueViolation: Bool { code == 2067 || code == 1555 }

    public var description: String {
        "SQLite error \(code): \(message)" + (sql.map { " (in: \($0))" } ?? "")
    }
}
