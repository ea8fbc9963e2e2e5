/// The list options of IoT Central's list operations, the OData subset iotc-mock understands: `filter` and `orderby`
/// (2022-10-31-preview), `$filter`, `$orderby` and `$top` (1.1-preview, 1.2-preview, 2022-06-30-preview) ("How to use
/// the IoT Central REST API to manage devices": `filter=contains(displayName, 'thermostat')`, `orderby=displayName`).
///
///     filter  = disjunction
///     disjunction = conjunction {"or" conjunction}
///     conjunction = unary {"and" unary}
///     unary   = "not" unary | "(" filter ")" | function "(" field "," literal ")" | field operator literal
///     function = "contains" | "startswith" | "endswith"           (texts, case-sensitive)
///     operator = "eq" | "ne" | "gt" | "ge" | "lt" | "le"
///     field   = name {"/" name}                                    (a member of the item as answered)
///     literal = 'text' ('' for a quote) | number | true | false | null
///     orderby = field ["asc" | "desc"] {"," field ["asc" | "desc"]}
///
/// Keywords are case-insensitive. A field the item does not have compares as null. Anything else (lambda `any`,
/// arithmetic, other functions) is refused, naming it.
public struct ListOptions: Sendable, Equatable {
    public indirect enum Condition: Sendable, Equatable {
        case comparison(field: [String], operator: String, value: JSONValue)
        case function(name: String, field: [String], text: String)
        case not(Condition)
        case and(Condition, Condition)
        case or(Condition, Condition)
    }

    public var filter: Condition?
    public var orderBy: [(field: [String], descending: Bool)] = []
    public var top: Int?

    public static func == (lhs: ListOptions, rhs: ListOptions) -> Bool {
        lhs.filter == rhs.filter && lhs.top == rhs.top && lhs.orderBy.count == rhs.orderBy.count
            && zip(lhs.orderBy, rhs.orderBy).allSatisfy { $0.field == $1.field && $0.descending == $1.descending }
    }

    public typealias SyntaxError = DeviceQuery.SyntaxError

    /// - Throws: `SyntaxError` naming what is not understood.
    public init(filter: String?, orderBy: String?, top: String?) throws(SyntaxError) {
        if let filter {
            var parser = Parser(tokens: try Self.tokens(filter, "filter"))
            self.filter = try parser.disjunction()
            if let extra = parser.peek { throw SyntaxError(message: "'\(extra.text.clipped)' is not understood in the filter") }
        }
        if let orderBy {
            var parser = Parser(tokens: try Self.tokens(orderBy, "orderby"))
            repeat {
                let field = try parser.field()
                let descending = parser.accept(keyword: "desc")
                if !descending { _ = parser.accept(keyword: "asc") }
                self.orderBy.append((field, descending))
            } while parser.accept(symbol: ",")
            if let extra = parser.peek { throw SyntaxError(message: "'\(extra.text.clipped)' is not understood in orderby") }
        }
        if let top {
            guard top.utf8.count <= 9, top.allSatisfy(\.isASCII), top.allSatisfy(\.isNumber), let value = Int(top), value >= 1 else {
                throw SyntaxError(message: "$top must be a positive integer, not '\(top.clipped)'")
            }
            self.top = value
        }
    }

    private static func tokens(_ text: String, _ what: String) throws(SyntaxError) -> [DeviceQuery.Token] {
        guard text.utf8.count <= 4_096 else { throw SyntaxError(message: "the \(what) is longer than 4,096 bytes") }
        let tokens = try DeviceQuery.tokens(of: text)
        guard !tokens.isEmpty else { throw SyntaxError(message: "the \(what) is empty") }
        return tokens
    }

    struct Parser: DeviceQuery.TokenReading {
        var tokens: [DeviceQuery.Token]
        var position = 0
        var depth = 0

