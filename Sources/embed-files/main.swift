import Foundation

// embed-files OUTPUT PACKAGE_DIR FILE...
// Writes OUTPUT, a Swift file with `EmbeddedFiles.fixturesBase64` (the bytes of each FILE under `fixtures/`, base64,
// by file name), `EmbeddedFiles.pagesBase64` (the same for every other FILE: the explorer's web pages) and
// `EmbeddedFiles.commit` (the git commit of PACKAGE_DIR, from IOTC_MOCK_COMMIT when set, else "unknown").
// Run by the EmbedFiles build-tool plugin; the output is written only when it changes.

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: embed-files OUTPUT PACKAGE_DIR FILE...\n".utf8))
    exit(64)
}
let output = URL(fileURLWithPath: arguments[1])
let package = URL(fileURLWithPath: arguments[2])

/// The commit `HEAD` names, read from the files of `.git` (a checkout, a worktree or a submodule).
func commit(of package: URL) -> String? {
    var git = package.appendingPathComponent(".git")
    if let pointer = try? String(contentsOf: git, encoding: .utf8), pointer.hasPrefix("gitdir: ") {
        let path = pointer.dropFirst(8).trimmingCharacters(in: .whitespacesAndNewlines)
        git = path.hasPrefix("/") ? URL(fileURLWithPath: path) : package.appendingPathComponent(path)
    }
    guard let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
    guard head.hasPrefix("ref: ") else { return head }
    let ref = String(head.dropFirst(5))
    // A worktree keeps its refs in the common folder.
    var folders = [git]
    if let common = try? String(contentsOf: git.appendingPathComponent("commondir"), encoding: .utf8) {
        let path = common.trimmingCharacters(in: .whitespacesAndNewlines)
        folders.append(path.hasPrefix("/") ? URL(fileURLWithPath: path) : git.appendingPathComponent(path))
    }
    for folder in folders {
        if let value = try? String(contentsOf: folder.appendingPathComponent(ref), encoding: .utf8) {
            return value.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let packed = try? String(contentsOf: folder.appendingPathComponent("packed-refs"), encoding: .utf8) {
            for line in packed.split(separator: "\n") where line.hasSuffix(" " + ref) {
                return String(line.prefix { $0 != " " })
            }
        }
    }
    return nil
}

let environment = ProcessInfo.processInfo.environment["IOTC_MOCK_COMMIT"].flatMap { $0.isEmpty ? nil : $0 }
let hash = (environment ?? commit(of: package) ?? "unknown").filter { $0.isLetter || $0.isNumber }
var text = """
    // Generated at build time by Sources/embed-files from fixtures/ and the git checkout; do not edit.

    enum EmbeddedFiles {
        /// The git commit this binary was built from, or "unknown".
        static let commit = "\(hash)"

        /// The files of `fixtures/`, by file name, base64-encoded.
        static let fixturesBase64: [String: String] = [

    """
/// The dictionary literal entries of `paths`, by file name.
func entries(_ paths: [String]) -> String {
    var lines = ""
    for path in paths {
        let url = URL(fileURLWithPath: path)
        // Names are letters, digits, '.', '-' and '_'; another name could not be a Swift string literal as it is.
        guard url.lastPathComponent.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            FileHandle.standardError.write(Data("embed-files: skipping \(path): not a plain file name\n".utf8))
            continue
        }
        guard let data = try? Data(contentsOf: url) else {
            FileHandle.standardError.write(Data("embed-files: cannot read \(path)\n".utf8))
            exit(1)
        }
        lines += "        \"\(url.lastPathComponent)\": \"\(data.base64EncodedString())\",\n"
    }
    return lines.isEmpty ? "        :\n" : lines
}
let files = arguments.dropFirst(3)
let fixtureFolder = package.appendingPathComponent("fixtures").standardizedFileURL.path + "/"
let fixtureFiles = files.filter { URL(fileURLWithPath: $0).standardizedFileURL.path.hasPrefix(fixtureFolder) }
text += entries(fixtureFiles) + "    ]\n\n"
text += "    /// The explorer's web pages, by file name, base64-encoded.\n    static let pagesBase64: [String: String] = [\n"
text += entries(files.filter { !fixtureFiles.contains($0) }) + "    ]\n}\n"
if (try? String(contentsOf: output, encoding: .utf8)) != text {
    do { try text.write(to: output, atomically: true, encoding: .utf8) } catch {
        FileHandle.standardError.write(Data("embed-files: cannot write \(output.path): \(error)\n".utf8))
        exit(1)
    }
}
