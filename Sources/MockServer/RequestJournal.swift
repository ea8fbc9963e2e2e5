import Central
import Foundation

/// One request as the journal and the log keep it.
public struct JournalEntry: Sendable, Equatable {
    /// When it arrived, Unix epoch milliseconds by the server's (possibly shifted) clock.
    public var time: Int64
    /// `x-ms-request-id` of the answer, when it has one.
    public var requestID: String?
    public var method: String
    /// The path without the query.
    public var path: String
    /// The application's id, when the host named a known one.
    public var application: String?
    /// The application's subdomain, when the host named a known one.
    public var subdomain: String?
    public var status: Int
    /// What Central decided: operation, permission, principal, decision, reason and trace.
    public var outcome: RequestOutcome
    /// Time to answer, milliseconds.
    public var durationMilliseconds: Double
    /// The journal's number for the entry, increasing by one per request recorded (0 until recorded): ask for
    /// the entries after the last one seen to follow the journal.
    public var sequence: Int64 = 0

    public init(time: Int64, requestID: String?, method: String, path: String, application: String?, subdomain: String? = nil,
                status: Int, outcome: RequestOutcome, durationMilliseconds: Double) {
        self.time = time; self.requestID = requestID; self.method = method; self.path = path; self.application = application
        self.subdomain = subdomain; self.status = status; self.outcome = outcome; self.durationMilliseconds = durationMilliseconds
    }

    /// The JSON object `GET /_mock/journal` lists.
    public var json: JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return .object([
            ("sequence", .number(Double(sequence))),
            ("time", .string(Timestamp.iso8601(milliseconds: time))), ("requestId", text(requestID)),
            ("method", .string(method)), ("path", .string(path)), ("application", text(application)), ("subdomain", text(subdomain)),
            ("status", .number(Double(status))), ("principal", text(outcome.principal)), ("principalName", text(outcome.principalName)),
            ("operationId", text(outcome.operationID)), ("permission", text(outcome.permission)),
            ("decision", .string(outcome.decision.rawValue)), ("reason", text(outcome.reason)),
            ("durationMs", .number((durationMilliseconds * 1000).rounded() / 1000)),
            ("trace", outcome.trace?.json ?? .null),
        ])
    }
}

/// Which journal entries to list: every condition given must hold.
public struct JournalFilter: Sendable {
    /// The application's id.
    public var application: String?
    /// Any of these decisions (empty: any).
    public var decisions: Set<RequestOutcome.Decision> = []
    /// Any of these statuses (empty: any).
    public var statuses: Set<Int> = []
    /// Text found, ignoring case, in the principal (`apiToken:<id>`, `bearer:<tenant>/<object>`) or its readable
    /// name (token id, user principal name, service principal name).
    public var principal: String?
    /// The operationId, ignoring case.
    public var operationID: String?
    /// Arrived at or after / before this time, Unix epoch milliseconds.
    public var since: Int64?
    public var until: Int64?
    /// Only entries recorded after this sequence number.
    public var after: Int64?
    /// At most the last this many of those that match.
    public var limit: Int?

    public init(application: String? = nil, decisions: Set<RequestOutcome.Decision> = [], statuses: Set<Int> = [], principal: String? = nil,
                operationID: String? = nil, since: Int64? = nil, until: Int64? = nil, after: Int64? = nil, limit: Int? = nil) {
        self.application = application; self.decisions = decisions; self.statuses = statuses; self.principal = principal
        self.operationID = operationID; self.since = since; self.until = until; self.after = after; self.limit = limit
    }

    func matches(_ entry: JournalEntry) -> Bool {
        if let application, entry.application != application { return false }
        if !decisions.isEmpty, !decisions.contains(entry.outcome.decision) { return false }
        if !statuses.isEmpty, !statuses.contains(entry.status) { return false }
        if let operationID, entry.outcome.operationID?.lowercased() != operationID.lowercased() { return false }
        if let since, entry.time < since { return false }
        if let until, entry.time >= until { return false }
        if let after, entry.sequence <= after { return false }
        if let principal {
            let found = [entry.outcome.principal, entry.outcome.principalName].contains { $0?.range(of: principal, options: .caseInsensitive) != nil }
            if !found { return false }
        }
        return true
    }
}

