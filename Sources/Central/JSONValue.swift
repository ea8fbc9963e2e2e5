import Foundation

/// A JSON document (RFC 8259). Objects keep their members in order so responses print fields in the order the
/// spec's examples use. Parsing goes through Foundation's `JSONSerialization`; writing is done here.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && a.allSatisfy { key, value in b.first { $0.0 == key }?.1 == value }
        default: false
        }
    }

    /// Why a body is not JSON at all (answered 400).
    public struct SyntaxError: Error, Sendable { public let message: String }

    /// Parses `bytes` as one JSON value.
    /// - Throws: `SyntaxError` for anything that is not JSON (empty input included).
    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
        guard !bytes.isEmpty else { throw SyntaxError(message: "The request body is empty; a JSON object is required.") }
        guard nestingDepth(of: bytes) <= maxDepth else {
            throw SyntaxError(message: "The request body nests arrays and objects deeper than \(maxDepth) levels.")
        }
        let any: Any
        do {
            any = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw SyntaxError(message: "The request body is not valid JSON.")
        }
        return JSONValue(foundation: any)
    }

    /// The deepest nesting of arrays and objects a body may have (assumed; IoT Central's bodies need 4).
    public static let maxDepth = 64

    /// How deeply arrays and objects nest in `bytes`, ignoring brackets inside strings (stops counting past
    /// `maxDepth`).
    static func nestingDepth(of bytes: [UInt8]) -> Int {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
                if deepest > maxDepth { return deepest }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    private init(foundation any: Any) {
        switch any {
        case let s as String: self = .string(s)
        case let n as NSNumber:
            // JSONSerialization gives booleans as NSNumber with objCType "c".
            // Numbers past Double's exact digits come as NSDecimalNumber, whose doubleValue is off by an ulp: its
            // decimal text converts exactly.
            if String(cString: n.objCType) == "c" {
                self = .bool(n.boolValue)
            } else if n is NSDecimalNumber, let exact = Double(n.stringValue) {
                self = .number(exact)
            } else {
                self = .number(n.doubleValue)
            }
        case let a as [Any]: self = .array(a.map(JSONValue.init(foundation:)))
        case let o as [String: Any]: self = .object(o.map { ($0.key, JSONValue(foundation: $0.value)) }.sorted { $0.0 < $1.0 })
        default: self = .null
        }
    }

    /// The member `key` of an object, or nil (also for non-objects).
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    /// The string, or nil for any other kind.
    /// This value with `patch` applied as a JSON merge patch (RFC 7396): members of an object patch replace, or
    /// with null remove, the members of an object; any other patch replaces the value.
    public func merging(_ patch: JSONValue) -> JSONValue {
        guard case .object(let changes) = patch else { return patch }
        var members: [(String, JSONValue)] = []
        if case .object(let current) = self { members = current }
        for (name, change) in changes {
            let index = members.firstIndex { $0.0 == name }
            if change == .null {
                if let index { members.remove(at: index) }
            } else if let index {
                members[index].1 = members[index].1.merging(change)
            } else {
                members.append((name, JSONValue.null.merging(change)))
            }
        }
        return .object(members)
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The elements, or nil for any other kind.
    public var numberValue: Double? { if case .number(let n) = self { n } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }

    /// The JSON kind in words, for error messages: "a string", "an array", ...
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Compact UTF-8 JSON text.
    public var serialized: [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    private func write(to out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let d):
            // Whole numbers as integers (exactly, while they fit in 64 bits), others in Swift's shortest exact form.
            if d.rounded() == d, abs(d) < 9.2e18 { out += Array(String(Int64(d)).utf8) } else { out += Array(String(d).utf8) }
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                element.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
