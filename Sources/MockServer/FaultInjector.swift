import Central
import Foundation
import Synchronization

/// Injected faults (`POST /_mock/faults`): the next `count` requests that match a method and path answer `status`,
/// so a test can check its client's retries and error handling.
public final class FaultInjector: @unchecked Sendable {
    // @unchecked: `faults` and `nextID` are touched only while `lock` is held.
    private let lock = NSLock()
    private var faults: [Fault] = []
    private var nextID = 1
    /// How many rules there are, read without the lock so that requests pay nothing while there are none.
    private let ruleCount = Atomic<Int>(0)

    /// One rule.
    public struct Fault: Sendable, Equatable {
        public var id: Int
        /// An HTTP method, or `*` for any.
        public var method: String
        /// An exact path (`/api/users`, compared without the query and ignoring ASCII case), or a prefix ending in
        /// `*` (`/api/users/*`).
        public var path: String
        /// 400 to 599.
        public var status: Int
        /// Matching requests still to fail.
        public var remaining: Int
        /// Only requests to this application (id), or any when nil.
        public var application: String?
        /// Seconds for a `Retry-After` header, or nil for none (429 and 503 default to 1).
        public var retryAfterSeconds: Int?

        /// `Retry-After`, when the fault has one.
        var retryAfterHeader: [(String, String)] { retryAfterSeconds.map { [("Retry-After", String($0))] } ?? [] }

        public var json: JSONValue {
            .object([
                ("id", .number(Double(id))), ("method", .string(method)), ("path", .string(path)),
                ("status", .number(Double(status))), ("remaining", .number(Double(remaining))),
                ("application", application.map(JSONValue.string) ?? .null),
                ("retryAfterSeconds", retryAfterSeconds.map { .number(Double($0)) } ?? .null),
            ])
        }

        func matches(method: String, path: String, application: String?) -> Bool {
            guard self.method == "*" || self.method == method else { return false }
            if let wanted = self.application, wanted != application { return false }
            let pattern = self.path.lowercased(), candidate = path.lowercased()
            return pattern.hasSuffix("*") ? candidate.hasPrefix(pattern.dropLast()) : candidate == pattern
        }
    }

    public init() {}

    /// Adds a rule and returns it with its id. At most 100 rules are kept (the oldest go first).
    @discardableResult
    public func add(method: String, path: String, status: Int, count: Int, application: String?, retryAfterSeconds: Int? = nil) -> Fault {
        lock.withLock {
            let retryAfter = retryAfterSeconds ?? ([429, 503].contains(status) ? 1 : nil)
            let fault = Fault(
                id: nextID, method: method.uppercased(), path: path, status: status, remaining: count, application: application,
                retryAfterSeconds: retryAfter)
            nextID += 1
            faults.append(fault)
            if faults.count > 100 { faults.removeFirst() }
            ruleCount.store(faults.count, ordering: .releasing)
            return fault
        }
    }

    /// The first rule matching the request, with one use taken from it (and removed when used up); nil when none.
    func take(method: String, path: String, application: String?) -> Fault? {
        guard ruleCount.load(ordering: .acquiring) > 0 else { return nil }
        return lock.withLock {
            guard let index = faults.firstIndex(where: { $0.matches(method: method, path: path, application: application) }) else { return nil }
            faults[index].remaining -= 1
            let fault = faults[index]
            if fault.remaining <= 0 { faults.remove(at: index) }
            ruleCount.store(faults.count, ordering: .releasing)
            return fault
        }
    }

    /// The rules still active.
    public var active: [Fault] { lock.withLock { faults } }

    public func clear() {
        lock.withLock {
            faults.removeAll()
            ruleCount.store(0, ordering: .releasing)
        }
    }
}
