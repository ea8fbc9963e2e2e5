/// The operations the mock knows, with the permission each needs (2022-07-31 paths and operationIds).
/// Every operation here is emulated; the rest of the spec's catalog arrives with the authorization issue.
public enum OperationCatalog {
    public static let operations: [Operation] = [
        Operation(method: "GET", path: "/apiTokens", operationID: "ApiTokens_List", permission: "apiTokens.view"),
        Operation(method: "GET", path: "/apiTokens/{tokenId}", operationID: "ApiTokens_Get", permission: "apiTokens.view"),
        Operation(method: "PUT", path: "/apiTokens/{tokenId}", operationID: "ApiTokens_Create", permission: "apiTokens.create"),
        Operation(method: "DELETE", path: "/apiTokens/{tokenId}", operationID: "ApiTokens_Remove", permission: "apiTokens.delete"),
        Operation(method: "GET", path: "/users", operationID: "Users_List", permission: "users.view"),
        Operation(method: "GET", path: "/users/{userId}", operationID: "Users_Get", permission: "users.view"),
        Operation(method: "PUT", path: "/users/{userId}", operationID: "Users_Create", permission: "users.add"),
        Operation(method: "PATCH", path: "/users/{userId}", operationID: "Users_Update", permission: "users.add"),
        Operation(method: "DELETE", path: "/users/{userId}", operationID: "Users_Remove", permission: "users.delete"),
        Operation(method: "GET", path: "/roles", operationID: "Roles_List", permission: "customRoles.view"),
        Operation(method: "GET", path: "/roles/{roleId}", operationID: "Roles_Get", permission: "customRoles.view"),
    ]

    /// The result of routing a path and method.
    public enum Match: Sendable {
        case operation(Operation, parameters: [String: String])
        /// The path exists, but not with this method; the methods it has.
        case methodNotAllowed(allowed: [String])
        case noSuchPath
    }

    /// Finds the operation for `method` on `segments` (the path after `/api`).
    public static func match(method: String, segments: [String]) -> Match {
        var allowed: [String] = []
        for operation in operations {
            guard let parameters = operation.match(segments) else { continue }
            if operation.method == method { return .operation(operation, parameters: parameters) }
            allowed.append(operation.method)
        }
        return allowed.isEmpty ? .noSuchPath : .methodNotAllowed(allowed: allowed)
    }
}
