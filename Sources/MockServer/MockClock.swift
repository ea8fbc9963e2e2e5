import Central
import Synchronization

/// The server's notion of now: the system clock plus an offset that tests set through `POST /_mock/clock`, so they
/// step past the expiry of API tokens and bearer tokens without sleeping (emulator convention). Both the IoT Central
/// service and the mock Entra ID read it; HTTP timeouts and throttling keep the real monotonic clock.
public final class MockClock: Sendable {
    private let offset = Atomic<Int64>(0)

    public init() {}

    /// The offset from the system clock, in milliseconds.
    public var offsetMilliseconds: Int64 {
        get { offset.load(ordering: .relaxed) }
        set { offset.store(newValue, ordering: .relaxed) }
    }

    /// Now, in Unix epoch milliseconds.
    public func nowMilliseconds() -> Int64 { Timestamp.nowMilliseconds() + offsetMilliseconds }

    /// Now, in Unix epoch seconds (what JWT claims use).
    public func nowSeconds() -> Int64 { nowMilliseconds() / 1000 }
}
