import Central
import Foundation
import HTTP

/// The web pages: the explorer (`/_mock/explorer`, a control-plane page) and the small page `/` shows a browser.
extension MockServer {
    /// The explorer page, embedded at build time from `Sources/MockServer/Explorer/explorer.html`.
    static let explorerPage: [UInt8] = EmbeddedFiles.pagesBase64["explorer.html"].flatMap { Data(base64Encoded: $0) }.map(Array.init)
        ?? Array("<!doctype html><title>iotc-mock</title><p>The explorer page was not built into this binary.".utf8)

    /// The page `GET /` shows a browser (a request whose `Accept` names `text/html`): what the server is and where
    /// the explorer is. Other clients get IoT Central's 404 there, as from the real service.
    static let landingPage: [UInt8] = Array("""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>iotc-mock</title>
        <style>body{font:15px/1.6 system-ui,sans-serif;color:#1f2328;max-width:640px;margin:48px auto;padding:0 20px}
        a{color:#0969da}code{font-family:ui-monospace,monospace;background:#f6f8fa;padding:1px 5px;border-radius:4px}</style></head>
        <body><h1>iotc-mock is running</h1>
        <p>An offline emulator of Azure IoT Central's REST API and of Microsoft Entra ID. Point your client at this
        address with an API token or a bearer token: <code>GET /api/users?api-version=2022-07-31</code>.</p>
        <p><a href="/_mock/explorer" id="explorer-link">Open the explorer</a>: the live journal of every request with
        who called and why it was allowed or refused, a what-if form, and the access matrix of the roles.</p>
        </body></html>
        """.utf8)

    /// The headers of a page: HTML, not cached, and a content security policy that allows nothing but the page's
    /// own inline script and style and requests to this server.
    static func page(_ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [
            ("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
            ("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
            ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
        ], body: body)
    }

    /// Whether `request` is a browser asking for `/`.
    static func wantsLandingPage(_ request: HTTPRequest) -> Bool {
        guard request.pathSegments.isEmpty, request.method == "GET" || request.method == "HEAD" else { return false }
        return request.headers.values("Accept").contains { $0.lowercased().contains("text/html") }
    }
}
