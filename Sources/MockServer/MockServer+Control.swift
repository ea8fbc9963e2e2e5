import Central
import Foundation
import HTTP
import Storage

/// One application of a server, as the control plane shows it.
public struct ApplicationInfo: Sendable, Equatable {
    /// The application id (a GUID): `sr` of its API tokens.
    public let id: String
    /// Its host label: requests to `{subdomain}.localhost` reach it.
    public let subdomain: String
    public let displayName: String
    /// The fixture it was made from, and that a reset restores.
    public let fixture: String
    /// The base URL (add `/api/...`): `http://{host}:{its own port}` when it has a port of its own, else
    /// `http://{subdomain}.localhost:{server port}` (names under `.localhost` resolve to the loopback address in curl
    /// and browsers; other clients can call the server's address with this `Host`).
    public let url: String
    /// The same over TLS, with a name the server's certificate carries: `https://localhost:{its own port}` (or the
    /// address listened on, when that is not a loopback default), or `https://{subdomain}.localhost:{server port}`;
    /// nil for an application without a port of its own made after the server started (its name is not in the
    /// certificate until a restart).
    public let httpsURL: String?
    /// The port this server listens on for this application alone, or nil when it has none.
    public let port: Int?
    /// The full string of the fixture's first API token (its Administrator token), or nil if deleted or expired.
    public let adminToken: String?
    /// The application of requests without an application host name; it cannot be deleted.
    public let isDefault: Bool

    public var json: JSONValue {
        .object([
            ("id", .string(id)), ("subdomain", .string(subdomain)), ("displayName", .string(displayName)),
            ("fixture", .string(fixture)), ("url", .string(url)), ("httpsUrl", httpsURL.map(JSONValue.string) ?? .null),
            ("port", port.map { .number(Double($0)) } ?? .null), ("adminToken", adminToken.map(JSONValue.string) ?? .null),
            ("default", .bool(isDefault)),
        ])
    }
}

/// A control-plane request that cannot be done: the status and a message; rendered as
/// `{"error": {"code", "message"}}`.
public struct ControlError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let message: String
    /// For a 405: the methods the path takes (the `Allow` header).
    public var allowed: [String]?
    public var description: String { "\(status) \(code): \(message)" }

    init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
        self.code = switch status {
        case 401: "Unauthenticated"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 405: "MethodNotAllowed"
        case 409: "Conflict"
        case 415: "UnsupportedMediaType"
        case 503: "ServiceUnavailable"
        case 500...: "InternalServerError"
        default: "BadRequest"
        }
    }
}

/// The control operations, for Swift tests in-process and for the HTTP control plane under `/_mock/`.
extension MockServer {
    /// The most applications one server holds.
    public static let maxApplications = 1000
    /// The shifted clock stays from 2000-01-01 to 2200-01-01 (Unix epoch seconds), where token expiries and
    /// RFC 3339 times stay well-formed.
    public static let clockRange: ClosedRange<Int64> = 946_684_800...7_258_118_400

    // MARK: Applications

    /// Every application, oldest first (read again from the store, which other servers may share).
    public func applications() -> [ApplicationInfo] {
        try? registry.reload()
        return registry.all.map(info)
    }

    /// The application with this id or subdomain.
    /// - Throws: 404 when there is none.
    public func applicationInfo(_ idOrSubdomain: String) throws(ControlError) -> ApplicationInfo {
        info(try existing(idOrSubdomain))
    }

    /// Makes an application from a fixture (default: the server's) with a fresh id and signing key, and
    /// `subdomain` (default: `app-` and 8 hex digits). With a `port` (0: any free one; default: the fixture's
    /// `application.port`, if any) the server also listens there for this application alone.
    /// - Throws: 400 for a subdomain that is not a DNS label or is a GUID, or a port outside 0...65535; 404 for an
    ///   unknown fixture or one that does not load; 409 for a subdomain or a port in use; 400 past
    ///   `maxApplications` or `ApplicationListeners.maxListeners`.
    public func createApplication(fixture fixtureName: String? = nil, subdomain: String? = nil, port: Int? = nil) throws(ControlError) -> ApplicationInfo {
        // One at a time, so that concurrent creations cannot pass the limits together.
        try applicationCreation.withLock { _ throws(ControlError) in
            try makeApplication(fixture: fixtureName, subdomain: subdomain, port: port)
        }
    }

