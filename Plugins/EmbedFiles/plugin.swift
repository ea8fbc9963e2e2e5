import Foundation
import PackagePlugin

/// Turns the package's `fixtures/*.json`, the explorer's pages (`Sources/MockServer/Explorer/*.html`) and the commit
/// of its git checkout into Swift data for the target that uses this plugin (`EmbeddedFiles.swift`), so a binary
/// copied alone carries its default fixtures and pages and knows its commit. SwiftPM reruns the command when one of
/// those files, `.git/HEAD` or the branch's ref changes.
@main
struct EmbedFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let package = context.package.directoryURL
        let fixtures = package.appending(path: "fixtures")
        let files = try FileManager.default.contentsOfDirectory(at: fixtures, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let pageFolder = package.appending(path: "Sources/MockServer/Explorer")
        let pages = ((try? FileManager.default.contentsOfDirectory(at: pageFolder, includingPropertiesForKeys: nil)) ?? [])
            .filter { ["html", "svg"].contains($0.pathExtension) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) fixtures, \(pages.count) pages and the commit into \(target.name)",
                executable: try context.tool(named: "embed-files").url,
                arguments: [output.path, package.path] + (files + pages).map(\.path),
                inputFiles: files + pages + Self.gitInputs(package),
                outputFiles: [output])
        ]
    }

    /// The files whose change means another commit: `.git/HEAD`, the branch it names, and `packed-refs`.
    static func gitInputs(_ package: URL) -> [URL] {
        let git = package.appending(path: ".git")
        let head = git.appending(path: "HEAD")
        guard let text = try? String(contentsOf: head, encoding: .utf8) else { return [] }
        var inputs = [head]
        if text.hasPrefix("ref: ") {
            let ref = git.appending(path: text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines))
            if FileManager.default.fileExists(atPath: ref.path) { inputs.append(ref) }
        }
        let packed = git.appending(path: "packed-refs")
        if FileManager.default.fileExists(atPath: packed.path) { inputs.append(packed) }
        return inputs
    }
}
