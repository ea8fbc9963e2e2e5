import ArgumentParser
import Foundation

/// `iotc-mock journal`: the journal of a running server, one line per request (who called, the decision and why),
/// or as JSON; `--follow` keeps printing new requests.
struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal", abstract: "Print the requests a running server answered, with who called and why each was allowed or refused.")
    @OptionGroup var client: ClientOptions
    @Option(help: "Only this application (id or subdomain).") var app: String?
    @Option(help: "Only this decision: allowed, denied, unauthenticated or none (repeatable).") var decision: [String] = []
    @Option(help: "Only this HTTP status (repeatable).") var status: [Int] = []
    @Option(help: "Only callers whose id or name contains this text (a token id, a user principal name, ...).") var principal: String?
    @Option(name: .customLong("operation"), help: "Only this operationId, e.g. Users_List.") var operationID: String?
    @Option(help: "At most the last this many.") var limit: Int?
    @Flag(help: "Keep printing new requests until interrupted.") var follow = false
    @Flag(help: "Print each entry as one line of JSON, trace included.") var json = false

    func run() throws {
        let client = try client.client()
        var query: [(String, String)] = []
        if let app { query.append(("app", app)) }
        query += decision.map { ("decision", $0) } + status.map { ("status", String($0)) }
        if let principal { query.append(("principal", principal)) }
        if let operationID { query.append(("operationId", operationID)) }
        if let limit { query.append(("limit", String(limit))) }
        var after: Int?
        repeat {
            var parameters = query
            if let after { parameters.append(("after", String(after))) }
            let target = "/_mock/journal" + (parameters.isEmpty ? "" : "?" + parameters.map { "\(ControlClient.escaped($0.0))=\(ControlClient.escaped($0.1))" }.joined(separator: "&"))
            let (code, body) = client.request("GET", target)
            guard code == 200, let answer = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                  let entries = answer["value"] as? [[String: Any]] else {
                FileHandle.standardError.write(Data("iotc-mock: GET \(target) failed: \(code == 0 ? "no answer from \(client.baseURL): " : "\(code) ")\(String(decoding: body, as: UTF8.self))\n".utf8))
                throw ExitCode(1)
            }
            for entry in entries {
                if json {
                    let line = (try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
                    FileHandle.standardOutput.write(line + Data("\n".utf8))
                } else {
                    FileHandle.standardOutput.write(Data((Self.line(entry) + "\n").utf8))
                }
            }
            after = (entries.last?["sequence"] as? Int) ?? after ?? (answer["lastSequence"] as? Int)
            if follow { Thread.sleep(forTimeInterval: 0.5) }
        } while follow
    }

    /// `2026-12-05 12:00:01 403 denied GET /api/users iotc-mock API token 'ci': <reason>`, with control characters
    /// escaped (a path or token id could otherwise forge lines or drive the terminal).
    static func line(_ entry: [String: Any]) -> String {
        let time = (entry["time"] as? String).map { String($0.prefix(19)).replacingOccurrences(of: "T", with: " ") } ?? "-"
        let parts = [
            time, String(entry["status"] as? Int ?? 0), entry["decision"] as? String ?? "-", entry["method"] as? String ?? "-",
            entry["path"] as? String ?? "-", entry["subdomain"] as? String ?? "-", entry["principalName"] as? String ?? "-",
        ]
        let reason = entry["reason"] as? String
        return printable(parts.joined(separator: " ") + (reason.map { ": " + $0 } ?? ""))
    }

    /// `text` with control characters (C0, DEL, C1) written as `\xNN`.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                out += "\\x" + String(scalar.value, radix: 16).uppercased().leftPadded(to: 2)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// `iotc-mock explain`: what a request would get, without sending it (`POST /_mock/apps/{app}/authorize`), or with
/// no request, every operation of an api-version with its decision for the caller.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say whether a caller may make a request, and why, without making it; without a request, list every operation with the caller's decision.",
        discussion: "Examples: iotc-mock explain --token-id ci GET /api/users; iotc-mock explain --user-id alice --operation Users_Create; iotc-mock explain --authorization \"$TOKEN\"")
    @OptionGroup var client: ClientOptions
    @Option(help: "The application (id or subdomain).") var app = "iotc-mock"
    @Option(help: "The caller as an Authorization header value.") var authorization: String?
    @Option(help: "The caller as the id of an API token of the application.") var tokenId: String?
    @Option(help: "The caller as the id of a user of the application (signed in with Entra ID).") var userId: String?
    @Option(name: .customLong("operation"), help: "The request as an operationId, e.g. Users_List.") var operationID: String?
    @Option(help: "The api-version.") var apiVersion = "2022-07-31"
    @Flag(help: "Print the answer as JSON, trace included.") var json = false
    @Argument(help: "The request: METHOD PATH, e.g. GET /api/users.") var request: [String] = []

    func validate() throws {
        guard [authorization, tokenId, userId].compactMap({ $0 }).count == 1 else {
            throw ValidationError("name the caller with exactly one of --authorization, --token-id or --user-id")
        }
        guard request.isEmpty || request.count == 2 else { throw ValidationError("give the request as METHOD PATH, e.g. GET /api/users") }
        guard request.isEmpty || operationID == nil else { throw ValidationError("give METHOD PATH or --operation, not both") }
    }

    func run() throws {
        var body: [String: Any] = ["apiVersion": apiVersion]
        body["authorization"] = authorization
        body["tokenId"] = tokenId
        body["userId"] = userId
        body["operationId"] = operationID
        if request.count == 2 { body["method"] = request[0]; body["path"] = request[1] }
        let client = try client.client()
        let path = "/_mock/apps/\(ControlClient.escaped(app))/authorize"
        let (code, data) = client.request("POST", path, body: try JSONSerialization.data(withJSONObject: body))
        guard code == 200, let answer = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            FileHandle.standardError.write(Data("iotc-mock: POST \(path) failed: \(code == 0 ? "no answer from \(client.baseURL): " : "\(code) ")\(String(decoding: data, as: UTF8.self))\n".utf8))
            throw ExitCode(1)
        }
        if json {
            let text = (try? JSONSerialization.data(withJSONObject: answer, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? data
            FileHandle.standardOutput.write(text + Data("\n".utf8))
            return
        }
        if let rows = answer["operations"] as? [[String: Any]] {
            FileHandle.standardOutput.write(Data((JournalCommand.printable("\(answer["principal"] as? String ?? "the caller"), api-version \(apiVersion):") + "\n").utf8))
            let width = rows.map { ($0["operationId"] as? String ?? "").count }.max() ?? 0
            for row in rows {
                let name = (row["operationId"] as? String ?? "").padding(toLength: width, withPad: " ", startingAt: 0)
                let access = (row["access"] as? String ?? "").padding(toLength: 12, withPad: " ", startingAt: 0)
                FileHandle.standardOutput.write(Data((JournalCommand.printable("  \(name)  \(access)  \(row["permission"] as? String ?? "")") + "\n").utf8))
            }
            return
        }
        let status = (answer["status"] as? Int).map(String.init) ?? "decided by the operation"
        // Each line escaped on its own: what the server echoes (paths, token ids) cannot add lines.
        var lines = ["\(answer["decision"] as? String ?? "?") (status \(status)): \(answer["reason"] as? String ?? "")"]
        if let trace = answer["trace"] as? [String: Any] {
            if let credential = trace["credential"] as? [String: Any] { lines.append("  caller: \(credential["readableName"] as? String ?? "?")") }
            for user in trace["matchedUsers"] as? [[String: Any]] ?? [] {
                lines.append("  matched user: \(user["id"] as? String ?? "?") (\(user["name"] as? String ?? "?"), by \(user["matchedBy"] as? String ?? "?"))")
            }
            for assignment in trace["assignments"] as? [[String: Any]] ?? [] {
                let place = (assignment["organization"] as? String).map { "'\($0)'" } ?? "the application"
                lines.append("  \(assignment["roleName"] as? String ?? "?") on \(place): \(assignment["verdict"] as? String ?? "")")
            }
        }
        FileHandle.standardOutput.write(Data((lines.map(JournalCommand.printable).joined(separator: "\n") + "\n").utf8))
        if answer["decision"] as? String != "allowed" { throw ExitCode(2) }
    }
}

extension String {
    /// The string with zeros before it up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
