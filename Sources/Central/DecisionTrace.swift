import Foundation

/// How an `Authorization` header was read (emulator convention: every decision shows its evidence). Filled from
/// the verified token when it verified; for a refused one, from what could be parsed (an unverified JWT's claims
/// are marked so).
public struct CredentialTrace: Sendable, Equatable {
    /// The scheme word: `SharedAccessSignature`, `Bearer`, another word, or nil when no header was sent.
    public var scheme: String?
    /// An API token's id (`skn`).
    public var tokenID: String?
    /// When the token expires, Unix epoch milliseconds (`se`, or the JWT's `exp`).
    public var expiryMilliseconds: Int64?
    /// A JWT's `iss`, `tid`, `oid`, `upn` (or `unique_name`, `email`), `appid`, `name` and `groups`.
    public var issuer: String?
    public var tenantId: String?
    public var objectId: String?
    public var principalName: String?
    public var appId: String?
    public var displayName: String?
    public var groups: [String] = []
    /// True when the claims were read from a token that did not verify (shown, never trusted).
    public var unverified = false
    /// A name given by whoever built the trace (a what-if caller named by its user id), used before the others.
    public var name: String?

    public init(scheme: String? = nil) { self.scheme = scheme }

    /// The credential of a verified API token.
    public static func apiToken(_ token: APIToken) -> CredentialTrace {
        var trace = CredentialTrace(scheme: SharedAccessSignature.scheme)
        trace.tokenID = token.id
        trace.expiryMilliseconds = token.expiryMilliseconds
        return trace
    }

    /// The credential of a verified bearer token.
    public static func bearer(_ identity: BearerIdentity) -> CredentialTrace {
        var trace = CredentialTrace(scheme: "Bearer")
        trace.expiryMilliseconds = identity.expiryMilliseconds
        trace.issuer = identity.issuer
        trace.tenantId = identity.tenantId
        trace.objectId = identity.objectId
        trace.principalName = identity.names.first
        trace.appId = identity.appId
        trace.displayName = identity.displayName
        trace.groups = identity.groups
        return trace
    }

    /// What can be read from `header` without verifying it: the scheme, an API token's `skn` and `se`, or a JWT's
    /// claims (marked unverified). Never fails: what does not parse is left out.
    public static func read(_ header: String?) -> CredentialTrace {
        guard let header else { return CredentialTrace() }
        let scheme = String(header.prefix { $0 != " " }.prefix(64))
        var trace = CredentialTrace(scheme: scheme)
        if let sas = SharedAccessSignature.parse(header) {
            trace.tokenID = sas.keyName
            trace.expiryMilliseconds = sas.expiryMilliseconds
        } else if Validation.asciiCaseInsensitiveEquals(scheme.utf8, "Bearer".utf8) {
            let token = header.dropFirst(scheme.count).trimmingCharacters(in: .whitespaces)
            let parts = token.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[1].utf8.count <= 16_384, let payload = Self.base64URLDecode(parts[1]),
                  let claims = try? JSONValue.parse(payload) else { return trace }
            trace.unverified = true
            trace.issuer = claims["iss"]?.stringValue
            trace.tenantId = claims["tid"]?.stringValue
            trace.objectId = claims["oid"]?.stringValue
            trace.principalName = claims["upn"]?.stringValue ?? claims["unique_name"]?.stringValue ?? claims["email"]?.stringValue
            trace.appId = claims["appid"]?.stringValue
            trace.displayName = claims["name"]?.stringValue
            if case .number(let exp)? = claims["exp"], exp.isFinite, abs(exp) < 1e13 { trace.expiryMilliseconds = Int64(exp) * 1000 }
            trace.groups = claims["groups"]?.arrayValue?.compactMap(\.stringValue).prefix(50).map { $0 } ?? []
        }
        return trace
    }

