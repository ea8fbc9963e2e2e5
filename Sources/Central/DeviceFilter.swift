/// The `filter` of a device group: the simple forms "How to use the IoT Central REST API to manage device groups"
/// shows, e.g. `SELECT * FROM devices WHERE $template = "dtmi:contoso:thermostat;1" AND $provisioned = true`.
///
/// Grammar (keywords in any case):
///
///     filter    = "SELECT" "*" "FROM" "devices" [ "WHERE" condition { "AND" condition } ]
///     condition = field ( "=" | "!=" ) literal
///     field     = "$template" | "$id" | "$displayName" | "$provisioned" | "$simulated" | "$enabled" | "$organization"
///     literal   = '"' text '"' | "'" text "'" | "true" | "false"
///
/// Anything else (OR, parentheses, property or telemetry conditions, other comparisons) is refused with a message
/// that names what is not supported (`DeviceFilter.Unsupported`).
public struct DeviceFilter: Sendable, Equatable {
    public struct Condition: Sendable, Equatable {
        public var field: String
        public var equals: Bool
        public var value: JSONValue
    }

    public var conditions: [Condition]

    /// Why a filter was refused: a sentence for people.
    public struct Unsupported: Error, Sendable, Equatable {
        public var message: String
    }

    static let fields = ["$template", "$id", "$displayname", "$provisioned", "$simulated", "$enabled", "$organization"]

    /// A filter of these conditions (none: every device).
    public init(conditions: [Condition]) { self.conditions = conditions }

    public init(parsing text: String) throws(Unsupported) {
        var tokens = try Self.tokens(text)
        func expect(_ word: String) throws(Unsupported) {
            guard let next = tokens.first, next.lowercased() == word.lowercased() else {
                throw Unsupported(message: "expected '\(word)' \(tokens.first.map { "instead of '\($0.clipped)'" } ?? "at the end")")
            }
            tokens.removeFirst()
        }
        try expect("SELECT")
        try expect("*")
        try expect("FROM")
        try expect("devices")
        conditions = []
        guard !tokens.isEmpty else { return }
        try expect("WHERE")
        while true {
            guard tokens.count >= 3 else { throw Unsupported(message: "a condition is incomplete: use $field = \"value\"") }
            let field = tokens.removeFirst(), comparison = tokens.removeFirst(), literal = tokens.removeFirst()
            guard Self.fields.contains(field.lowercased()) else {
                throw Unsupported(message: "'\(field.clipped)' is not a field iotc-mock can filter on (\(Self.fields.joined(separator: ", ")))")
            }
            guard comparison == "=" || comparison == "!=" else {
                throw Unsupported(message: "'\(comparison.clipped)' is not supported: compare with = or !=")
            }
            let value: JSONValue
            switch literal.lowercased() {
            case "true": value = .bool(true)
            case "false": value = .bool(false)
            default:
                guard let quote = literal.first, quote == "\"" || quote == "'", literal.count >= 2, literal.last == quote else {
                    throw Unsupported(message: "'\(literal.clipped)' is not a value: use a quoted string, true or false")
                }
                value = .string(String(literal.dropFirst().dropLast()))
            }
            let boolean = ["$provisioned", "$simulated", "$enabled"].contains(field.lowercased())
            guard boolean == (value.stringValue == nil) else {
                throw Unsupported(message: "'\(field.clipped)' compares with \(boolean ? "true or false" : "a quoted string"), not \(literal.clipped)")
            }
            conditions.append(Condition(field: field.lowercased(), equals: comparison == "=", value: value))
            guard !tokens.isEmpty else { return }
            try expect("AND")
        }
    }

    /// Whether `device` satisfies every condition.
    public func matches(_ device: Device) -> Bool {
        conditions.allSatisfy { condition in
            let actual: [JSONValue] = switch condition.field {
            case "$template": [device.template.map(JSONValue.string) ?? .null]
            case "$id": [.string(device.id)]
            case "$displayname": [.string(device.displayName)]
            case "$provisioned": [.bool(device.provisioned)]
            case "$simulated": [.bool(device.simulated)]
            case "$enabled": [.bool(device.enabled)]
            default: device.organizations.map(JSONValue.string)
            }
            return actual.contains(condition.value) == condition.equals
        }
    }

    /// Words, operators and quoted strings.
    private static func tokens(_ text: String) throws(Unsupported) -> [String] {
        var tokens: [String] = []
        var characters = Substring(text)
        while let first = characters.first {
            if first.isWhitespace {
                characters = characters.dropFirst()
            } else if first == "\"" || first == "'" {
                guard let close = characters.dropFirst().firstIndex(of: first) else { throw Unsupported(message: "a quoted value is not closed") }
                tokens.append(String(characters[...close]))
                characters = characters[characters.index(after: close)...]
            } else if first == "=" || first == "*" || first == "(" || first == ")" || first == "<" || first == ">" {
                tokens.append(String(first))
                characters = characters.dropFirst()
            } else if first == "!", characters.dropFirst().first == "=" {
                tokens.append("!=")
                characters = characters.dropFirst(2)
            } else {
                let word = characters.prefix { !$0.isWhitespace && !"=*()<>!\"'".contains($0) }
                guard !word.isEmpty else { throw Unsupported(message: "'\(first)' is not supported") }
                tokens.append(String(word))
                characters = characters.dropFirst(word.count)
            }
        }
        return tokens
    }
}
