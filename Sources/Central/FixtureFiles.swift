import Foundation

/// Where fixture files (`roles.json`, `entra.json`, `<application fixture>.json`) come from: a folder of the
/// user's (`--fixtures`), read first, over the files compiled into the binary, so a binary copied alone works and
/// a folder may hold only the files it changes or adds.
public struct FixtureFiles: Sendable {
    /// The user's folder, or nil for the compiled-in files only.
    public let directory: URL?
    /// File name to contents: the repository's `fixtures/` as the binary was built.
    public let embedded: [String: [UInt8]]

    public init(directory: URL?, embedded: [String: [UInt8]]) {
        self.directory = directory
        self.embedded = embedded
    }

    /// The contents of the file `name`: the folder's when it has one, else the compiled-in one, else nil.
    /// - Throws: `Fixture.LoadError` when the folder has the file but it cannot be read.
    public func read(_ name: String) throws(Fixture.LoadError) -> [UInt8]? {
        if let directory {
            let url = directory.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) {
                guard let data = try? Data(contentsOf: url) else { throw Fixture.LoadError(message: "cannot read fixture file \(url.path)") }
                return Array(data)
            }
        }
        return embedded[name]
    }

    /// Where `name` is read from, for messages: its path in the folder, or `built-in fixtures/<name>`.
    public func source(of name: String) -> String {
        if let directory {
            let url = directory.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) || embedded[name] == nil { return url.path }
        }
        return "built-in fixtures/\(name)"
    }
}