    /// A person's name for the caller: `API token 'ci'`, the user principal name, `service principal 'Pipeline'`,
    /// or the tenant and object ids when the token names nothing else.
    public var readableName: String {
        if let name { return name }
        if let tokenID { return "API token '\(tokenID)'" }
        if let principalName { return principalName }
        if let displayName { return "service principal '\(displayName)'" }
        if let appId { return "service principal \(appId)" }
        if let tenantId, let objectId { return "identity \(tenantId)/\(objectId)" }
        return scheme.map { "a '\($0)' credential" } ?? "no credential"
    }

    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("scheme", scheme.map(JSONValue.string) ?? .null)]
        func add(_ name: String, _ value: String?) { if let value { members.append((name, .string(value))) } }
        add("tokenId", tokenID)
        add("expires", expiryMilliseconds.map { Timestamp.iso8601(milliseconds: $0) })
        add("issuer", issuer); add("tenantId", tenantId); add("objectId", objectId)
        add("principalName", principalName); add("appId", appId); add("displayName", displayName)
        if !groups.isEmpty { members.append(("groups", .array(groups.map(JSONValue.string)))) }
        if unverified { members.append(("unverified", .bool(true))) }
        members.append(("readableName", .string(readableName)))
        return .object(members)
    }

    private static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map(Array.init)
    }
}

/// One role assignment of the caller, judged against one operation.
public struct AssignmentVerdict: Sendable, Equatable {
    public let role: String
    /// The role's display name, or its id when the role no longer exists.
    public let roleName: String
    /// The organization the assignment is limited to (nil: the whole application).
    public let organization: String?
    /// The application user the assignment came through (a bearer caller's matched user), if any.
    public let user: String?
    /// Whether it grants the operation's permission where the operation acts.
    public let grants: Bool
    /// "Operator on the application: lacks users.view"; "Org Admin on washington: grants devices.view inside washington".
    public let verdict: String

    public var label: String { "\(roleName) on \(organization.map { "'\($0)'" } ?? "the application")" }

    public var json: JSONValue {
        .object([
            ("role", .string(role)), ("roleName", .string(roleName)),
            ("organization", organization.map(JSONValue.string) ?? .null), ("user", user.map(JSONValue.string) ?? .null),
            ("grants", .bool(grants)), ("verdict", .string(verdict)),
        ])
    }
}

/// An application user a bearer caller matched.
public struct MatchedUser: Sendable, Equatable {
    public let id: String
    public let type: User.Kind
    /// The email of an email user, else the object id (service principal or group).
    public let name: String
    /// Why it matched: "email", "tenant and object id", "group membership".
    public let matchedBy: String

    public var json: JSONValue {
        .object([("id", .string(id)), ("type", .string(type.rawValue)), ("name", .string(name)), ("matchedBy", .string(matchedBy))])
    }
}

/// Why a request was allowed or refused, step by step: the credential, the users it matched, the operation and
/// the rule for its scope, and the verdict of each role assignment (emulator convention; the rules are those of
/// "Manage users and roles in IoT Central"). Kept with the journal entry; `POST /_mock/apps/{app}/authorize`
/// computes it without running the operation.
public struct DecisionTrace: Sendable, Equatable {
    public var credential: CredentialTrace?
    /// Why the credential was refused (401), if it was.
    public var credentialProblem: String?
    public var matchedUsers: [MatchedUser] = []
    public var operationID: String?
    public var permission: String?
    public var scopeRule: Operation.Scope?
    public var assignments: [AssignmentVerdict] = []
    public var decision: RequestOutcome.Decision = .none
    public var reason: String?
    /// When authorization allowed the operation but its own rule refused it (403): why.
    public var operationRefusal: String?

    public init() {}

    /// The rule that decides which assignments count, in words.
    public var scopeRuleText: String? {
        switch scopeRule {
        case .application?: "needs an assignment on the whole application: organization roles cannot grant it"
        case .organization?: "an assignment on the application, or on an organization (the operation then acts inside that organization and its children)"
        case nil: nil
        }
    }

    public var json: JSONValue {
        .object([
            ("credential", credential?.json ?? .null), ("credentialProblem", credentialProblem.map(JSONValue.string) ?? .null),
            ("matchedUsers", .array(matchedUsers.map(\.json))),
            ("operationId", operationID.map(JSONValue.string) ?? .null), ("permission", permission.map(JSONValue.string) ?? .null),
            ("scope", scopeRule.map { .string($0.rawValue) } ?? .null), ("scopeRule", scopeRuleText.map(JSONValue.string) ?? .null),
            ("assignments", .array(assignments.map(\.json))),
            ("decision", .string(decision.rawValue)), ("reason", reason.map(JSONValue.string) ?? .null),
            ("operationRefusal", operationRefusal.map(JSONValue.string) ?? .null),
        ])
    }
}
