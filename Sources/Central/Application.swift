/// An IoT Central application as the mock keeps it.
public struct Application: Sendable, Equatable {
    /// The application id, a lowercase GUID; also the `sr` of its API token strings ("Authenticate and authorize IoT Central REST API calls").
    public let id: String
    /// The host label of `https://{subdomain}.azureiotcentral.com`.
    public let subdomain: String
    public let displayName: String
    /// The port of its own the server listens on for this application alone: a number, 0 for any free port, or
    /// nil for none (it is reached through the server's port and the `Host` header). Not part of the real
    /// service: it lets clients that cannot resolve `{subdomain}.localhost` reach every application.
    public let port: Int?

    public init(id: String, subdomain: String, displayName: String, port: Int? = nil) {
        self.id = id; self.subdomain = subdomain; self.displayName = displayName; self.port = port
    }
}