/// The last requests the server answered (control-plane calls excluded), kept per application so that one
/// application's traffic never evicts another's: at most `capacity` entries per application (and as many for
/// requests that named no application), and `totalCapacity` in all, past which the longest history of a deleted
/// application (else the longest of all) loses its oldest entry. Memory stays bounded whatever the traffic.
public final class RequestJournal: @unchecked Sendable {
    // @unchecked: every field is touched only while `lock` is held.
    private let lock = NSLock()
    private var rings: [String: Ring] = [:]
    /// Applications deleted since their entries were recorded: past the total, their entries go first.
    private var retired: Set<String> = []
    private var total = 0
    private var sequence: Int64 = 0
    public let capacity: Int
    public let totalCapacity: Int

    /// A fixed-size circular buffer, oldest first.
    private struct Ring {
        var items: [JournalEntry] = []
        var start = 0
        var count: Int { items.count }
        mutating func append(_ entry: JournalEntry, capacity: Int) -> Bool {
            if items.count < capacity { items.append(entry); return false }
            items[start] = entry
            start = (start + 1) % items.count
            return true
        }
        mutating func dropOldest() {
            guard !items.isEmpty else { return }
            // Rotate so the oldest is first, then drop it: rare (only when the total is reached).
            items = Array(items[start...] + items[..<start]).dropFirst().map { $0 }
            start = 0
        }
        var ordered: ArraySlice<JournalEntry> { items[start...] + items[..<start] }
    }

    public init(capacity: Int = 1000, totalCapacity: Int = 10_000) {
        self.capacity = max(1, capacity)
        self.totalCapacity = max(self.capacity, totalCapacity)
    }

    /// Records `entry`, numbering it; returns its sequence number.
    @discardableResult
    func record(_ entry: JournalEntry) -> Int64 {
        lock.withLock {
            sequence += 1
            var numbered = entry
            numbered.sequence = sequence
            let key = entry.application ?? ""
            if rings[key, default: Ring()].append(numbered, capacity: capacity) == false { total += 1 }
            if total > totalCapacity {
                // The longest history of a deleted application loses its oldest entry, else the longest of all.
                let candidates = retired.isEmpty ? rings : rings.filter { retired.contains($0.key) }
                if let longest = (candidates.isEmpty ? rings : candidates).max(by: { $0.value.count < $1.value.count })?.key {
                    rings[longest]?.dropOldest()
                    if rings[longest]?.count == 0 {
                        rings[longest] = nil
                        retired.remove(longest)
                    }
                    total -= 1
                }
            }
            return sequence
        }
    }

    /// The kept entries that match `filter`, oldest first: with a `limit`, the last that many, or, after a sequence
    /// number, the next that many (so a client can follow the journal page by page).
    public func entries(_ filter: JournalFilter) -> [JournalEntry] {
        let candidates: [JournalEntry] = lock.withLock {
            if let application = filter.application { return Array(rings[application]?.ordered ?? []) }
            return rings.values.flatMap(\.ordered)
        }
        let matching = candidates.filter(filter.matches).sorted { $0.sequence < $1.sequence }
        guard let limit = filter.limit else { return matching }
        return filter.after == nil ? Array(matching.suffix(max(0, limit))) : Array(matching.prefix(max(0, limit)))
    }

    /// Marks the entries of `application` (id) as those of a deleted application: kept for inspection, but the
    /// first to go when the total is reached.
    func retire(_ application: String) {
        lock.withLock { if rings[application] != nil { retired.insert(application) } }
    }

    /// The kept entries of `application` (id) with `status`, oldest first, at most the last `limit`.
    public func entries(application: String? = nil, status: Int? = nil, limit: Int? = nil) -> [JournalEntry] {
        entries(JournalFilter(application: application, statuses: status.map { [$0] } ?? [], limit: limit))
    }

    /// The entry with this request id, if it is still kept.
    public func entry(requestID: String) -> JournalEntry? {
        lock.withLock { rings.values.lazy.flatMap(\.items).first { $0.requestID == requestID } }
    }

    /// The number of the last entry recorded (0: none yet).
    public var lastSequence: Int64 { lock.withLock { sequence } }

    /// Entries kept per application id ("" for requests that named none).
    public var counts: [String: Int] { lock.withLock { rings.mapValues(\.count) } }

    /// Forgets every entry of `application` (id), or every entry when nil. Sequence numbers keep increasing.
    public func clear(application: String? = nil) {
        lock.withLock {
            if let application {
                total -= rings[application]?.count ?? 0
                rings[application] = nil
                retired.remove(application)
            } else {
                rings.removeAll()
                retired.removeAll()
                total = 0
            }
        }
    }
}
