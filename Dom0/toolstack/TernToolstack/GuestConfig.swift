/// A guest's config file (docs/toolstack.md), xl.cfg-like:
///
///     # comment
///     name = "hello"
///     kernel = "/usr/lib/tern/guests/hello.elf"
///     memory = 4          # MiB
///     vcpus = 1
///     cmdline = "count=5"
///     weight = 256
///     devices = []
///
/// Every problem is reported with the file, the line and the key.
public struct GuestConfig: Equatable {
    public var name: String
    public var kernel: String
    public var memoryMiB: UInt64 = 4
    public var vcpus: UInt64 = 1
    public var cmdline: String = ""
    public var weight: UInt64 = 256

    public static let minMemoryMiB: UInt64 = 2
    public static let maxMemoryMiB: UInt64 = 65536
    public static let maxNameLength = 31
    public static let maxCmdline = 191
    public static let maxWeight: UInt64 = 65535

    public var memoryBytes: UInt64 { memoryMiB << 20 }

    /// A value as written: a quoted string, a bare number, or a list.
    enum Value: Equatable {
        case string(String)
        case number(UInt64)
        case list([String])
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> GuestConfig {
        var values: [String: (value: Value, line: Int)] = [:]
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = stripComment(String(rawLine)).trimmed
            if line.isEmpty { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(file: file, line: lineNumber, key: nil, problem: "expected key = value")
            }
            let key = String(line[..<equals]).trimmed
            let rawValue = String(line[line.index(after: equals)...]).trimmed
            guard !key.isEmpty else { throw ConfigError(file: file, line: lineNumber, key: nil, problem: "a value without a key") }
            guard knownKeys.contains(key) else {
                throw ConfigError(file: file, line: lineNumber, key: key,
                                  problem: "unknown key (known: \(knownKeys.joined(separator: ", ")))")
            }
            if let earlier = values[key] {
                throw ConfigError(file: file, line: lineNumber, key: key, problem: "set twice (first on line \(earlier.line))")
            }
            values[key] = (try parseValue(rawValue, file: file, line: lineNumber, key: key), lineNumber)
        }
        func string(_ key: String) throws(ConfigError) -> (String, Int)? {
            guard let (value, line) = values[key] else { return nil }
            guard case .string(let s) = value else { throw ConfigError(file: file, line: line, key: key, problem: "must be a quoted string") }
            return (s, line)
        }
        func number(_ key: String) throws(ConfigError) -> (UInt64, Int)? {
            guard let (value, line) = values[key] else { return nil }
            guard case .number(let n) = value else { throw ConfigError(file: file, line: line, key: key, problem: "must be a number") }
            return (n, line)
        }
        guard let (name, nameLine) = try string("name") else { throw ConfigError(file: file, line: nil, key: "name", problem: "missing") }
        guard isValidName(name) else {
            throw ConfigError(file: file, line: nameLine, key: "name",
                              problem: "\"\(name)\" must be 1-\(maxNameLength) characters of A-Z a-z 0-9 . _ -")
        }
        guard let (kernel, kernelLine) = try string("kernel") else { throw ConfigError(file: file, line: nil, key: "kernel", problem: "missing") }
        guard !kernel.isEmpty else { throw ConfigError(file: file, line: kernelLine, key: "kernel", problem: "empty path") }
        var config = GuestConfig(name: name, kernel: kernel)
        if let (memory, line) = try number("memory") {
            guard isValidMemory(memory) else {
                throw ConfigError(file: file, line: line, key: "memory",
                                  problem: "\(memory) is not an even number of MiB from \(minMemoryMiB) to \(maxMemoryMiB)")
            }
            config.memoryMiB = memory
        }
        if let (vcpus, line) = try number("vcpus") {
            guard vcpus == 1 else {
                throw ConfigError(file: file, line: line, key: "vcpus", problem: "\(vcpus): only 1 vCPU per guest is supported for now")
            }
        }
        if let (cmdline, line) = try string("cmdline") {
            guard cmdline.utf8.count <= maxCmdline else {
                throw ConfigError(file: file, line: line, key: "cmdline", problem: "\(cmdline.utf8.count) bytes, at most \(maxCmdline)")
            }
            config.cmdline = cmdline
        }
        if let (weight, line) = try number("weight") {
            guard weight >= 1, weight <= maxWeight else {
                throw ConfigError(file: file, line: line, key: "weight", problem: "\(weight) is not from 1 to \(maxWeight)")
            }
            config.weight = weight
        }
        if let (value, line) = values["devices"] {
            guard case .list(let devices) = value else { throw ConfigError(file: file, line: line, key: "devices", problem: "must be a list [ ... ]") }
            guard devices.isEmpty else {
                throw ConfigError(file: file, line: line, key: "devices",
                                  problem: "only the console exists for now (every guest has it); the list must be empty")
            }
        }
        return config
    }

    static let knownKeys = ["name", "kernel", "memory", "vcpus", "cmdline", "weight", "devices"]

    /// Tern builds guests in 2 MiB steps (tern_domain_create.memory_bytes).
    public static func isValidMemory(_ mib: UInt64) -> Bool {
        mib >= minMemoryMiB && mib <= maxMemoryMiB && mib % minMemoryMiB == 0
    }

    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maxNameLength else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x5F || c == 0x2D
        }
    }

    /// Cuts a `#` comment that is not inside a quoted string.
    static func stripComment(_ line: String) -> String {
        var inString = false
        var out = ""
        for c in line {
            if c == "\"" { inString.toggle() }
            if c == "#" && !inString { break }
            out.append(c)
        }
        return out
    }

    static func parseValue(_ raw: String, file: String, line: Int, key: String) throws(ConfigError) -> Value {
        if raw.hasPrefix("\"") {
            guard raw.count >= 2, raw.hasSuffix("\"") else {
                throw ConfigError(file: file, line: line, key: key, problem: "unterminated string")
            }
            let inner = String(raw.dropFirst().dropLast())
            guard !inner.contains("\"") else { throw ConfigError(file: file, line: line, key: key, problem: "a quote inside a string") }
            return .string(inner)
        }
        if raw.hasPrefix("[") {
            guard raw.hasSuffix("]") else { throw ConfigError(file: file, line: line, key: key, problem: "unterminated list") }
            let inner = String(raw.dropFirst().dropLast()).trimmed
            if inner.isEmpty { return .list([]) }
            return .list(inner.split(separator: ",").map { String($0).trimmed })
        }
        guard !raw.isEmpty, raw.utf8.count <= 19, raw.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = UInt64(raw) else {
            throw ConfigError(file: file, line: line, key: key, problem: "\(raw.isEmpty ? "no value" : "'\(raw)' is not a number or a quoted string")")
        }
        return .number(n)
    }
}

/// What is wrong with a config, and where: "FILE:LINE: KEY: problem".
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var problem: String

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
