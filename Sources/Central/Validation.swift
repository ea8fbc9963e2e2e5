/// Field rules of the spec, shared by handlers and fixtures.
public enum Validation {
    /// `8-4-4-4-12` hexadecimal digits, either case (Entra object and tenant ids, role ids, application ids).
    public static func isGUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, byte) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else if !isHexDigit(byte) {
                return false
            }
        }
        return true
    }

    /// Spec parameter `UserId`: `^[a-zA-Z0-9-_]*$`, at most 48 characters; the mock also requires at least one
    /// (an empty segment cannot reach a handler anyway). API token ids follow the same rule (assumed).
    public static func isResourceID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return !bytes.isEmpty && bytes.count <= 48 && bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    /// An id where the version's spec sets no limits (the create operations of 1.0, 1.1-preview and
    /// 2021-04-30-preview): 1 to 255 characters without control characters (assumed bounds, docs/fidelity.md).
    public static func isUnlimitedID(_ text: String) -> Bool {
        // `.`, `..` and a `/` would not survive a client's path normalization, so no client could address the item.
        !text.isEmpty && text.count <= 255 && text != "." && text != ".." && !text.contains("/")
            && !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// A device id as IoT Hub takes it ("Understand the identity registry in your IoT hub": a case-sensitive string
    /// of up to 128 ASCII letters, digits and `- . % _ * ? ! ( ) , : = @ $ '`).
    public static func isDeviceID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        let specials = Set("-.%_*?!(),:=@$'".utf8)
        return !bytes.isEmpty && bytes.count <= 128 && text != "." && text != ".."
            && bytes.allSatisfy { isAlphanumeric($0) || specials.contains($0) }
    }

    /// A Digital Twins Model Identifier, as device template ids and DTDL `@id`s are (DTDL v2: `dtmi:` then
    /// `:`-separated segments of letters, digits and `_` that start with a letter and do not end with `_`, then
    /// `;` and a version from 1 to 999999999); at most 255 characters (assumed).
    public static func isDTMI(_ text: String) -> Bool {
        guard text.utf8.count <= 255, text.hasPrefix("dtmi:") else { return false }
        let rest = text.dropFirst(5)
        guard let semicolon = rest.lastIndex(of: ";") else { return false }
        let version = rest[rest.index(after: semicolon)...]
        guard let first = version.first, first != "0", version.count <= 9, version.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        let segments = rest[..<semicolon].split(separator: ":", omittingEmptySubsequences: false)
        return segments.allSatisfy { segment in
            guard let head = segment.first, head.isASCII && head.isLetter, segment.last != "_" else { return false }
            return segment.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        }
    }

    /// An `email` where the version's spec gives it no format (1.2-preview and later, except 2021-04-30-preview):
    /// 1 to 254 bytes without control characters or spaces (assumed: an email user must be matchable to a token).
    public static func isFormatlessEmail(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 254 && !text.unicodeScalars.contains(where: isSpaceOrControl)
    }

    /// White space (any Unicode space or line separator) or a control or format character (C0, C1, U+2028 ...).
    static func isSpaceOrControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || [.control, .format, .lineSeparator, .paragraphSeparator, .spaceSeparator].contains(scalar.properties.generalCategory)
    }

    /// Spec parameter `OrganizationId` (the 2022-07-31 spec): pattern `^(?!-)[a-z0-9-]{1,48}[a-z0-9]$` and
    /// `maxLength: 48`, so 2 to 48 characters of lower-case letters, digits and `-`, not starting with `-` and
    /// ending with a letter or digit.
    public static func isOrganizationID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        let allowed = { (b: UInt8) in (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        guard (2...48).contains(bytes.count), let first = bytes.first, let last = bytes.last else { return false }
        return first != UInt8(ascii: "-") && allowed(last) && bytes.allSatisfy { allowed($0) || $0 == UInt8(ascii: "-") }
    }

    /// A display name (of an organization): 1 to 200 characters, not only white space, and no control characters
    /// (assumed limits, docs/fidelity.md).
    public static func isDisplayName(_ text: String) -> Bool {
        (1...200).contains(text.count) && !text.allSatisfy(\.isWhitespace)
            && !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// A plausible email address: one `@`, a non-empty local part and a domain with a dot, no spaces or
    /// control characters, at most 254 bytes (RFC 5321 §4.5.3.1.3). Assumed: the real rule is not documented.
    public static func isEmail(_ text: String) -> Bool {
        guard text.utf8.count <= 254, !text.unicodeScalars.contains(where: isSpaceOrControl) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64 else { return false }
        let domain = parts[1]
        return domain.contains(".") && !domain.hasPrefix(".") && !domain.hasSuffix(".") && !domain.contains("..")
    }

    /// Compares two byte strings ignoring ASCII case (header scheme words, RFC 9110 §11.1).
    public static func asciiCaseInsensitiveEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            let lx = x >= 0x41 && x <= 0x5A ? x | 0x20 : x, ly = y >= 0x41 && y <= 0x5A ? y | 0x20 : y
            return lx == ly
        }
    }

    static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }

    static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }
}

extension String {
    /// The text for quoting client input in an error message: at most 100 characters, then `…`, so that an error
    /// never echoes a megabyte back.
    public var clipped: String { count <= 100 ? self : String(prefix(100)) + "…" }
}
