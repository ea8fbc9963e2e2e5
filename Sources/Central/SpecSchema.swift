/// The models (`definitions`) of an official spec file, used to check request bodies and to shape answers the way
/// the spec describes them. The Swagger 2.0 subset the IoT Central specs use: `type`, `format` (`date-time`, `int32`,
/// `int64`), `properties`, `required`, `readOnly`, `items`, `enum`, `allOf`, `$ref`, `discriminator` with
/// `x-ms-discriminator-value`, `minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems`,
/// `additionalProperties` and `minProperties`.
///
/// Api-versions without a local spec file borrow the nearest one (assumed, docs/fidelity.md): 1.1-preview,
/// 1.2-preview and 2022-06-30-preview use 2022-10-31-preview's models; 1.0, 2021-04-30-preview and 2022-05-31 use
/// 2022-07-31's.
struct SpecSchema: Sendable {
    /// A body that breaks the model: where (`tiles[0].configuration.type`) and why.
    struct Violation: Error, Sendable {
        let path: String
        let problem: String
        var message: String { path.isEmpty ? "The body \(problem)." : "The field '\(path)' \(problem)." }
    }

    private let definitions: [String: JSONValue]
    /// For every model with a `discriminator`: each value to the model it selects.
    private let subtypes: [String: [String: String]]

    static let stable = SpecSchema(text: SpecSchemas.stable)
    static let preview = SpecSchema(text: SpecSchemas.preview)

    /// The models of `version` (or of the spec file it borrows).
    static func of(_ version: APIVersion) -> SpecSchema {
        switch version {
        case .v1_0, .v2021_04_30_preview, .v2022_05_31, .v2022_07_31: stable
        case .v1_1_preview, .v1_2_preview, .v2022_06_30_preview, .v2022_10_31_preview: preview
        }
    }

    init(text: String) {
        var definitions: [String: JSONValue] = [:]
        if case .object(let members)? = try? JSONValue.parse(Array(text.utf8)) {
            for (name, model) in members { definitions[name] = model }
        }
        // A subtype is selected by its `x-ms-discriminator-value`, or by its name where no subtype of the base has
        // one (2021-04-30-preview's endpoints); a model without a value beside ones with values (ExportDestination,
        // beside the destinations) only extends the base and is not a value of its own.
        var candidates: [String: [(value: String?, name: String)]] = [:]
        for (name, model) in definitions {
            for part in model["allOf"]?.arrayValue ?? [] {
                guard let base = Self.referenced(part), definitions[base]?["discriminator"] != nil else { continue }
                candidates[base, default: []].append((model["x-ms-discriminator-value"]?.stringValue, name))
            }
        }
        var subtypes: [String: [String: String]] = [:]
        for (base, models) in candidates {
            let named = models.contains { $0.value != nil }
            for model in models where model.value != nil || !named { subtypes[base, default: [:]][model.value ?? model.name] = model.name }
        }
        self.definitions = definitions
        self.subtypes = subtypes
    }

    /// Whether this spec file has the model `name`.
    func has(_ name: String) -> Bool { definitions[name] != nil }

    /// The discriminator values the model `name` takes (`blobstorage@v1`, ...), sorted.
    func kinds(of name: String) -> [String] { (subtypes[name] ?? [:]).keys.sorted() }

    /// Checks `body` against the model `name`. Read-only members are checked for their type only, never required.
    /// - Throws: `Violation` naming the first member that breaks the model.
    func validate(_ body: JSONValue, model name: String) throws(Violation) {
        try check(body, .object([("$ref", .string("#/definitions/\(name)"))]), path: "", dispatch: true)
    }

    /// `value` as the model `name` describes it: members the model (or the subtype its discriminator selects) does
    /// not have are left out, and with `droppingReadOnly` so are read-only ones (for storing a request body).
    func shape(_ value: JSONValue, model name: String, droppingReadOnly: Bool = false) -> JSONValue {
        shape(value, .object([("$ref", .string("#/definitions/\(name)"))]), droppingReadOnly: droppingReadOnly, depth: 0)
    }

    /// The members an object of the model `name` has (its own and its `allOf` parts'), each with its JSON type
    /// (`string`, `boolean`, `number`, `integer`, `array`, `object`, or "" where the model does not say), or nil for
    /// a model this spec file lacks.
    func memberTypes(of name: String) -> [String: String]? {
        guard let model = definitions[name] else { return nil }
        var types: [String: String] = [:]
        for (member, schema) in declaredMembers(model, depth: 0).members {
            var resolved = schema
            if let target = Self.referenced(schema), let model = definitions[target] { resolved = model }
            types[member] = resolved["type"]?.stringValue ?? (resolved["properties"] != nil ? "object" : "")
        }
        return types
    }

