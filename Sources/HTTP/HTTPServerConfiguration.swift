/// Limits and addresses for an `HTTPServer`. Times are in seconds, sizes in bytes.
public struct HTTPServerConfiguration: Sendable {
    /// Address to bind: an IPv4 or IPv6 literal (`127.0.0.1`, `::1`, `0.0.0.0`) or `localhost`.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 lets the kernel pick a free one (read it back from `HTTPServer.port`).
    public var port: Int = 0
    /// Connections served at once (lowered to fit the descriptor limit). Past it the longest-idle connection is
    /// evicted, or the new one answered 503 and closed.
    public var maxConnections: Int = 10_000
    /// Request line plus header section, in bytes; larger is answered 431.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Request body, in bytes; a larger `Content-Length` is answered 413 before the body is read.
    public var maxBodyBytes: Int = 1024 * 1024
    /// A read in the middle of a request that waits longer than this closes the connection; a request body must
    /// also arrive whole within this many seconds of the end of its head (408 otherwise).
    public var readTimeout: Double = 30
    /// A keep-alive connection with no request in progress is closed after this many idle seconds.
    public var idleTimeout: Double = 15
    /// The whole request head (request line and headers) must arrive within this many seconds of its first byte,
    /// however slowly it trickles in; otherwise the answer is 408 and the connection closes (slowloris defence).
    public var headerTimeout: Double = 10
    /// A write that cannot make progress for this long closes the connection.
    public var writeTimeout: Double = 30

    /// When set, the port also speaks TLS: a connection whose first byte is a TLS handshake record (0x16) is
    /// served over TLS with this context, any other connection as plain HTTP.
    public var tls: TLSContext?

    public init() {}
}
