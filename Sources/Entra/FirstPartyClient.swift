/// A Microsoft first-party public client application: registered once by Microsoft and usable in every tenant
/// without a secret, which is how `az login -u`, Azure PowerShell and Visual Studio Code sign users in.
///
/// The ids are Microsoft's published application ids ("Verify first-party Microsoft applications in sign-in
/// reports", learn.microsoft.com; azure-identity's `DEVELOPER_SIGN_ON_CLIENT_ID` and `AZURE_VSCODE_CLIENT_ID`).
/// As in Entra ID, a public client must not send a secret (AADSTS700025), and it cannot use the client-credentials
/// grant, which needs one.
public struct FirstPartyClient: Sendable, Equatable {
    /// The application (client) id, a lower-case GUID.
    public let appId: String
    public let displayName: String

    /// Azure CLI, Azure PowerShell and Visual Studio Code.
    public static let all: [FirstPartyClient] = [
        FirstPartyClient(appId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", displayName: "Microsoft Azure CLI"),
        FirstPartyClient(appId: "1950a258-227b-4e31-a9cf-717495945fc2", displayName: "Microsoft Azure PowerShell"),
        FirstPartyClient(appId: "aebc6443-996d-45c2-90f0-388ff96faa56", displayName: "Visual Studio Code"),
    ]

    /// The first-party client with this id (any case), or nil.
    public static func named(_ clientID: String) -> FirstPartyClient? {
        let lowered = clientID.lowercased()
        return all.first { $0.appId == lowered }
    }
}
