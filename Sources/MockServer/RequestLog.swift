import Central
import Foundation
import Synchronization

/// One line per request on standard error: method, path, app, principal (its id and readable name), status, reason
/// and milliseconds, as `key=value` text or as one JSON object per line (the journal entry without its trace).
public final class RequestLog: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case text
        case json
    }

    public let format: Format
    private let write: @Sendable (String) -> Void

    /// - Parameter write: where each line goes (standard error unless a test captures it).
    public init(format: Format, write: @escaping @Sendable (String) -> Void = RequestLog.standardError) {
        self.format = format
        self.write = write
    }

    /// Writes a line in one `write(2)`, so lines from many connections never interleave. A line that standard error
    /// cannot take at once (a pipe nobody reads is full) is dropped rather than waited for, so a log reader that
    /// stops reading never stalls the server; the next line that gets through says how many were dropped.
    public static let standardError: @Sendable (String) -> Void = { line in
        var pfd = pollfd(fd: 2, events: Int16(POLLOUT), revents: 0)
        guard poll(&pfd, 1, 0) == 1, pfd.revents & Int16(POLLOUT) != 0 else {
            droppedLines.wrappingAdd(1, ordering: .relaxed)
            return
        }
        var bytes: [UInt8] = []
        let dropped = droppedLines.exchange(0, ordering: .relaxed)
        if dropped > 0 { bytes += Array("iotc-mock: \(dropped) log line\(dropped == 1 ? " was" : "s were") dropped: standard error was not being read\n".utf8) }
        bytes += Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        _ = bytes.withUnsafeBytes { Foundation.write(2, $0.baseAddress, $0.count) }
    }

    /// Lines `standardError` dropped since the last one it wrote.
    private static let droppedLines = Atomic<Int>(0)

    /// A line about the server itself (a certificate made at start): `iotc-mock: <message>` as text, or
    /// `{"time", "notice"}` as JSON, so the log stays one format.
    func notice(_ message: String, time: Int64) {
        switch format {
        case .json:
            write(String(decoding: JSONValue.object([("time", .string(Timestamp.iso8601(milliseconds: time))), ("notice", .string(message))]).serialized, as: UTF8.self))
        case .text:
            write("iotc-mock: " + message)
        }
    }

    func log(_ entry: JournalEntry, subdomain: String?) {
        switch format {
        case .json:
            // The journal's fields but the trace (kept in the journal: `GET /_mock/journal/{requestId}`).
            var fields: [(String, JSONValue)] = []
            if case .object(let members) = entry.json { fields = members.filter { $0.0 != "trace" && $0.0 != "sequence" } }
            if let index = fields.firstIndex(where: { $0.0 == "subdomain" }) { fields[index].1 = subdomain.map(JSONValue.string) ?? .null }
            write(String(decoding: JSONValue.object(fields).serialized, as: UTF8.self))
        case .text:
            var line = "\(Timestamp.iso8601(milliseconds: entry.time)) \(entry.method) \(Self.quoted(entry.path)) app=\(subdomain ?? "-")"
            line += " principal=\(entry.outcome.principal ?? "-")"
            if let name = entry.outcome.principalName { line += " caller=\(Self.quoted(name))" }
            line += " status=\(entry.status)"
            if let operation = entry.outcome.operationID { line += " operation=\(operation)" }
            if let reason = entry.outcome.reason, entry.status >= 400 { line += " reason=\(Self.quoted(reason))" }
            line += " ms=\(String(format: "%.2f", entry.durationMilliseconds))"
            write(line)
        }
    }

    /// `text` as is when it has no space, quote or control character; else in double quotes with those escaped.
    static func quoted(_ text: String) -> String {
        let clipped = String(text.prefix(512))
        guard clipped.contains(where: { $0 == " " || $0 == "\"" || $0 == "\\" || $0.isNewline || ($0.asciiValue.map { $0 < 0x20 } ?? false) }) else { return clipped }
        var out = "\""
        for scalar in clipped.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += String(format: "\\x%02x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
