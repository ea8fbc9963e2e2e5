import Foundation
import Synchronization

/// IoT Central's throttling, opt-in (the 2022-07-31 spec: 20 requests per second per application, across all tokens,
/// answered 429): a token bucket per application that holds `rate` requests and refills `rate` per second. Reads
/// the monotonic clock, not the mock clock, so `POST /_mock/clock` does not refill it.
public final class RateLimiter: @unchecked Sendable {
    // @unchecked: every field is touched only while `lock` is held.
    private let lock = NSLock()
    private var buckets: [String: (tokens: Double, at: UInt64)] = [:]
    private var rate: Double = 20
    private var enabled = false
    /// `enabled`, read without the lock so that requests pay nothing while throttling is off.
    private let isOn = Atomic<Bool>(false)
    private let monotonicNanoseconds: @Sendable () -> UInt64

    /// - Parameter monotonicNanoseconds: the clock to read (tests inject one).
    public init(monotonicNanoseconds: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.monotonicNanoseconds = monotonicNanoseconds
    }

    /// Requests per second per application, or nil when throttling is off. Setting nil turns it off and keeps
    /// the rate for `configuredRate`.
    public var requestsPerSecond: Int? {
        get { lock.withLock { enabled ? Int(rate) : nil } }
        set {
            lock.withLock {
                enabled = newValue != nil
                isOn.store(enabled, ordering: .releasing)
                if let newValue { rate = Double(max(1, newValue)) }
                buckets.removeAll()
            }
        }
    }

    /// The rate that applies when throttling is on (20 unless set).
    public var configuredRate: Int { lock.withLock { Int(rate) } }

    /// Takes one request of `application` from its bucket: nil when admitted, else the seconds until one would
    /// be (for `Retry-After`, at least 1).
    public func admit(_ application: String) -> Int? {
        guard isOn.load(ordering: .acquiring) else { return nil }
        return lock.withLock { () -> Int? in
            guard enabled else { return nil }
            // Read under the lock: a time read before it could be older than the bucket's, and refill it whole.
            let now = monotonicNanoseconds()
            var bucket = buckets[application] ?? (rate, now)
            let elapsed = now > bucket.at ? Double(now - bucket.at) / 1e9 : 0
            bucket.tokens = min(rate, bucket.tokens + elapsed * rate)
            bucket.at = now
            defer { buckets[application] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }
}