        /// `name {"/" name}`; the tokenizer reads `a/b` as `a`, `/`, `b`.
        mutating func field() throws(SyntaxError) -> [String] {
            var path: [String] = []
            repeat {
                guard case .word(let word)? = next(), !["and", "or", "not", "asc", "desc"].contains(word.lowercased()),
                      word.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "$" || $0 == "@" }) else {
                    throw SyntaxError(message: "a field name (such as displayName or template) is expected")
                }
                path.append(word)
            } while accept(symbol: "/")
            return path
        }

        mutating func disjunction() throws(SyntaxError) -> Condition {
            depth += 1
            defer { depth -= 1 }
            guard depth <= 32 else { throw SyntaxError(message: "the filter nests deeper than 32 levels") }
            var result = try conjunction()
            while accept(keyword: "or") { result = .or(result, try conjunction()) }
            return result
        }

        mutating func conjunction() throws(SyntaxError) -> Condition {
            var result = try unary()
            while accept(keyword: "and") { result = .and(result, try unary()) }
            return result
        }

        mutating func unary() throws(SyntaxError) -> Condition {
            if accept(keyword: "not") {
                depth += 1
                defer { depth -= 1 }
                guard depth <= 32 else { throw SyntaxError(message: "the filter nests deeper than 32 levels") }
                return .not(try unary())
            }
            if accept(symbol: "(") {
                let inner = try disjunction()
                guard accept(symbol: ")") else { throw SyntaxError(message: "a ')' is missing in the filter") }
                return inner
            }
            if case .word(let word)? = peek, ["contains", "startswith", "endswith"].contains(word.lowercased()) {
                position += 1
                guard accept(symbol: "(") else { throw SyntaxError(message: "\(word) takes (field, 'text')") }
                let field = try field()
                guard accept(symbol: ","), case .text(let text)? = next(), accept(symbol: ")") else {
                    throw SyntaxError(message: "\(word) takes (field, 'text')")
                }
                return .function(name: word.lowercased(), field: field, text: text)
            }
            let field = try field()
            if peek == .symbol("(") { throw SyntaxError(message: "the function \(field.joined(separator: "/"))() is not supported; use contains, startswith or endswith") }
            guard case .word(let op)? = next(), ["eq", "ne", "gt", "ge", "lt", "le"].contains(op.lowercased()) else {
                throw SyntaxError(message: "an operator (eq, ne, gt, ge, lt, le) is expected after \(field.joined(separator: "/"))")
            }
            let value: JSONValue
            switch next() {
            case .text(let text)?: value = .string(text)
            case .number(let number, _)?: value = .number(number)
            case .word(let word)? where ["true", "false"].contains(word.lowercased()): value = .bool(word.lowercased() == "true")
            case .word(let word)? where word.lowercased() == "null": value = .null
            default: throw SyntaxError(message: "a 'text', a number, true, false or null is expected after \(op)")
            }
            return .comparison(field: field, operator: op.lowercased(), value: value)
        }
    }

    /// Checks every field the options name against the members of the listed items (`types`: name to JSON type, as
    /// `SpecSchema.memberTypes` gives them), and each comparison's value against the member's type.
    /// - Throws: `SyntaxError` naming an unknown field or a value of the wrong kind.
    public func check(against types: [String: String]) throws(SyntaxError) {
        func type(of field: [String]) throws(SyntaxError) -> String {
            guard let first = field.first, let type = types[first] else {
                throw SyntaxError(message: "'\(field.joined(separator: "/").clipped)' is not a field of these items; they have \(types.keys.sorted().joined(separator: ", "))")
            }
            return field.count == 1 ? type : ""
        }
        func check(_ condition: Condition) throws(SyntaxError) {
            switch condition {
            case .and(let a, let b), .or(let a, let b):
                try check(a)
                try check(b)
            case .not(let inner):
                try check(inner)
            case .function(let name, let field, _):
                let kind = try type(of: field)
                guard kind == "string" || kind.isEmpty else { throw SyntaxError(message: "\(name) takes a text field; '\(field.joined(separator: "/"))' is \(kind)") }
            case .comparison(let field, _, let value):
                let kind = try type(of: field)
                let fits: Bool = switch (kind, value) {
                case (_, .null), ("", _), ("array", _), ("object", _): true
                case ("string", .string), ("boolean", .bool), ("number", .number), ("integer", .number): true
                default: false
                }
                guard fits else { throw SyntaxError(message: "'\(field.joined(separator: "/"))' is \(kind == "boolean" ? "a boolean" : kind == "string" ? "a text" : "a number"); compare it with \(kind == "boolean" ? "true or false" : kind == "string" ? "a 'text'" : "a number")") }
            }
        }
        if let filter { try check(filter) }
        for (field, _) in orderBy { _ = try type(of: field) }
    }

    // MARK: Applying

    /// Whether `item` (a list item as answered) meets the filter.
    public func matches(_ item: JSONValue) -> Bool {
        filter.map { Self.holds($0, item) } ?? true
    }

    /// `items` in the order `orderby` asks for (stable: equal ones keep creation order); missing values sort last.
    public func sorted(_ items: [JSONValue]) -> [JSONValue] {
        guard !orderBy.isEmpty else { return items }
        return items.enumerated().sorted { a, b in
            for (field, descending) in orderBy {
                let x = Self.value(at: field, in: a.element).flatMap { $0 == .null ? nil : $0 }
                let y = Self.value(at: field, in: b.element).flatMap { $0 == .null ? nil : $0 }
                guard x != y else { continue }
                guard let x else { return false }
                guard let y else { return true }
                if DeviceQuery.precedes(x, y) { return !descending }
                if DeviceQuery.precedes(y, x) { return descending }
            }
            return a.offset < b.offset
        }.map(\.element)
    }

    static func value(at path: [String], in item: JSONValue) -> JSONValue? {
        var current: JSONValue? = item
        for name in path { current = current?[name] }
        return current
    }

    private static func holds(_ condition: Condition, _ item: JSONValue) -> Bool {
        switch condition {
        case .and(let a, let b): return holds(a, item) && holds(b, item)
        case .or(let a, let b): return holds(a, item) || holds(b, item)
        case .not(let inner): return !holds(inner, item)
        case .function(let name, let field, let text):
            guard let value = value(at: field, in: item)?.stringValue else { return false }
            switch name {
            case "contains": return value.contains(text)
            case "startswith": return value.hasPrefix(text)
            default: return value.hasSuffix(text)
            }
        case .comparison(let field, let op, let literal):
            let value = value(at: field, in: item) ?? .null
            if literal == .null || value == .null {
                let same = (value == .null) == (literal == .null)
                return op == "eq" ? same : op == "ne" ? !same : false
            }
            let symbol = ["eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="][op] ?? "="
            return DeviceQuery.compare(value, symbol, literal)
        }
    }
}
