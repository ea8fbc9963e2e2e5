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

    public struct Tenant: Codable, Sendable {
        public var id: String
        /// The verified domain, e.g. `iotc-mock.example`; a tenant can be named by it in URLs.
        public var domain: String
        public var servicePrincipals: [ServicePrincipal]
        public var users: [User]
        public var groups: [Group]

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
        do {
            return try JSONDecoder().decode(EntraDirectory.self, from: Data(bytes))
        } catch {
            throw LoadError(description: "\(source): \(error)")
        }
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
