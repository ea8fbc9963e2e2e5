/// What Central decided about one request, for the journal and the request log (emulator convention: "say exactly
/// why"): the operation, the permission it needs, who called, and whether authorization let it through.
public struct RequestOutcome: Sendable, Equatable {
    /// The authorization decision.
    public enum Decision: String, Sendable, Equatable {
        /// Routing or the api-version check refused the request before anyone was asked who called.
        case none
        /// 401: the Authorization header did not verify.
        case unauthenticated
        /// 403: the caller's role assignments do not allow it.
        case denied
        /// Authorization passed (the handler may still refuse the body, or answer 404).
        case allowed
    }

    /// The spec's operationId, once routing found one.
    public var operationID: String?
    /// The permission the operation needs.
    public var permission: String?
    /// Who called, once authenticated: `apiToken:<id>` or `bearer:<tenant>/<object>`.
    public var principal: String?
    /// Who called, for a person: `API token 'ci'`, a user principal name, `service principal 'Pipeline'`.
    public var principalName: String?
    public var decision: Decision = .none
    /// Why a request was refused (the `x-iotc-mock-reason` of a 401 or 403, or the error message otherwise), or
    /// which role assignments allowed it.
    public var reason: String?
    /// The evidence behind the decision, once routing found an operation.
    public var trace: DecisionTrace?

    public init(operationID: String? = nil, permission: String? = nil, principal: String? = nil, decision: Decision = .none, reason: String? = nil) {
        self.operationID = operationID; self.permission = permission; self.principal = principal
        self.decision = decision; self.reason = reason
    }
}
