/// The syntax of a config line (docs/toolstack.md), xl.cfg-like: `key =
/// value`, a `#` comment outside quotes, strings in double or single
/// quotes, bare numbers, lists in `[ ]`; lines end in LF or CRLF. The
/// same for a file's lines and `tern create`'s `key=value` arguments.
enum ConfigSyntax {
    /// A value as written: a quoted string, a bare number, or a list.
    enum Value: Equatable {
        case string(String)
        case number(UInt64)
        case list([String])
    }

    /// One `key = value`, and where it was written.
    struct Setting: Equatable {
        var key: String
        var value: Value
        var origin: ConfigOrigin
    }

    static let quotes: [Character] = ["\"", "'"]
    static let maxDigits = 19   // every 19-digit number fits a UInt64

    /// The lines of a file, LF or CRLF ended ("\r\n" is one Character in
    /// Swift, so splitting at "\n" alone would not split it).
    static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    }

    /// The setting on `line`, or nil for a blank or comment line. The key
    /// is not checked here (GuestConfig knows the keys).
    static func setting(_ line: String, at origin: ConfigOrigin) throws(ConfigError) -> Setting? {
        let text = stripComment(line).trimmed
        if text.isEmpty { return nil }
        guard let equals = text.firstIndex(of: "=") else {
            throw ConfigError(origin, key: nil, problem: origin.isCommandLine ? "'\(line)': expected key=value" : "expected key = value")
        }
        let key = String(text[..<equals]).trimmed
        guard !key.isEmpty else { throw ConfigError(origin, key: nil, problem: "a value without a key") }
        return Setting(key: key, value: try value(String(text[text.index(after: equals)...]).trimmed, key: key, at: origin), origin: origin)
    }

    /// Cuts a `#` comment that is not inside a quoted string.
    static func stripComment(_ line: String) -> String {
        var quote: Character? = nil
        var out = ""
        for c in line {
            if let q = quote {
                if c == q { quote = nil }
            } else if quotes.contains(c) {
                quote = c
            } else if c == "#" {
                break
            }
            out.append(c)
        }
        return out
    }

    /// A list's items, split at commas outside quotes; a quoted item
    /// without its quotes (`[ "/a.img,xvda,rw", "/b.img,xvdb" ]`: two).
    static func listItems(_ inner: String, key: String, at origin: ConfigOrigin) throws(ConfigError) -> [String] {
        var items: [String] = [], current = ""
        var quote: Character? = nil
        for c in inner {
            if let q = quote {
                if c == q { quote = nil }
                current.append(c)
            } else if quotes.contains(c) {
                quote = c
                current.append(c)
            } else if c == "," {
                items.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        guard quote == nil else { throw ConfigError(origin, key: key, problem: "unterminated string in the list") }
        items.append(current)
        return items.map { item in
            let text = item.trimmed
            if let first = text.first, quotes.contains(first), text.count >= 2, text.last == first {
                return String(text.dropFirst().dropLast())
            }
            return text
        }
    }

    static func value(_ raw: String, key: String, at origin: ConfigOrigin) throws(ConfigError) -> Value {
        if let quote = raw.first, quotes.contains(quote) {
            guard raw.count >= 2, raw.last == quote else { throw ConfigError(origin, key: key, problem: "unterminated string") }
            let inner = String(raw.dropFirst().dropLast())
            guard !inner.contains(quote) else { throw ConfigError(origin, key: key, problem: "a \(quote) inside a string quoted with it") }
            return .string(inner)
        }
        if raw.hasPrefix("[") {
            guard raw.hasSuffix("]") else { throw ConfigError(origin, key: key, problem: "unterminated list") }
            let inner = String(raw.dropFirst().dropLast()).trimmed
            if inner.isEmpty { return .list([]) }
            return .list(try listItems(inner, key: key, at: origin))
        }
        guard !raw.isEmpty, raw.utf8.count <= maxDigits, raw.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = UInt64(raw) else {
            guard !raw.isEmpty else { throw ConfigError(origin, key: key, problem: "no value") }
            var problem = "'\(raw)' is not a number or a quoted string"
            if origin.isCommandLine { problem += " (strings keep their quotes here too: '\(key)=\"\(raw)\"')" }
            throw ConfigError(origin, key: key, problem: problem)
        }
        return .number(n)
    }
}

/// Where a setting was written: a file's line, or `tern create`'s command line.
public struct ConfigOrigin: Equatable {
    public var file: String
    public var line: Int?

    public static let commandLineName = "command line"
    public static let commandLine = ConfigOrigin(file: commandLineName, line: nil)
    var isCommandLine: Bool { self == ConfigOrigin.commandLine }
}

/// What is wrong with a config, and where: "FILE:LINE: KEY: problem"
/// ("command line: KEY: problem" for `tern create`'s arguments).
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var problem: String

    public init(file: String, line: Int?, key: String?, problem: String) {
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
    }

    init(_ origin: ConfigOrigin, key: String?, problem: String) {
        self.init(file: origin.file, line: origin.line, key: key, problem: problem)
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(key): " }
        return text + problem
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
