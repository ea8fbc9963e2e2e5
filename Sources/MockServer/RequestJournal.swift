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
    public var status: Int
    /// What Central decided: operation, permission, principal, decision and reason.
    public var outcome: RequestOutcome
    /// Time to answer, milliseconds.
    public var durationMilliseconds: Double

    /// The JSON object `GET /_mock/journal` lists.
    public var json: JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return .object([
            ("time", .string(Timestamp.iso8601(milliseconds: time))), ("requestId", text(requestID)),
            ("method", .string(method)), ("path", .string(path)), ("application", text(application)),
            ("status", .number(Double(status))), ("principal", text(outcome.principal)),
            ("operationId", text(outcome.operationID)), ("permission", text(outcome.permission)),
            ("decision", .string(outcome.decision.rawValue)), ("reason", text(outcome.reason)),
            ("durationMs", .number((durationMilliseconds * 1000).rounded() / 1000)),
        ])
    }
}

/// The last `capacity` requests the server answered (control-plane calls excluded), oldest first; older ones are
/// dropped, so memory stays bounded whatever the traffic.
public final class RequestJournal: @unchecked Sendable {
    // @unchecked: `ring` and `next` are touched only while `lock` is held.
    private let lock = NSLock()
    private var ring: [JournalEntry] = []
    private var next = 0
    public let capacity: Int

    public init(capacity: Int = 1000) { self.capacity = max(1, capacity) }

    func record(_ entry: JournalEntry) {
        lock.withLock {
            if ring.count < capacity {
                ring.append(entry)
            } else {
                ring[next] = entry
                next = (next + 1) % capacity
            }
        }
    }

    /// The kept entries, oldest first, that match `application` (id) and `status`, at most the last `limit`.
    public func entries(application: String? = nil, status: Int? = nil, limit: Int? = nil) -> [JournalEntry] {
        let all = lock.withLock { Array(ring[next...] + ring[..<next]) }
        let matching = all.filter { entry in
            (application == nil || entry.application == application) && (status == nil || entry.status == status)
        }
        return limit.map { Array(matching.suffix(max(0, $0))) } ?? matching
    }

    /// Forgets every entry.
    public func clear() { lock.withLock { ring.removeAll(); next = 0 } }
}
