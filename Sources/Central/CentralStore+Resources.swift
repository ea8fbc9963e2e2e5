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

    /// Deletes a document; returns whether it existed.
    public func deleteResource(appID: String, kind: String, id: String) throws -> Bool {
        try !database.query("DELETE FROM resources WHERE app_id = ? AND kind = ? AND id = ? RETURNING seq", [.text(appID), .text(kind), .text(id)]).isEmpty
    }

    private static func document(_ row: SQLiteRow) -> JSONValue? {
        row[1].text.flatMap { try? JSONValue.parse(Array($0.utf8)) }
    }
}
