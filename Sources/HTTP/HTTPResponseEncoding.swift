#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns an `HTTPResponse` into the bytes of an HTTP/1.1 response message (RFC 9112 §4, §6).
enum HTTPResponseEncoding {
    /// Encodes `response`.
    /// - Parameters:
    ///   - headOnly: the request was HEAD: send `Content-Length` of the body but not the body (RFC 9110 §9.3.2).
    ///   - connection: the value of the `Connection` field to send (`close`, `keep-alive`), or nil for none.
    ///     Any `Connection`, `Content-Length` and `Transfer-Encoding` the handler set are replaced by the server's.
    ///   - now: the time for the `Date` field, added when the handler did not set one (RFC 9110 §6.6.1).
    static func encode(
        _ response: HTTPResponse, headOnly: Bool, connection: String?, now: time_t = time(nil)
    ) -> [UInt8] {
        let status = (100...999).contains(response.status) ? response.status : 500
        let bodyForbidden = (100...199).contains(status) || status == 204 || status == 304
        var out: [UInt8] = []
        out.reserveCapacity(256 + (bodyForbidden || headOnly ? 0 : response.body.count))
        out.append(contentsOf: "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n".utf8)
        var hasDate = false
        for field in response.headers {
            let name = field.name
            if name.caseInsensitiveEquals("Content-Length") || name.caseInsensitiveEquals("Transfer-Encoding")
                || name.caseInsensitiveEquals("Connection")
            {
                continue
            }
            // A handler must not be able to split the response (CR/LF in a value, a non-token name).
            guard !name.isEmpty, name.utf8.allSatisfy(HTTPRequestParser.isTokenByte) else { continue }
            if name.caseInsensitiveEquals("Date") { hasDate = true }
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            for b in field.value.utf8 {
                out.append(b == 0x0D || b == 0x0A || b == 0x00 ? 0x20 : b)
            }
            out.append(contentsOf: "\r\n".utf8)
        }
        if !bodyForbidden {
            out.append(contentsOf: "Content-Length: \(response.body.count)\r\n".utf8)
        }
        if !hasDate {
            out.append(contentsOf: "Date: \(imfFixdate(now))\r\n".utf8)
        }
        if let connection {
            out.append(contentsOf: "Connection: \(connection)\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        if !bodyForbidden && !headOnly {
            out.append(contentsOf: response.body)
        }
        return out
    }

    /// `IMF-fixdate` (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, from `gmtime_r`.
    static func imfFixdate(_ time: time_t) -> String {
        var t = time
        var parts = tm()
        guard gmtime_r(&t, &parts) != nil else { return "Thu, 01 Jan 1970 00:00:00 GMT" }
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let day = days.indices.contains(Int(parts.tm_wday)) ? days[Int(parts.tm_wday)] : "Thu"
        let month = months.indices.contains(Int(parts.tm_mon)) ? months[Int(parts.tm_mon)] : "Jan"
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(day), \(pad(parts.tm_mday, 2)) \(month) \(pad(parts.tm_year + 1900, 4)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)) GMT"
    }

    /// The standard reason phrase for `status` (RFC 9110 §15 and the IANA registry), or `Unknown`.
    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 102: "Processing"
        case 103: "Early Hints"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 203: "Non-Authoritative Information"
        case 204: "No Content"
        case 205: "Reset Content"
        case 206: "Partial Content"
        case 207: "Multi-Status"
        case 208: "Already Reported"
        case 226: "IM Used"
        case 300: "Multiple Choices"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 305: "Use Proxy"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Range Not Satisfiable"
        case 417: "Expectation Failed"
        case 421: "Misdirected Request"
        case 422: "Unprocessable Content"
        case 423: "Locked"
        case 424: "Failed Dependency"
        case 425: "Too Early"
        case 426: "Upgrade Required"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 451: "Unavailable For Legal Reasons"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        case 506: "Variant Also Negotiates"
        case 507: "Insufficient Storage"
        case 508: "Loop Detected"
        case 510: "Not Extended"
        case 511: "Network Authentication Required"
        default: "Unknown"
        }
    }
}
