import Foundation

/// The mock Microsoft Entra ID directory (fixtures/entra.json): tenants with their service principals, users and
/// groups. Read-only at run time in this version.
public struct EntraDirectory: Codable, Sendable {
    public struct ServicePrincipal: Codable, Sendable {
        public var displayName: String
        /// The application (client) id a client authenticates with.
        public var appId: String
        /// The enterprise application's object id: the `oid` of its tokens and the `objectId` of its IoT Central user.
        public var objectId: String
        public var secrets: [String]
        /// True for an app registration that allows public client flows ("Allow public client flows" in the
        /// portal): username/password sign-in without a secret, as for Microsoft's first-party clients. A client
        /// secret still serves the client-credentials grant. Absent: false (a confidential client).
        public var publicClient: Bool? = nil

        /// Whether user flows take this client without a secret (and refuse one).
        public var isPublicClient: Bool { publicClient ?? false }
    }

    public struct User: Codable, Sendable {
        public var displayName: String
        public var userPrincipalName: String
        public var objectId: String
        public var password: String
    }

    public struct Group: Codable, Sendable {
        public var displayName: String
        public var objectId: String
        /// Object ids of member users.
        public var members: [String]
    }

    /// An Azure subscription of a tenant, as Azure Resource Manager lists it (`GET /subscriptions`). The mock has
    /// no resources in it: it exists so that `az login` finds a subscription to select.
    public struct Subscription: Codable, Sendable {
        /// A GUID.
        public var subscriptionId: String
        public var displayName: String
    }

    public struct Tenant: Codable, Sendable {
        public var id: String
        /// The verified domain, e.g. `iotc-mock.example`; a tenant can be named by it in URLs. It has a dot, so no
        /// domain is ever a path word of Azure Resource Manager (`subscriptions`, `tenants`, `metadata`).
        public var domain: String
        /// The organization's name (`GET /tenants` shows it); the domain when the fixture names none.
        public var displayName: String
        public var servicePrincipals: [ServicePrincipal]
        public var users: [User]
        public var groups: [Group]
        /// Every identity of the tenant sees these (assumed: the mock has no Azure role assignments).
        public var subscriptions: [Subscription]

        enum CodingKeys: String, CodingKey {
            case id, domain, displayName, servicePrincipals, users, groups, subscriptions
        }

        public init(
            id: String, domain: String, displayName: String? = nil, servicePrincipals: [ServicePrincipal] = [],
            users: [User] = [], groups: [Group] = [], subscriptions: [Subscription] = []
        ) {
            self.id = id; self.domain = domain; self.displayName = displayName ?? domain
            self.servicePrincipals = servicePrincipals; self.users = users; self.groups = groups; self.subscriptions = subscriptions
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            domain = try container.decode(String.self, forKey: .domain)
            displayName = try container.decodeIfPresent(String.self, forKey: .displayName) ?? domain
            servicePrincipals = try container.decodeIfPresent([ServicePrincipal].self, forKey: .servicePrincipals) ?? []
            users = try container.decodeIfPresent([User].self, forKey: .users) ?? []
            groups = try container.decodeIfPresent([Group].self, forKey: .groups) ?? []
            subscriptions = try container.decodeIfPresent([Subscription].self, forKey: .subscriptions) ?? []
        }

        /// The groups `objectId` is a member of.
        public func groups(of objectId: String) -> [String] {
            groups.filter { $0.members.contains { $0.lowercased() == objectId.lowercased() } }.map(\.objectId)
        }
    }

    public var tenants: [Tenant]

    /// Reads the directory file.
    /// - Throws: an error naming the file when it cannot be read or decoded.
    public static func load(_ url: URL) throws -> EntraDirectory {
        do {
            return try load(Array(Data(contentsOf: url)), source: url.path)
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError(description: "\(url.path): \(error)")
        }
    }

    /// Decodes the directory from the bytes of a directory file; `source` names it in the error.
    /// - Throws: `LoadError` naming `source` when the bytes do not decode.
    public static func load(_ bytes: [UInt8], source: String) throws -> EntraDirectory {
        let directory: EntraDirectory
        do {
            directory = try JSONDecoder().decode(EntraDirectory.self, from: Data(bytes))
        } catch {
            throw LoadError(description: "\(source): \(error)")
        }
        for tenant in directory.tenants {
            guard UUID(uuidString: tenant.id) != nil else {
                throw LoadError(description: "\(source): the tenant id '\(tenant.id)' is not a GUID")
            }
            // Entra ID domains are DNS names; the dot also keeps them apart from Resource Manager's paths.
            guard tenant.domain.contains("."), !tenant.domain.contains("/") else {
                throw LoadError(description: "\(source): the tenant domain '\(tenant.domain)' must be a DNS name with a dot, such as contoso.example")
            }
            for subscription in tenant.subscriptions where UUID(uuidString: subscription.subscriptionId) == nil {
                throw LoadError(description: "\(source): the subscription id '\(subscription.subscriptionId)' is not a GUID")
            }
        }
        return directory
    }

    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The tenant named by a URL segment: its id (any case) or its domain.
    public func tenant(named name: String) -> Tenant? {
        let lowered = name.lowercased()
        return tenants.first { $0.id.lowercased() == lowered || $0.domain.lowercased() == lowered }
    }

    /// The tenant with this id.
    public func tenant(id: String) -> Tenant? { tenants.first { $0.id.lowercased() == id.lowercased() } }
}