    private func makeApplication(fixture fixtureName: String?, subdomain: String?, port: Int?) throws(ControlError) -> ApplicationInfo {
        let source = try loadFixture(fixtureName ?? fixture.name)
        let ownPort = port ?? source.application.port
        if let ownPort {
            guard (0...65535).contains(ownPort) else { throw ControlError(400, "The port must be from 0 (any free port) to 65535, not \(ownPort).") }
            guard applicationListeners.count < ApplicationListeners.maxListeners else {
                throw ControlError(400, "At most \(ApplicationListeners.maxListeners) applications can have a port of their own; delete some first.")
            }
        }
        let id = Crypto.uuid()
        let label = subdomain?.lowercased() ?? "app-" + id.prefix(8)
        guard Self.isSubdomain(label) else {
            throw ControlError(400, "The subdomain '\(label.clipped)' must be a DNS label: 1 to 63 letters, digits or '-', not starting or ending with '-', and not a GUID.")
        }
        guard registry.all.count < Self.maxApplications else {
            throw ControlError(400, "A server holds at most \(Self.maxApplications) applications; delete some first.")
        }
        guard registry.application(label) == nil else { throw ControlError(409, "The subdomain '\(label)' is in use.") }
        let application = Application(id: id, subdomain: label, displayName: "\(source.application.displayName) (\(label))", port: ownPort)
        let made: Fixture
        do { made = try source.retargeted(to: application) } catch { throw ControlError(500, "No random bytes for its tokens: \(error).") }
        do {
            try store.insert(made, now: clock.nowMilliseconds())
            remember(made)
        } catch let error as SQLiteError where error.isConstraintViolation {
            throw ControlError(409, "The subdomain '\(label)' is in use.")
        } catch {
            throw Self.storeError(error, "The store could not create the application")
        }
        try reloadRegistry()
        if let ownPort {
            do throws(ControlError) { try openListener(for: id, port: ownPort) } catch {
                _ = try? store.deleteApplication(id: id)  // no application without the port it asked for
                try reloadRegistry()
                throw error
            }
        }
        return info(application)
    }

    /// Starts the listener of an application with a port of its own.
    /// - Throws: 409 when the port is taken, 400 when it cannot be bound otherwise or past the listener limit.
    func openListener(for applicationID: String, port: Int) throws(ControlError) {
        var configuration = httpConfiguration
        configuration.port = port
        let router = self.router
        let listener = HTTPServer(
            configuration: configuration, handler: { router.respond(to: $0, pinned: applicationID) }, errorResponder: errorResponder)
        do {
            try applicationListeners.start(listener, for: applicationID)
        } catch let error as ControlError {
            throw error
        } catch let error as HTTPServerError {
            // Out of descriptors or memory is the server's condition, not the request's.
            let status = error.code == EADDRINUSE ? 409 : [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.code) ? 503 : 400
            throw ControlError(status, "The application cannot listen on port \(port): \(error.message).")
        } catch {
            throw ControlError(500, "The application cannot listen on port \(port): \(error).")
        }
    }

    /// Deletes an application with everything in it, and closes its own port if it has one.
    /// - Throws: 404 when there is none, 409 for the default application.
    public func deleteApplication(_ idOrSubdomain: String) throws(ControlError) {
        try deleteApplication(idOrSubdomain, from: nil)
    }

    /// `from`: the application whose own port the request came through; its listener is closed once this answer
    /// has gone out, not under it.
    func deleteApplication(_ idOrSubdomain: String, from pinned: String?) throws(ControlError) {
        let application = try existing(idOrSubdomain)
        guard application.id != self.application.id else {
            throw ControlError(409, "The default application cannot be deleted; reset it instead (POST /_mock/apps/\(application.id)/reset).")
        }
        let deleted: Bool
        do { deleted = try store.deleteApplication(id: application.id) } catch {
            throw Self.storeError(error, "The store could not delete the application")
        }
        service.invalidateCaches()
        journal.retire(application.id)
        if let listener = applicationListeners.remove(application.id) {
            if pinned == application.id {
                DispatchQueue.global().async { listener.stop(gracePeriod: 2) }
            } else {
                listener.stop()
            }
        }
        try reloadRegistry()
        guard deleted else { throw ControlError(404, "No application has the id or subdomain '\(idOrSubdomain.clipped)'.") }
    }

    /// Puts an application back into the state of its fixture: users, organizations, custom roles and API tokens
    /// as the fixture has them, so tokens created since stop working (401) and the fixture's tokens work again.
    /// - Throws: 404 when there is none or its fixture no longer loads.
    @discardableResult
    public func resetApplication(_ idOrSubdomain: String) throws(ControlError) -> ApplicationInfo {
        let application = try existing(idOrSubdomain)
        let source = try loadFixture(fixtureName(of: application))
        let kept: Set<String>?
        do {
            // The fixture's own application keeps the fixture's token strings (the well-known admin token).
            let target = try source.retargeted(to: application, secrets: application.id == source.application.id ? source.apiTokenSecrets : [:])
            kept = try store.reset(to: target)
            if let kept { remember(target, except: kept) }
        } catch {
            throw Self.storeError(error, "The store could not reset the application")
        }
        service.invalidateCaches()
        guard kept != nil else {
            try reloadRegistry()
            throw ControlError(404, "No application has the id or subdomain '\(idOrSubdomain.clipped)'.")
        }
        return info(application)
    }

