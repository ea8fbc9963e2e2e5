import Central
import Entra
import Foundation
import HTTP

/// Routing of one request: the control plane, the application by `Host`, injected faults, throttling, then IoT
/// Central (`/api/...`), Azure Resource Manager's sign-in endpoints (`/subscriptions`, `/tenants`, `/metadata/...`)
/// or the mock Entra ID (`/{tenant}/...`); every answer is journaled (except the control plane's) and logged.
extension MockServer {
    /// Answers one request; `pinned` is the id of the application whose own port it arrived on (then `/api`
    /// serves that application whatever the `Host` header says).
    func respond(to request: HTTPRequest, pinned: String? = nil) -> HTTPResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        let segments = request.pathSegments
        let first = segments.first?.lowercased() ?? ""
        let path = "/" + segments.joined(separator: "/")
        if first == "_mock" {
            let response = control(request, pinned: pinned)
            finish(request, path: path, response: response, application: nil, outcome: RequestOutcome(), started: started, journaled: false)
            return response
        }
        if Self.wantsLandingPage(request) {
            let response = Self.page(Self.landingPage)
            finish(request, path: path, response: response, application: nil, outcome: RequestOutcome(), started: started, journaled: false)
            return response
        }
        let host = request.headers["Host"]
        let baseURL = Self.baseURL(host: host, listening: configuration.host, port: request.localPort, tls: request.isTLS)
        var application: Application?
        var outcome = RequestOutcome()
        let response: HTTPResponse
        if first == "api", Self.hasEmptySegment(request.path) {
            // The real router matches no route with an empty segment (`/api//users`); a trailing slash is fine.
            response = HTTPResponse(service.errorResponse(.noSuchPath(request.path)))
        } else if first == "api" {
            let resolution = pinned.map { id in registry.application(id).map(ApplicationRegistry.Resolution.application) ?? .unknown(id) }
                ?? registry.resolve(host: host)
            switch resolution {
            case .unknown(let label):
                response = HTTPResponse(service.errorResponse(CentralError(
                    status: 404, code: "NotFound",
                    message: "No application answers to the host name '\(label.clipped)'; create one with POST /_mock/apps, or use an IP address or localhost for the default application.")))
            case .application(let found):
                application = found
                (response, outcome) = serveCentral(request, path: path, application: found, baseURL: baseURL)
            }
        } else if let resourceManager, ResourceManager.pathWords.contains(first) {
            // Azure Resource Manager's sign-in endpoints (no tenant is named so: ids are GUIDs, domains have dots).
            if let fault = faults.take(method: request.method, path: path, application: nil) {
                outcome.reason = Self.faultReason(fault)
                response = HTTPResponse(service.errorResponse(CentralError(
                    status: fault.status, code: Self.code(for: fault.status), message: "The request failed with an injected fault.",
                    headers: fault.retryAfterHeader, reason: outcome.reason)))
            } else {
                response = Self.explained(HTTPResponse(resourceManager.handle(ResourceManager.Request(
                    method: request.method, path: segments, query: request.query, authorization: request.headers["Authorization"],
                    baseURL: baseURL))), outcome: &outcome)
            }
        } else if let entra, segments.count >= 2 {
            if let fault = faults.take(method: request.method, path: path, application: nil) {
                outcome.reason = Self.faultReason(fault)
                response = Self.oauthFault(fault, reason: outcome.reason ?? "")
            } else {
                response = Self.explained(HTTPResponse(entra.handle(EntraService.Request(
                    method: request.method, tenant: segments[0], path: Array(segments.dropFirst()), query: request.query,
                    baseURL: baseURL, contentType: request.headers["Content-Type"], authorization: request.headers["Authorization"],
                    body: request.body))), outcome: &outcome)
            }
        } else {
            response = HTTPResponse(service.errorResponse(.noSuchPath(request.path)))
        }
        finish(request, path: path, response: response, application: application, outcome: outcome, started: started, journaled: true)
        return response
    }

    /// Whether a path has an empty segment before its end (`//`), as in `/api//users`.
    static func hasEmptySegment(_ path: String) -> Bool { path.contains("//") }

    /// An Entra or Resource Manager refusal with the mock's reason header and journal reason: their own words
    /// (`error_description`, or `error.message`), as IoT Central refusals carry theirs.
    static func explained(_ response: HTTPResponse, outcome: inout RequestOutcome) -> HTTPResponse {
        guard response.status >= 400, let body = try? JSONValue.parse(response.body),
              let reason = body["error_description"]?.stringValue ?? body["error"]?["message"]?.stringValue
        else { return response }
        var answer = response
        outcome.reason = reason
        answer.headers.add(CentralService.reasonHeader, CentralService.headerSafe(reason))
        return answer
    }

    static func faultReason(_ fault: FaultInjector.Fault) -> String {
        "injected fault #\(fault.id) (\(fault.method) \(fault.path), \(fault.remaining) left)"
    }

    /// The scheme, host and port the client used: the `Host` header with its port, or with the port the connection
    /// arrived on when it names none (and that is not the scheme's default); the listening address when there is
    /// no `Host` (HTTP/1.0). Every absolute URL the server answers (`nextLink`, discovery documents) starts with it.
    static func baseURL(host: String?, listening: String, port: Int, tls: Bool) -> String {
        let scheme = tls ? "https://" : "http://"
        guard let host, !host.isEmpty else { return scheme + authority(host: listening, port: port) }
        let hasPort = host.hasPrefix("[") ? host.contains("]:") : host.contains(":")
        let defaultPort = tls ? 443 : 80
        guard !hasPort, port > 0, port != defaultPort else { return scheme + host }
        return scheme + host + ":" + String(port)
    }

    /// An `/api` request for a known application: injected faults, then throttling, then IoT Central.
    private func serveCentral(_ request: HTTPRequest, path: String, application: Application, baseURL: String) -> (HTTPResponse, RequestOutcome) {
        if let fault = faults.take(method: request.method, path: path, application: application.id) {
            let reason = Self.faultReason(fault)
            var response = service.errorResponse(CentralError(
                status: fault.status, code: Self.code(for: fault.status),
                message: "The request failed with an injected fault.", headers: fault.retryAfterHeader, reason: reason))
            response.outcome.reason = reason
            return (HTTPResponse(response), response.outcome)
        }
        if let wait = rateLimiter.admit(application.id) {
            let limit = rateLimiter.requestsPerSecond ?? 20
            let reason = "throttled: more than \(limit) requests per second to this application"
            var response = service.errorResponse(CentralError(
                status: 429, code: "TooManyRequests",
                message: "The application received more than \(limit) requests per second; retry after \(wait) s.",
                headers: [("Retry-After", String(wait))], reason: reason))
            response.outcome.reason = reason
            return (HTTPResponse(response), response.outcome)
        }
        let central = CentralRequest(
            method: request.method, pathSegments: Array(request.pathSegments.dropFirst()), query: request.query,
            authorization: request.headers.values("Authorization"), contentType: Self.contentType(request.headers),
            baseURL: baseURL, body: request.body)
        let response = service.handle(central, application: application)
        return (HTTPResponse(response), response.outcome)
    }

    /// Journals (unless a control-plane call) and logs one answered request.
    private func finish(
        _ request: HTTPRequest, path: String, response: HTTPResponse, application: Application?, outcome: RequestOutcome,
        started: UInt64, journaled: Bool
    ) {
        guard journaled || requestLog != nil else { return }
        let entry = JournalEntry(
            time: clock.nowMilliseconds(), requestID: response.headers[CentralService.requestIDHeader], method: request.method,
            path: path, application: application?.id, subdomain: application?.subdomain, status: response.status, outcome: outcome,
            durationMilliseconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
        if journaled { journal.record(entry) }
        requestLog?.log(entry, subdomain: application?.subdomain)
    }

    /// An injected fault on a mock Entra ID path, in the OAuth error shape its clients expect.
    static func oauthFault(_ fault: FaultInjector.Fault, reason: String) -> HTTPResponse {
        let body = JSONValue.object([
            ("error", .string(fault.status >= 500 ? "temporarily_unavailable" : "invalid_request")),
            ("error_description", .string("The request failed with injected fault #\(fault.id) of iotc-mock.")),
        ])
        let headers = [
            ("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store"),
            (CentralService.reasonHeader, CentralService.headerSafe(reason)),
        ]
        return HTTPResponse(status: fault.status, headers: headers + fault.retryAfterHeader, body: body.serialized)
    }

    static func code(for status: Int) -> String {
        switch status {
        case 400: "BadRequest"
        case 401: "Unauthenticated"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 408: "RequestTimeout"
        case 409: "Conflict"
        case 412: "PreconditionFailed"
        case 413: "PayloadTooLarge"
        case 422: "InvalidBody"
        case 429: "TooManyRequests"
        case 431: "RequestHeaderFieldsTooLarge"
        case 501: "NotImplemented"
        case 502: "BadGateway"
        case 503: "ServiceUnavailable"
        case 504: "GatewayTimeout"
        case 505: "HTTPVersionNotSupported"
        case 500...: "InternalServerError"
        default: "BadRequest"
        }
    }
}
