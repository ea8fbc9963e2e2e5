/// A value as SQLite stores it (https://sqlite.org/datatype3.html): the five storage classes.
public enum SQLiteValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The text, or nil for any other storage class.
    public var text: String? { if case .text(let s) = self { s } else { nil } }
    /// The integer, or nil for any other storage class.
    public var integer: Int64? { if case .integer(let i) = self { i } else { nil } }
    /// The bytes, or nil for any other storage class.
    public var blob: [UInt8]? { if case .blob(let b) = self { b } else { nil } }
}

extension SQLiteValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
}

extension SQLiteValue {
    /// `.text(s)`, or `.null` when `s` is nil.
    public static func optionalText(_ s: String?) -> SQLiteValue { s.map { .text($0) } ?? .null }
}

/// One result row: the columns in the order the query named them.
public struct SQLiteRow: Sendable {
    public let values: [SQLiteValue]
    public init(_ values: [SQLiteValue]) { self.values = values }
    public subscript(_ index: Int) -> SQLiteValue { values.indices.contains(index) ? values[index] : .null }
}
