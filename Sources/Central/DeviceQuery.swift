/// A query of IoT Central's query language (spec operation Query_Run; "How to use the IoT Central REST API to query
/// devices"), the subset the mock answers. Keywords are case-insensitive:
///
///     query     = "SELECT" ["TOP" integer] selection "FROM" template ["WHERE" condition]
///                 ["ORDER BY" column ["ASC" | "DESC"]]
///     selection = "*" | column ["AS" name] {"," column ["AS" name]}
///     column    = name | component "." name        names: letters, digits, "_", and "$" first for $id, $ts,
///                                                  $displayName, $provisioned, $simulated, $enabled
///     template  = a DTMI (dtmi:...;N)
///     condition = conjunction {"OR" conjunction}
///     conjunction = term {"AND" term}
///     term      = column operator literal | "WITHIN_WINDOW" "(" duration ")" | "(" condition ")"
///     operator  = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
///     literal   = number | 'text' | "text" | true | false      (a quote inside a text is written twice: 'it''s')
///
/// `TOP` is an integer from 1 to 10,000 (also the most rows a query gives); `duration` is ISO 8601 (PT1H, P1D); a
/// column named twice is answered once. Anything else
/// (GROUP BY, aggregates, CONTAINS, functions other than WITHIN_WINDOW) is refused with a message naming it.
public struct DeviceQuery: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var component: String?
        public var name: String
        public var alias: String?
        public var label: String { alias ?? (component.map { "\($0).\(name)" } ?? name) }
    }

    public indirect enum Condition: Sendable, Equatable {
        case comparison(Column, String, JSONValue)
        case withinWindow(milliseconds: Int64)
        case and(Condition, Condition)
        case or(Condition, Condition)
    }

    public var top: Int?
    /// Nil for `*`.
    public var columns: [Column]?
    public var template: String
    public var condition: Condition?
    public var orderBy: (column: Column, descending: Bool)?

    public static func == (lhs: DeviceQuery, rhs: DeviceQuery) -> Bool {
        lhs.top == rhs.top && lhs.columns == rhs.columns && lhs.template == rhs.template && lhs.condition == rhs.condition
            && lhs.orderBy?.column == rhs.orderBy?.column && lhs.orderBy?.descending == rhs.orderBy?.descending
    }

    /// Why a query is not understood, in words for the client.
    public struct SyntaxError: Error, Sendable, Equatable { public let message: String }

    /// The most rows a query gives, and the largest `TOP`.
    public static let maxRows = 10_000

    public init(parsing text: String) throws(SyntaxError) {
        guard text.utf8.count <= 16_384 else { throw SyntaxError(message: "the query is longer than 16,384 bytes") }
        var parser = Parser(tokens: try Self.tokens(of: text))
        guard !parser.tokens.isEmpty else { throw SyntaxError(message: "the query is empty") }
        try parser.expect(keyword: "SELECT")
        if parser.accept(keyword: "TOP") {
            guard case .number(let value, let literal)? = parser.next(), literal.allSatisfy(\.isNumber), value >= 1, value <= Double(Self.maxRows) else {
                throw SyntaxError(message: "TOP takes an integer from 1 to \(Self.maxRows)")
            }
            top = Int(value)
        }
        if parser.accept(symbol: "*") {
            columns = nil
        } else {
            var selected: [Column] = []
            repeat {
                var column = try parser.column()
                if parser.accept(keyword: "AS") { column.alias = try parser.name() }
                if !selected.contains(where: { $0.label == column.label }) { selected.append(column) }
            } while parser.accept(symbol: ",")
            columns = selected
        }
        try parser.expect(keyword: "FROM")
        guard case .word(let source)? = parser.next(), source.lowercased().hasPrefix("dtmi:") else {
            throw SyntaxError(message: "FROM takes a device template id (a DTMI such as dtmi:contoso:thermostat;1)")
        }
        template = source
        if parser.accept(keyword: "WHERE") { condition = try parser.condition() }
        if parser.accept(keyword: "ORDER") {
            try parser.expect(keyword: "BY")
            let column = try parser.column()
            let descending = parser.accept(keyword: "DESC")
            if !descending { _ = parser.accept(keyword: "ASC") }
            orderBy = (column, descending)
        }
        if let extra = parser.next() { throw SyntaxError(message: "'\(extra.text.clipped)' is not supported there") }
    }

    // MARK: Tokens

    /// Reading a list of tokens front to back, keywords in any case (the query's and the list options' parsers).
    protocol TokenReading {
        var tokens: [Token] { get }
        var position: Int { get set }
    }

    enum Token: Equatable {
        case word(String), number(Double, literal: String), text(String), symbol(String)

        var text: String {
            switch self {
            case .word(let w): w
            case .number(_, let literal): literal
            case .text(let t): "'\(t)'"
            case .symbol(let s): s
            }
        }
    }

    static func tokens(of text: String) throws(SyntaxError) -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func isWord(_ c: Unicode.Scalar) -> Bool {
            c.properties.isAlphabetic || ("0"..."9").contains(c) || "_$:;.-".unicodeScalars.contains(c)
        }
        while index < scalars.count {
            let c = scalars[index]
            if c.properties.isWhitespace { index += 1; continue }
            if c == "'" || c == "\"" {
                var value = ""
                index += 1
                while index < scalars.count {
                    if scalars[index] == c {
                        // A quote written twice stands for one.
                        guard index + 1 < scalars.count, scalars[index + 1] == c else { break }
                        index += 1
                    }
                    value.unicodeScalars.append(scalars[index])
                    index += 1
                }
                guard index < scalars.count else { throw SyntaxError(message: "a quoted text is not closed") }
                index += 1
                tokens.append(.text(value))
            } else if ("0"..."9").contains(c) || (c == "-" && index + 1 < scalars.count && ("0"..."9").contains(scalars[index + 1])) {
                var literal = String(c)
                index += 1
                while index < scalars.count, ("0"..."9").contains(scalars[index]) || "eE.+-".unicodeScalars.contains(scalars[index]) {
                    literal.unicodeScalars.append(scalars[index]); index += 1
                }
                guard let number = Double(literal), number.isFinite else { throw SyntaxError(message: "'\(literal.clipped)' is not a number") }
                tokens.append(.number(number, literal: literal))
            } else if "<>!=".unicodeScalars.contains(c) {
                var symbol = String(c)
                index += 1
                if index < scalars.count, "=>".unicodeScalars.contains(scalars[index]), symbol != "=" { symbol.unicodeScalars.append(scalars[index]); index += 1 }
                guard ["=", "!=", "<>", "<", "<=", ">", ">="].contains(symbol) else { throw SyntaxError(message: "'\(symbol)' is not an operator") }
                tokens.append(.symbol(symbol))
            } else if "*,()/".unicodeScalars.contains(c) {
                tokens.append(.symbol(String(c)))
                index += 1
            } else if isWord(c) {
                var word = ""
                while index < scalars.count, isWord(scalars[index]) { word.unicodeScalars.append(scalars[index]); index += 1 }
                tokens.append(.word(word))
            } else {
                throw SyntaxError(message: "the character '\(c)' is not supported")
            }
            guard tokens.count <= 2_000 else { throw SyntaxError(message: "the query has more than 2,000 words and symbols") }
        }
        return tokens
    }

    struct Parser: TokenReading {
        var tokens: [Token]
        var position = 0
        var depth = 0

        mutating func expect(keyword: String) throws(SyntaxError) {
            guard accept(keyword: keyword) else {
                throw SyntaxError(message: "\(keyword) is expected \(peek.map { "where '\($0.text.clipped)' is" } ?? "at the end")")
            }
        }

        mutating func name() throws(SyntaxError) -> String {
            guard case .word(let word)? = next(), !word.contains("."), !word.contains(":"), !word.contains(";") else {
                throw SyntaxError(message: "a name is expected")
            }
            return word
        }

        mutating func column() throws(SyntaxError) -> Column {
            guard case .word(let word)? = next() else { throw SyntaxError(message: "a column name is expected") }
            let parts = word.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let keywords = ["SELECT", "FROM", "WHERE", "ORDER", "BY", "AND", "OR", "TOP", "AS", "ASC", "DESC"]
            guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && !$0.contains(":") && !$0.contains(";") }),
                  !keywords.contains(word.uppercased()) else {
                throw SyntaxError(message: "'\(word.clipped)' is not a column (use name or component.name)")
            }
            if accept(symbol: "(") { throw SyntaxError(message: "the function \(word.uppercased())() is not supported; only WITHIN_WINDOW") }
            return parts.count == 2 ? Column(component: parts[0], name: parts[1]) : Column(component: nil, name: parts[0])
        }

        mutating func condition() throws(SyntaxError) -> Condition {
            depth += 1
            defer { depth -= 1 }
            guard depth <= 32 else { throw SyntaxError(message: "conditions nest deeper than 32 levels") }
            var result = try conjunction()
            while accept(keyword: "OR") { result = .or(result, try conjunction()) }
            return result
        }

        mutating func conjunction() throws(SyntaxError) -> Condition {
            var result = try term()
            while accept(keyword: "AND") { result = .and(result, try term()) }
            return result
        }

        mutating func term() throws(SyntaxError) -> Condition {
            if accept(symbol: "(") {
                let inner = try condition()
                guard accept(symbol: ")") else { throw SyntaxError(message: "a ')' is missing") }
                return inner
            }
            if accept(keyword: "WITHIN_WINDOW") {
                guard accept(symbol: "("), case .word(let duration)? = next(), let milliseconds = Timestamp.durationMilliseconds(duration),
                      accept(symbol: ")") else {
                    throw SyntaxError(message: "WITHIN_WINDOW takes an ISO 8601 duration such as PT1H or P1D")
                }
                return .withinWindow(milliseconds: milliseconds)
            }
            let column = try column()
            guard case .symbol(let op)? = next(), ["=", "!=", "<>", "<", "<=", ">", ">="].contains(op) else {
                throw SyntaxError(message: "a comparison (=, !=, <, <=, >, >=) is expected after \(column.label)")
            }
            switch next() {
            case .number(let n, _)?: return .comparison(column, op, .number(n))
            case .text(let t)?: return .comparison(column, op, .string(t))
            case .word(let w)? where w.lowercased() == "true" || w.lowercased() == "false": return .comparison(column, op, .bool(w.lowercased() == "true"))
            default: throw SyntaxError(message: "a number, a quoted text, true or false is expected after \(column.label) \(op)")
            }
        }
    }

    // MARK: Evaluation

    /// The values of one device a query reads: `$id`, `$ts` and the like, and each telemetry and property value by
    /// name (`component.name` for a component's).
    public struct Row: Sendable {
        public var values: [String: JSONValue]
        /// The time of the device's latest telemetry value, epoch milliseconds (0 when it sent none).
        public var time: Int64
    }

    /// Whether `row` meets the condition at `now`.
    public static func holds(_ condition: Condition, for row: Row, now: Int64) -> Bool {
        switch condition {
        case .and(let a, let b): holds(a, for: row, now: now) && holds(b, for: row, now: now)
        case .or(let a, let b): holds(a, for: row, now: now) || holds(b, for: row, now: now)
        case .withinWindow(let span): row.time > 0 && row.time >= now - span
        case .comparison(let column, let op, let literal):
            compare(row.values[column.component.map { "\($0).\(column.name)" } ?? column.name], op, literal)
        }
    }

    static func compare(_ value: JSONValue?, _ op: String, _ literal: JSONValue) -> Bool {
        guard let value else { return false }
        let order: Int?
        switch (value, literal) {
        case (.number(let a), .number(let b)): order = a < b ? -1 : a > b ? 1 : 0
        case (.string(let a), .string(let b)): order = a < b ? -1 : a > b ? 1 : 0
        case (.bool(let a), .bool(let b)): order = a == b ? 0 : nil
        default: order = nil
        }
        guard let order else { return op == "!=" || op == "<>" }
        switch op {
        case "=": return order == 0
        case "!=", "<>": return order != 0
        case "<": return order < 0
        case "<=": return order <= 0
        case ">": return order > 0
        default: return order >= 0
        }
    }

    /// Orders two values for ORDER BY: numbers, then texts, then booleans, then missing ones.
    static func precedes(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        func rank(_ v: JSONValue?) -> Int {
            switch v {
            case .number?: 0
            case .string?: 1
            case .bool?: 2
            default: 3
            }
        }
        switch (a, b) {
        case (.number(let x)?, .number(let y)?): return x < y
        case (.string(let x)?, .string(let y)?): return x < y
        case (.bool(let x)?, .bool(let y)?): return !x && y
        default: return rank(a) < rank(b)
        }
    }
}

extension DeviceQuery.TokenReading {
    var peek: DeviceQuery.Token? { position < tokens.count ? tokens[position] : nil }

    mutating func next() -> DeviceQuery.Token? {
        defer { position += 1 }
        return peek
    }

    /// Takes the next token if it is the word `keyword`, in any case.
    mutating func accept(keyword: String) -> Bool {
        guard case .word(let word)? = peek, word.lowercased() == keyword.lowercased() else { return false }
        position += 1
        return true
    }

    mutating func accept(symbol: String) -> Bool {
        guard peek == .symbol(symbol) else { return false }
        position += 1
        return true
    }
}
