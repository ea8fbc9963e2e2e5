import HTTP
import Synchronization

/// The listeners of the applications that have a port of their own (`POST /_mock/apps {"port": 0}`, a fixture's
/// `application.port`): one `HTTPServer` per application, which serves that application alone whatever the `Host`
/// header says. Assumed, beyond the real service: see docs/fidelity.md.
final class ApplicationListeners: Sendable {
    /// The most applications with a port of their own at once.
    static let maxListeners = 100
    private let servers = Mutex<[String: HTTPServer]>([:])

    /// The bound port of the application's listener, or nil when it has none.
    func port(of applicationID: String) -> Int? {
        servers.withLock { $0[applicationID]?.port }
    }

    /// How many applications have a listener.
    var count: Int { servers.withLock { $0.count } }

    /// Starts `server` as the listener of `applicationID`.
    /// - Throws: `HTTPServerError` when the port cannot be bound, `ControlError` (400) past `maxListeners`.
    func start(_ server: HTTPServer, for applicationID: String) throws {
        try servers.withLock { servers in
            guard servers[applicationID] == nil else { return }
            guard servers.count < Self.maxListeners else {
                throw ControlError(400, "At most \(Self.maxListeners) applications can have a port of their own; delete some first.")
            }
            try server.start()
            servers[applicationID] = server
        }
    }

    /// Removes the application's listener and returns it (stop it outside any lock).
    func remove(_ applicationID: String) -> HTTPServer? {
        servers.withLock { $0.removeValue(forKey: applicationID) }
    }

    /// Removes every listener and returns them.
    func removeAll() -> [HTTPServer] {
        servers.withLock { servers in
            defer { servers.removeAll() }
            return Array(servers.values)
        }
    }
}
