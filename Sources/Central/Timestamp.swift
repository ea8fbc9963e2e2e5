import Foundation

/// Formats and parses the two time formats of the API. Times are Unix epoch milliseconds (`Int64`).
public enum Timestamp {
    /// RFC 3339 / ISO 8601 in UTC with milliseconds, as the spec's examples print `expiry`:
    /// `2020-10-18T18:30:40.227Z`.
    public static func iso8601(milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// Parses an RFC 3339 `date-time` (with or without fractional seconds, `Z` or an offset) into epoch
    /// milliseconds, or nil when `text` is not one. Years outside 1970...9999 are refused.
    public static func parseISO8601(_ text: String) -> Int64? {
        guard text.utf8.count <= 64, text.range(of: rfc3339Pattern, options: .regularExpression) != nil,
              fieldsAreInRange(Array(text.utf8))
        else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var date = formatter.date(from: text)
        if date == nil {
            formatter.formatOptions = [.withInternetDateTime]
            date = formatter.date(from: text)
        }
        guard let date else { return nil }
        let seconds = date.timeIntervalSince1970
        guard seconds >= 0, seconds < 253_402_300_800 else { return nil }  // before 10000-01-01
        return Int64((seconds * 1000).rounded())
    }

    /// Whether the fields of a text that matched `rfc3339Pattern` name a real instant: the formatter alone would
    /// roll `2030-02-30` over to March and `24:00:00` to the next day (RFC 3339 §5.7 forbids both).
    private static func fieldsAreInRange(_ bytes: [UInt8]) -> Bool {
        func number(_ start: Int, _ count: Int) -> Int {
            bytes[start..<start + count].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        let year = number(0, 4), month = number(5, 2), day = number(8, 2)
        guard (1...12).contains(month), number(11, 2) <= 23, number(14, 2) <= 59, number(17, 2) <= 59 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return false }
        if let last = bytes.last, last != UInt8(ascii: "Z"), last != UInt8(ascii: "z") {  // ±hh:mm offset
            return number(bytes.count - 5, 2) <= 23 && number(bytes.count - 2, 2) <= 59
        }
        return true
    }

    /// RFC 3339 §5.6 `date-time`; the formatter alone would accept trailing text.
    private static let rfc3339Pattern = #"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"#

    /// RFC 1123 (IMF-fixdate, RFC 9110 §5.6.7), as `error.time` and the `Date` header use:
    /// `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func rfc1123(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let day = days[Int(parts.tm_wday) % 7], month = months[Int(parts.tm_mon) % 12]
        return "\(day), \(two(parts.tm_mday)) \(month) \(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    /// The current time in epoch milliseconds.
    public static func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