    // MARK: Checking

    private static func referenced(_ schema: JSONValue) -> String? {
        guard let ref = schema["$ref"]?.stringValue, ref.hasPrefix("#/definitions/") else { return nil }
        return String(ref.dropFirst("#/definitions/".count))
    }

    /// The model a `$ref` names, or for a model with a discriminator the subtype `value`'s discriminator selects.
    private func resolve(_ schema: JSONValue, for value: JSONValue, path: String) throws(Violation) -> JSONValue? {
        guard let name = Self.referenced(schema), let model = definitions[name] else { return nil }
        guard let discriminator = model["discriminator"]?.stringValue, let choices = subtypes[name], !choices.isEmpty,
              case .object = value, let chosen = value[discriminator] else { return model }
        guard let kind = chosen.stringValue else {
            throw Violation(path: Self.join(path, discriminator), problem: "must be a string, not \(chosen.kindDescription)")
        }
        guard let subtype = choices[kind], let subModel = definitions[subtype] else {
            throw Violation(path: Self.join(path, discriminator),
                            problem: "is '\(kind.clipped)', which is not one of \(choices.keys.sorted().joined(separator: ", "))")
        }
        return subModel
    }

    private func check(_ value: JSONValue, _ schema: JSONValue, path: String, dispatch: Bool) throws(Violation) {
        if Self.referenced(schema) != nil {
            guard let model = dispatch ? try resolve(schema, for: value, path: path) : Self.referenced(schema).flatMap({ definitions[$0] }) else { return }
            try check(value, model, path: path, dispatch: false)
            return
        }
        for part in schema["allOf"]?.arrayValue ?? [] { try check(value, part, path: path, dispatch: false) }
        if let choices = schema["enum"]?.arrayValue, !choices.contains(value) {
            let listed = choices.compactMap(\.stringValue).joined(separator: ", ")
            throw Violation(path: path, problem: "must be one of \(listed), not \(Self.describe(value))")
        }
        let type = schema["type"]?.stringValue ?? (schema["properties"] != nil ? "object" : nil)
        switch type {
        case "object": try checkObject(value, schema, path: path)
        case "array": try checkArray(value, schema, path: path)
        case "string": try checkString(value, schema, path: path)
        case "integer", "number": try checkNumber(value, schema, integer: type == "integer", path: path)
        case "boolean":
            guard case .bool = value else { throw Violation(path: path, problem: "must be a boolean, not \(value.kindDescription)") }
        default: break
        }
    }

    private func checkObject(_ value: JSONValue, _ schema: JSONValue, path: String) throws(Violation) {
        guard case .object(let members) = value else { throw Violation(path: path, problem: "must be an object, not \(value.kindDescription)") }
        let properties: [(String, JSONValue)]
        if case .object(let declared)? = schema["properties"] { properties = declared } else { properties = [] }
        for name in (schema["required"]?.arrayValue ?? []).compactMap(\.stringValue) {
            let declared = properties.first { $0.0 == name }?.1
            if declared?["readOnly"] == .bool(true) { continue }
            guard let member = value[name], member != .null else { throw Violation(path: Self.join(path, name), problem: "is required") }
        }
        for (name, member) in members {
            if let declared = properties.first(where: { $0.0 == name })?.1 {
                try check(member, declared, path: Self.join(path, name), dispatch: true)
            } else if case .object = schema["additionalProperties"] ?? .null, let extra = schema["additionalProperties"] {
                try check(member, extra, path: Self.join(path, name), dispatch: true)
            }
        }
        if let least = schema["minProperties"]?.numberValue, Double(members.count) < least {
            throw Violation(path: path, problem: "must have at least \(Int(least)) members")
        }
    }

    private func checkArray(_ value: JSONValue, _ schema: JSONValue, path: String) throws(Violation) {
        guard let elements = value.arrayValue else { throw Violation(path: path, problem: "must be an array, not \(value.kindDescription)") }
        if let least = schema["minItems"]?.numberValue, Double(elements.count) < least {
            throw Violation(path: path, problem: "must have at least \(Int(least)) element\(least == 1 ? "" : "s")")
        }
        if let most = schema["maxItems"]?.numberValue, Double(elements.count) > most {
            throw Violation(path: path, problem: "must have at most \(Int(most)) element\(most == 1 ? "" : "s"), not \(elements.count)")
        }
        if schema["uniqueItems"] == .bool(true) {
            for (index, element) in elements.enumerated() where elements[..<index].contains(element) {
                throw Violation(path: "\(path)[\(index)]", problem: "repeats an earlier element")
            }
        }
        guard let items = schema["items"] else { return }
        for (index, element) in elements.enumerated() { try check(element, items, path: "\(path)[\(index)]", dispatch: true) }
    }

