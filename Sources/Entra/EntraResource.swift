/// A resource (an API) the mock Entra ID issues access tokens for: IoT Central, and Azure Resource Manager, which
/// `az login` calls to list subscriptions right after signing in.
///
/// A client names a resource by its identifier URI: in a v2.0 `scope` (`<identifier>/.default`, or for a user
/// `<identifier>/user_impersonation`) or a v1 `resource`. Names match in any case and with or without trailing
/// slashes (`https://management.core.windows.net//.default` is Azure CLI's own spelling). Any other resource is
/// refused with AADSTS500011, as Entra ID refuses a resource it does not know.
public enum EntraResource: String, Sendable, CaseIterable {
    /// `https://apps.azureiotcentral.com`: IoT Central's REST API (the resource of `az account get-access-token
    /// --resource https://apps.azureiotcentral.com`, IoT Central's "Authenticate and authorize" docs).
    case iotCentral = "https://apps.azureiotcentral.com"
    /// `https://management.core.windows.net/`: Azure Resource Manager by its classic identifier, which Azure CLI's
    /// cloud metadata names as `active_directory_resource_id`.
    case resourceManager = "https://management.core.windows.net/"
    /// `https://management.azure.com/`: Azure Resource Manager by its newer identifier.
    case resourceManagerByHost = "https://management.azure.com/"

    /// The `aud` of the tokens issued for it: the identifier URI (as Entra ID writes it).
    public var audience: String { rawValue }

    /// True for either identifier of Azure Resource Manager.
    public var isResourceManager: Bool { self != .iotCentral }

    /// The resource a client named, or nil for one the mock does not issue tokens for.
    public static func named(_ identifier: String) -> EntraResource? {
        let wanted = trimmed(identifier)
        return allCases.first { trimmed($0.rawValue) == wanted }
    }

    /// The resource of a v2.0 scope: `<identifier>/.default`, or for user flows also
    /// `<identifier>/user_impersonation`. Nil for any other scope.
    static func named(scope: String, userFlow: Bool) -> EntraResource? {
        let lowered = scope.lowercased()
        for suffix in ["/.default"] + (userFlow ? ["/user_impersonation"] : []) where lowered.hasSuffix(suffix) {
            return named(String(scope.dropLast(suffix.count)))
        }
        return nil
    }

    /// The audiences a token for this API may carry: both spellings of each identifier, with and without the
    /// trailing slash (Resource Manager accepts a token for either of its identifiers).
    var acceptedAudiences: Set<String> {
        let identifiers = isResourceManager ? [Self.resourceManager, .resourceManagerByHost].map(\.rawValue) : [rawValue]
        return Set(identifiers.flatMap { [Self.trimmed($0), Self.trimmed($0) + "/"] })
    }

    /// Lower-cased, without trailing slashes.
    private static func trimmed(_ text: String) -> String {
        var value = text.lowercased()
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }
}
