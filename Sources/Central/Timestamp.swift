import Foundation

/// Formats and parses the two time formats of the API. Times are Unix epoch milliseconds (`Int64`).
public enum Timestamp {
    /// RFC 3339 / ISO 8601 in UTC with milliseconds, as the spec's examples print `expiry`:
    /// `2020-10-18T18:30:40.227Z`. (Done by hand: Foundation's formatter pulls in ICU, megabytes of memory.)
    public static func iso8601(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ n: Int32, _ width: Int) -> String {
            let text = String(n)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let millis = Int32(((milliseconds % 1000) + 1000) % 1000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(millis, 3))Z"
    }

    /// Parses an RFC 3339 `date-time` (§5.6: `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`, `T` and `Z` in either
    /// case) into epoch milliseconds, or nil when `text` is not one. Fractions beyond milliseconds are truncated.
    /// Refused: impossible dates and times (`2030-02-30`, `24:00:00`, `:60`; RFC 3339 §5.7), trailing text, and
    /// instants before 1970 or from the year 10000 on.
    public static func parseISO8601(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count >= 20, b.count <= 64 else { return nil }
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var value = 0
            for byte in b[start..<start + count] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        func at(_ i: Int, _ characters: String) -> Bool { i < b.count && characters.utf8.contains(b[i]) }
        guard let year = number(0, 4), at(4, "-"), let month = number(5, 2), at(7, "-"), let day = number(8, 2),
              at(10, "Tt"), let hour = number(11, 2), at(13, ":"), let minute = number(14, 2), at(16, ":"),
              let second = number(17, 2)
        else { return nil }
        var i = 19
        var millis = 0
        if at(i, ".") {
            let first = i + 1
            i = first
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard (1...9).contains(i - first) else { return nil }
            let digits = b[first..<min(first + 3, i)].map { Int($0 - 0x30) } + [0, 0]
            millis = digits[0] * 100 + digits[1] * 10 + digits[2]
        }
        var offset = 0
        if at(i, "Zz"), i == b.count - 1 {
            offset = 0
        } else if at(i, "+-"), b.count - i == 6, at(i + 3, ":"), let oh = number(i + 1, 2), let om = number(i + 4, 2), oh <= 23, om <= 59 {
            offset = (b[i] == UInt8(ascii: "-") ? -1 : 1) * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        guard (1...12).contains(month), hour <= 23, minute <= 59, second <= 59 else { return nil }
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return nil }
        let epochSeconds = daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        guard epochSeconds >= 0, epochSeconds < 253_402_300_800 else { return nil }  // before 10000-01-01
        return Int64(epochSeconds) * 1000 + Int64(millis)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (the civil-from-days inverse, by eras of 400 years).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// RFC 1123 (IMF-fixdate, RFC 9110 §5.6.7), as `error.time` and the `Date` header use:
    /// `Sun, 06 Nov 1994 08:49:37 GMT`.
    /// Milliseconds in an ISO 8601 duration of days and time (`P1D`, `PT1H30M`, `P1DT2H`): `P`, numbers with `D`,
    /// then after `T` numbers with `H`, `M` or `S`; at least one part, none after a trailing `T`. Nil for anything
    /// else, for more than 32 characters, or past Int64.
    public static func durationMilliseconds(_ duration: String) -> Int64? {
        guard duration.first == "P", duration.count <= 32, duration.last != "T" else { return nil }
        var total: Int64 = 0, digits = "", inTime = false, parts = 0
        for character in duration.dropFirst() {
            if character.isASCII && character.isNumber { digits.append(character); continue }
            if character == "T" && !inTime && digits.isEmpty { inTime = true; continue }
            guard let value = Int64(digits) else { return nil }
            let unit: Int64
            switch (character, inTime) {
            case ("D", false): unit = 86_400_000
            case ("H", true): unit = 3_600_000
            case ("M", true): unit = 60_000
            case ("S", true): unit = 1_000
            default: return nil
            }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            let (sum, overflowed) = total.addingReportingOverflow(product)
            guard !overflow, !overflowed else { return nil }
            total = sum
            digits = ""
            parts += 1
        }
        return parts > 0 && digits.isEmpty ? total : nil
    }

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