    // MARK: Clock

    /// How far the server's clock is shifted from the system clock, in seconds (`POST /_mock/clock`).
    public var clockOffsetSeconds: Int64 { clock.offsetMilliseconds / 1000 }

    /// Shifts the server's clock to the system clock plus `seconds` (not cumulative): API token expiry and Entra
    /// token lifetimes are judged, and new Entra tokens issued, at that time.
    /// - Throws: 400 when the shifted time would leave `clockRange` (2000 to 2200).
    public func setClockOffset(seconds: Int64) throws(ControlError) {
        let system = Timestamp.nowMilliseconds() / 1000
        guard seconds > Self.clockRange.lowerBound - system, seconds < Self.clockRange.upperBound - system else {
            throw ControlError(400, "offsetSeconds must keep the server's time between 2000-01-01 and 2200-01-01: from \(Self.clockRange.lowerBound - system + 1) to \(Self.clockRange.upperBound - system - 1) now.")
        }
        clock.offsetMilliseconds = seconds * 1000
    }

    // MARK: Health

    /// True once the server listens, until `stop` begins, and while its data folder can keep writes.
    public var isHealthy: Bool { port > 0 && !stopping.load(ordering: .relaxed) && store.database.problem() == nil }

    /// A control-plane answer for a failed store operation: 503 when the data folder is gone or unusable, else 500.
    static func storeError(_ error: any Error, _ what: String) -> ControlError {
        if let lost = error as? SQLiteDatabase.FileProblem { return ControlError(503, "\(what): \(lost.description).") }
        return ControlError(500, "\(what): \(error).")
    }

    // MARK: Helpers

    func info(_ application: Application) -> ApplicationInfo {
        let ownPort = applicationListeners.port(of: application.id)
        let url = ownPort.map { "http://" + Self.authority(host: configuration.host, port: $0) }
            ?? "http://\(application.subdomain).localhost:\(port)"
        // Over TLS a name the certificate carries: `localhost` (or the address listened on) for the own port, the
        // app's own name otherwise; none when the running server's certificate does not name the app (made after
        // the start: give it a port of its own, or restart).
        let loopback = ["127.0.0.1", "0.0.0.0", "localhost", "::1", "::", "[::]"].contains(configuration.host)
        let name = "\(application.subdomain).localhost"
        let httpsURL = ownPort.map { "https://" + (loopback ? "localhost:\($0)" : Self.authority(host: configuration.host, port: $0)) }
            ?? (certificateNames.map { $0.contains(name) } ?? true ? "https://\(name):\(port)" : nil)
        return ApplicationInfo(
            id: application.id, subdomain: application.subdomain, displayName: application.displayName,
            fixture: fixtureName(of: application), url: url, httpsURL: httpsURL, port: ownPort,
            adminToken: adminToken(of: application), isDefault: application.id == self.application.id)
    }

    /// Keeps in memory (never in the store) the secret of the admin token `fixture` gives its application, unless
    /// that token's string is one of `except` (kept from before: the string remembered then stays).
    private func remember(_ fixture: Fixture, except: Set<String> = []) {
        guard let first = fixture.apiTokens.first, !except.contains(first.id), let secret = fixture.apiTokenSecrets[first.id] else { return }
        issuedAdminSecrets.withLock { $0[fixture.application.id] = secret }
    }

    private func existing(_ idOrSubdomain: String) throws(ControlError) -> Application {
        guard let application = registry.application(idOrSubdomain) else {
            throw ControlError(404, "No application has the id or subdomain '\(idOrSubdomain.clipped)'.")
        }
        return application
    }

    private func loadFixture(_ name: String) throws(ControlError) -> Fixture {
        do { return try Fixture.load(files: fixtureFiles, name: name) } catch {
            throw ControlError(404, "The fixture '\(name.clipped)' cannot be used: \(error)")
        }
    }

    private func reloadRegistry() throws(ControlError) {
        do { try registry.reload() } catch { throw Self.storeError(error, "The store could not list the applications") }
    }

    /// A DNS label (RFC 1035 §2.3.1, lower case) that is not a GUID, so it cannot be mistaken for an application id.
    static func isSubdomain(_ label: String) -> Bool {
        let bytes = Array(label.utf8)
        guard (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else { return false }
        let allowed = bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }
        return allowed && !Validation.isGUID(label)
    }
}