    private func checkString(_ value: JSONValue, _ schema: JSONValue, path: String) throws(Violation) {
        guard let text = value.stringValue else { throw Violation(path: path, problem: "must be a string, not \(value.kindDescription)") }
        let length = text.count
        if let least = schema["minLength"]?.numberValue, Double(length) < least {
            throw Violation(path: path, problem: "must have at least \(Int(least)) character\(least == 1 ? "" : "s")")
        }
        if let most = schema["maxLength"]?.numberValue, Double(length) > most {
            throw Violation(path: path, problem: "must have at most \(Int(most)) characters")
        }
        if schema["format"]?.stringValue == "date-time", Timestamp.parseISO8601(text) == nil {
            throw Violation(path: path, problem: "must be an ISO 8601 date and time such as 2022-09-01T00:00:00Z, not '\(text.clipped)'")
        }
    }

    private func checkNumber(_ value: JSONValue, _ schema: JSONValue, integer: Bool, path: String) throws(Violation) {
        guard let number = value.numberValue, number.isFinite else {
            throw Violation(path: path, problem: "must be \(integer ? "an integer" : "a number"), not \(value.kindDescription)")
        }
        if integer {
            let bound: Double = schema["format"]?.stringValue == "int32" ? 2_147_483_648 : 9_007_199_254_740_992
            guard number.rounded() == number, number >= -bound, number < bound else {
                throw Violation(path: path, problem: "must be an integer\(schema["format"]?.stringValue == "int32" ? " of 32 bits" : ""), not \(Self.describe(value))")
            }
        }
        if let least = schema["minimum"]?.numberValue {
            let exclusive = schema["exclusiveMinimum"] == .bool(true)
            if exclusive ? number <= least : number < least {
                throw Violation(path: path, problem: "must be \(exclusive ? "more than" : "at least") \(Self.describe(.number(least))), not \(Self.describe(value))")
            }
        }
        if let most = schema["maximum"]?.numberValue {
            let exclusive = schema["exclusiveMaximum"] == .bool(true)
            if exclusive ? number >= most : number > most {
                throw Violation(path: path, problem: "must be \(exclusive ? "less than" : "at most") \(Self.describe(.number(most))), not \(Self.describe(value))")
            }
        }
    }

    // MARK: Shaping

    /// The members an object of `schema` may have, with their schemas (its own and those of its `allOf` parts), and
    /// whether it takes any member (no `properties` anywhere, or `additionalProperties`).
    private func declaredMembers(_ schema: JSONValue, depth: Int) -> (members: [(String, JSONValue)], open: Bool) {
        guard depth < 16 else { return ([], true) }
        var members: [(String, JSONValue)] = []
        var closed = false
        if let name = Self.referenced(schema), let model = definitions[name] { return declaredMembers(model, depth: depth + 1) }
        for part in schema["allOf"]?.arrayValue ?? [] {
            let inner = declaredMembers(part, depth: depth + 1)
            members += inner.members
            closed = closed || !inner.members.isEmpty
        }
        if case .object(let declared)? = schema["properties"] {
            members += declared
            closed = true
        }
        let additional = schema["additionalProperties"]
        return (members, !closed || (additional != nil && additional != .bool(false)))
    }

    private func shape(_ value: JSONValue, _ schema: JSONValue, droppingReadOnly: Bool, depth: Int) -> JSONValue {
        guard depth < 32 else { return value }
        var schema = schema
        if Self.referenced(schema) != nil {
            guard let model = (try? resolve(schema, for: value, path: "")) ?? nil else { return value }
            schema = model
        }
        switch value {
        case .object(let members):
            let (declared, open) = declaredMembers(schema, depth: 0)
            if declared.isEmpty { return value }
            let additional = schema["additionalProperties"]
            return .object(members.compactMap { name, member in
                guard let memberSchema = declared.first(where: { $0.0 == name })?.1 else {
                    guard open else { return nil }
                    if case .object = additional ?? .null, let additional {
                        return (name, shape(member, additional, droppingReadOnly: droppingReadOnly, depth: depth + 1))
                    }
                    return (name, member)
                }
                if droppingReadOnly && memberSchema["readOnly"] == .bool(true) { return nil }
                return (name, shape(member, memberSchema, droppingReadOnly: droppingReadOnly, depth: depth + 1))
            })
        case .array(let elements):
            guard let items = schema["items"] else { return value }
            return .array(elements.map { shape($0, items, droppingReadOnly: droppingReadOnly, depth: depth + 1) })
        default:
            return value
        }
    }

    private static func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): "'\(text.clipped)'"
        case .number(let number): number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        default: value.kindDescription
        }
    }
}
