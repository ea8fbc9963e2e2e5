/// Handlers of `/api/roles` (the 2022-07-31 spec; spec operations Roles_List, Roles_Get).
extension CentralService {
    /// Roles_List: application roles (built-in and custom) and the built-in organization roles; custom
    /// organization roles are not listed (the 2022-07-31 spec). Never more than one page.
    func listRoles(_ context: RequestContext) -> Reply {
        let listed = context.roles.filter { $0.kind == .application || $0.isBuiltIn }
        return Reply(status: 200, body: .object([("value", .array(listed.map(\.json)))]))
    }

    func getRole(_ context: RequestContext) throws -> Reply {
        let id = context.parameter("roleId")
        guard let role = context.roles.first(where: { $0.id == id.lowercased() }) else {
            throw CentralError.notFound("role", id: id)
        }
        return Reply(status: 200, body: role.json)
    }
}
