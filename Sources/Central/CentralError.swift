/// An IoT Central error before rendering: status, `error.code`, and the first part of `error.message`.
/// `CentralService` renders it once as the envelope of the spec's Error definition, adding the support sentence, the request id
/// and the time, and the `x-ms-error-code` header.
public struct CentralError: Error, Sendable, Equatable {
    /// HTTP status code.
    public let status: Int
    /// `error.code`, e.g. `Unauthenticated` (documented) or `InvalidBody` (assumed, see docs/fidelity.md).
    public let code: String
    /// What went wrong, one or more sentences; the support sentence is appended on rendering.
    public let message: String
    /// Extra response headers (e.g. `Allow` on 405).
    public var headers: [(String, String)] = []
    /// Why a 401 or 403 was given, for the `x-iotc-mock-reason` header, the journal and the log; the envelope
    /// keeps the real service's wording.
    public var reason: String?

    public init(status: Int, code: String, message: String, headers: [(String, String)] = [], reason: String? = nil) {
        self.status = status; self.code = code; self.message = message; self.headers = headers; self.reason = reason
    }

    public static func == (lhs: CentralError, rhs: CentralError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.message == rhs.message
    }

    /// 401: the header is missing, malformed, of another scheme, forged, expired or revoked. The message is the
    /// one confirmed for the real service (the spec's Error definition); it deliberately does not say which check failed.
    public static let unauthenticated = CentralError(
        status: 401, code: "Unauthenticated", message: "The provided authentication token is invalid.")

    /// The same 401, with the mock's own account of which check failed (`reason`, not shown in the envelope).
    public static func unauthenticated(because reason: String) -> CentralError {
        var error = unauthenticated
        error.reason = reason
        return error
    }

    /// 403: the caller is known but its role assignments do not allow what it asked (the spec's Error definition; code and
    /// wording assumed). `reason` says which permission, role or scope is missing.
    public static func forbidden(_ reason: String) -> CentralError {
        CentralError(status: 403, code: "Forbidden", message: "The caller is not allowed to do this: \(reason)", reason: reason)
    }

    /// 404 for an operation that exists in other api-versions but not in `version` (assumed wording).
    public static func operationNotInVersion(_ operationID: String, version: String) -> CentralError {
        CentralError(status: 404, code: "NotFound", message: "The operation \(operationID) does not exist in api-version \(version.clipped).")
    }

    /// 501 for a documented operation the mock does not emulate, after authentication, api-version and
    /// authorization passed (assumed, docs/fidelity.md).
    public static func notImplemented(_ operationID: String) -> CentralError {
        CentralError(
            status: 501, code: "NotImplemented",
            message: "iotc-mock does not emulate \(operationID). The request passed authentication, the api-version check and authorization.")
    }

    /// 422 for a request that is understood but conflicts with the stored state (code given; assumed, since the
    /// service documents no 409).
    public static func unprocessable(code: String, _ message: String) -> CentralError {
        CentralError(status: 422, code: code, message: message)
    }

    /// 409 for a create of an item that exists and cannot be replaced (a job id; assumed, docs/fidelity.md).
    public static func conflict(_ message: String) -> CentralError {
        CentralError(status: 409, code: "Conflict", message: message)
    }

    /// 404 for an item that does not exist (the spec's Error definition; wording assumed).
    public static func notFound(_ what: String, id: String) -> CentralError {
        CentralError(status: 404, code: "NotFound", message: "The \(what) '\(id.clipped)' was not found.")
    }

    /// 404 for a method and path that other api-versions have but this one does not, with no operation of this
    /// method on the path in any version (wording assumed).
    public static func noOperationInVersion(_ method: String, path: String, version: String) -> CentralError {
        CentralError(status: 404, code: "NotFound", message: "No operation matches \(method.clipped) \(path.clipped) in api-version \(version.clipped).")
    }

    /// 404 for a path no operation of any version has (wording assumed).
    public static func noSuchPath(_ path: String) -> CentralError {
        CentralError(status: 404, code: "NotFound", message: "No operation matches the path '\(path.clipped)'.")
    }

    /// 404 for a missing or unknown `api-version` (the IoT Central REST API reference: message seen for an invalid value).
    public static func invalidAPIVersion(_ value: String?) -> CentralError {
        guard let value else {
            return CentralError(
                status: 404, code: "NotFound",
                message: "The api-version query parameter is required, e.g. ?api-version=2022-07-31.")
        }
        return CentralError(status: 404, code: "NotFound", message: "\"\(value.clipped)\" is not a valid API version.")
    }

    /// 405 with an `Allow` header for a known path and another method (assumed).
    public static func methodNotAllowed(_ method: String, allowed: [String]) -> CentralError {
        CentralError(
            status: 405, code: "MethodNotAllowed",
            message: "The method \(method.clipped) is not allowed on this path; allowed: \(allowed.joined(separator: ", ")).",
            headers: [("Allow", allowed.joined(separator: ", "))])
    }

    /// 400 for a request the service cannot understand: not JSON, bad query values (the spec's Error definition; code assumed).
    public static func badRequest(_ message: String) -> CentralError {
        CentralError(status: 400, code: "BadRequest", message: message)
    }

    /// 400 for a body that names a role, organization or parent that does not exist. The one public report of a
    /// missing reference (https://github.com/MicrosoftDocs/azure-docs/issues/110004: a device naming an organization) got 400; the code
    /// is assumed (docs/fidelity.md).
    public static func missingReference(_ message: String) -> CentralError {
        CentralError(status: 400, code: "InvalidBody", message: message)
    }

    /// 422 for a body that parsed but failed validation (the spec's Error definition; code assumed).
    public static func invalidBody(_ message: String) -> CentralError {
        CentralError(status: 422, code: "InvalidBody", message: message)
    }

    /// 415 for a body whose `Content-Type` is not one the operation takes (assumed).
    public static func unsupportedMediaType(_ contentType: String, accepted: [String]) -> CentralError {
        CentralError(
            status: 415, code: "UnsupportedMediaType",
            message: "The content type '\(contentType.clipped)' is not supported here; use \(accepted.joined(separator: " or ")).")
    }

    /// 500 for a failure of the mock itself (storage), never for client input.
    public static func internalError(_ message: String) -> CentralError {
        CentralError(status: 500, code: "InternalServerError", message: message)
    }
}
