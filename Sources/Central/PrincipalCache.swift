import Foundation

/// Remembers, for one second, which `Authorization` header values authenticated as which principal and which
/// roles an application has, so the hot path of an authorized request costs a dictionary lookup instead of two
/// SQLite queries, a percent-decoding and an HMAC.
///
/// Correctness: this process drops every entry on its own token writes (`invalidate`), so a deleted token fails at
/// once here; another process sharing the data folder sees the change within `lifetime`. Expiry (`se`) is still
/// checked against the clock on every request.
final class PrincipalCache: @unchecked Sendable {
    // @unchecked: every field is touched only while `lock` is held. NSLock is a plain pthread mutex, cheaper
    // under contention than a priority-inheriting one.
    private let lock = NSLock()
    private var principals: [String: Entry<Principal>] = [:]
    private var roles: [String: Entry<[Role]>] = [:]
    /// Seconds an entry may be used, in nanoseconds of CLOCK_MONOTONIC.
    private let lifetime: Int
    /// Entries kept at most; past it the cache starts again empty (bounded memory whatever clients send).
    private let capacity = 4096

    private struct Entry<Value> {
        let value: Value
        let applicationID: String
        /// For a principal: the token's expiry in epoch ms; unused for roles.
        let expiryMilliseconds: Int64
        let storedAt: Int
    }

    init(lifetimeSeconds: Double = 1) {
        lifetime = Int(lifetimeSeconds * 1e9)
    }

    /// The principal that `header` authenticated as for `applicationID`, if still fresh and not expired at `now`.
    func principal(for header: String, applicationID: String, now: Int64) -> Principal? {
        let clock = Self.monotonic()
        return lock.withLock {
            guard let entry = principals[header], entry.applicationID == applicationID, clock - entry.storedAt < lifetime,
                  entry.expiryMilliseconds > now
            else { return nil }
            return entry.value
        }
    }

    func store(_ principal: Principal, for header: String, applicationID: String, expiryMilliseconds: Int64) {
        let entry = Entry(value: principal, applicationID: applicationID, expiryMilliseconds: expiryMilliseconds, storedAt: Self.monotonic())
        lock.withLock {
            if principals.count >= capacity { principals.removeAll(keepingCapacity: true) }
            principals[header] = entry
        }
    }

    /// The roles of `applicationID`, loading them with `load` when absent or stale.
    func roles(applicationID: String, load: () throws -> [Role]) rethrows -> [Role] {
        let clock = Self.monotonic()
        if let cached = lock.withLock({ roles[applicationID] }), clock - cached.storedAt < lifetime { return cached.value }
        let fresh = try load()
        lock.withLock {
            if roles.count >= capacity { roles.removeAll(keepingCapacity: true) }
            roles[applicationID] = Entry(value: fresh, applicationID: applicationID, expiryMilliseconds: 0, storedAt: clock)
        }
        return fresh
    }

    /// Forgets everything (after a write that can change who authenticates as what).
    func invalidate() {
        lock.withLock {
            principals.removeAll(keepingCapacity: true)
            roles.removeAll(keepingCapacity: true)
        }
    }

    private static func monotonic() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int(now.tv_sec) * 1_000_000_000 + Int(now.tv_nsec)
    }
}
