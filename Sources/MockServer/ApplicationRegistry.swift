import Central
import Foundation

/// The applications of one server, found by the `Host` header (the IoT Central REST API reference: the host label is the
/// subdomain or the application's GUID): `{subdomain}.{anything}` or `{app id}.{anything}`. An IP address, or a
/// name without a dot (`localhost`, a container name), means the default application. Lookups read an in-memory
/// copy that `reload` refreshes after the control plane changes the set.
final class ApplicationRegistry: @unchecked Sendable {
    // @unchecked: the maps are read and replaced only while `lock` is held.
    private let lock = NSLock()
    private var bySubdomain: [String: Application] = [:]
    private var byID: [String: Application] = [:]
    private var ordered: [Application] = []
    let store: CentralStore
    /// The application of requests that name none.
    let defaultID: String

    /// How a `Host` header resolved.
    enum Resolution: Sendable {
        case application(Application)
        /// The host names an application that does not exist; the label it named.
        case unknown(String)
    }

    init(store: CentralStore, defaultID: String) throws {
        self.store = store
        self.defaultID = defaultID
        try reload()
    }

    /// Reads the applications from the store again.
    func reload() throws {
        let applications = try store.applications()
        var subdomains: [String: Application] = [:], ids: [String: Application] = [:]
        for application in applications {
            subdomains[application.subdomain.lowercased()] = application
            ids[application.id.lowercased()] = application
        }
        lock.withLock { bySubdomain = subdomains; byID = ids; ordered = applications }
    }

    /// Every application, oldest first.
    var all: [Application] { lock.withLock { ordered } }

    /// The application with this id or subdomain, or nil. A name not in memory is looked up in the store once
    /// more, so an application another server made on the same data folder is found.
    func application(_ idOrSubdomain: String) -> Application? {
        let key = idOrSubdomain.lowercased()
        if let found = lock.withLock({ byID[key] ?? bySubdomain[key] }) { return found }
        guard !key.isEmpty, (try? reload()) != nil else { return nil }
        return lock.withLock { byID[key] ?? bySubdomain[key] }
    }

    var defaultApplication: Application? { application(defaultID) }

    /// The application a `Host` header value (with or without a port) picks.
    func resolve(host: String?) -> Resolution {
        guard let label = Self.applicationLabel(host: host ?? "") else {
            return defaultApplication.map(Resolution.application) ?? .unknown("")
        }
        return application(label).map(Resolution.application) ?? .unknown(label)
    }

    /// The first label of a host name with at least one dot; nil for an IP address or a single-label name.
    static func applicationLabel(host: String) -> String? {
        // The common case first, without allocating: an IPv4 address (with a port) or an IPv6 literal.
        let isDigit = { (byte: UInt8) in byte >= 0x30 && byte <= 0x39 }
        if host.hasPrefix("[") { return nil }
        if host.utf8.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":") }),
           host.utf8.count(where: { $0 == UInt8(ascii: ".") }) == 3, !host.contains(".."), !host.hasPrefix(".") {
            return nil  // four dotted numbers, maybe with a port
        }
        var name = Substring(host)
        if name.hasPrefix("[") { return nil }  // an IPv6 literal
        if let colon = name.lastIndex(of: ":") { name = name[..<colon] }
        if name == "." { return "" }
        if name.hasSuffix(".") { name = name.dropLast() }  // a fully qualified name's root dot
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count > 1, let first = labels.first else { return nil }
        if labels.contains(where: \.isEmpty) { return "" }  // `.localhost`, `a..b`: names no application
        if labels.count == 4, labels.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigitCharacter) }) { return nil }
        return String(first).lowercased()
    }
}

private extension Character {
    var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}
