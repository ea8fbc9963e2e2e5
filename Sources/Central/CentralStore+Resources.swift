import Storage

/// Resources kept as JSON documents of a kind (`deviceGroup`, ...), per application (migration 6). A write is one
/// statement; the caller validates the document first.
extension CentralStore {
    public func resource(appID: String, kind: String, id: String) throws -> JSONValue? {
        try database.query("SELECT seq, document FROM resources WHERE app_id = ? AND kind = ? AND id = ?", [.text(appID), .text(kind), .text(id)])
            .first.flatMap(Self.document)
    }

    /// Every document of a kind, in creation order, with its cursor.
    public func resources(appID: String, kind: String) throws -> [(cursor: Int64, document: JSONValue)] {
        try database.query("SELECT seq, document FROM resources WHERE app_id = ? AND kind = ? ORDER BY seq", [.text(appID), .text(kind)])
            .compactMap { row in Self.document(row).map { (row[0].integer ?? 0, $0) } }
    }

    /// Creates the document, or replaces the one with the same kind and id (keeping its place in lists).
    public func save(resource document: JSONValue, appID: String, kind: String, id: String) throws {
        try database.query(
            """
            INSERT INTO resources (app_id, kind, id, document) VALUES (?, ?, ?, ?)
            ON CONFLICT (app_id, kind, id) DO UPDATE SET document = excluded.document
            """,
            [.text(appID), .text(kind), .text(id), .text(String(decoding: document.serialized, as: UTF8.self))])
    }

    /// Creates the document unless one of that kind and id exists; returns whether it did (one statement, so of two
    /// writers racing on one id exactly one succeeds).
    public func insert(resource document: JSONValue, appID: String, kind: String, id: String) throws -> Bool {
        try !database.query(
            "INSERT INTO resources (app_id, kind, id, document) VALUES (?, ?, ?, ?) ON CONFLICT (app_id, kind, id) DO NOTHING RETURNING seq",
            [.text(appID), .text(kind), .text(id), .text(String(decoding: document.serialized, as: UTF8.self))]).isEmpty
    }

    /// Sets top-level members of a stored document in place (JSON `json_set`), leaving the others as they are, so a
    /// writer of some members does not undo a concurrent writer of others. Names are the mock's own (`_outcomes`).
    public func setMembers(_ members: [(String, JSONValue)], ofResource id: String, kind: String, appID: String) throws {
        guard !members.isEmpty else { return }
        let paths = members.map { _ in "?, json(?)" }.joined(separator: ", ")
        var values: [SQLiteValue] = []
        for (name, value) in members {
            values.append(.text("$.\"\(name)\""))
            values.append(.text(String(decoding: value.serialized, as: UTF8.self)))
        }
        try database.query(
            "UPDATE resources SET document = json_set(document, \(paths)) WHERE app_id = ? AND kind = ? AND id = ?",
            values + [.text(appID), .text(kind), .text(id)])
    }

    /// Deletes a document; returns whether it existed.
    public func deleteResource(appID: String, kind: String, id: String) throws -> Bool {
        try !database.query("DELETE FROM resources WHERE app_id = ? AND kind = ? AND id = ? RETURNING seq", [.text(appID), .text(kind), .text(id)]).isEmpty
    }

    private static func document(_ row: SQLiteRow) -> JSONValue? {
        row[1].text.flatMap { try? JSONValue.parse(Array($0.utf8)) }
    }
}
