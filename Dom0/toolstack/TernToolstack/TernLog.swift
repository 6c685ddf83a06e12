/// Tern's log (TERN_HC_LOG_READ, docs/abi.md) as lines: Tern's own
/// `(tern) ...` lines and the guests' console lines `(dN) text`. A line
/// carries the position of its first byte: positions count bytes since
/// Tern started, so they are never reused and order everything logged.
public struct LogLine: Equatable {
    public var position: UInt64
    public var text: String

    public init(position: UInt64, text: String) {
        self.position = position
        self.text = text
    }

    /// A guest's console line: its domain and what it printed.
    public var guest: (domid: UInt32, text: Substring)? { ConsoleLines.parse(text[...]) }

    /// Tern's `(tern) dN NAME: created, ...`, logged as it builds a domain:
    /// the line where that instance's life begins. A guest cannot forge
    /// it: Tern starts each of a guest's lines with `(dN) `.
    public var created: (domid: UInt32, name: String)? {
        let marker = "(tern) d", verb = ": created"
        guard text.hasPrefix(marker) else { return nil }
        let rest = text.dropFirst(marker.count)
        guard let idEnd = rest.firstIndex(of: " "), let verbAt = rest[idEnd...].firstRange(of: verb) else { return nil }
        let digits = rest[..<idEnd], name = rest[rest.index(after: idEnd)..<verbAt.lowerBound], after = rest[verbAt.upperBound...]
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let id = UInt32(digits),
              !name.isEmpty, name.utf8.allSatisfy(LogLine.isNameByte), after.isEmpty || after.hasPrefix(",") else { return nil }
        return (id, String(name))
    }

    /// The bytes of a domain name (tern_domain_create.name): A-Z a-z 0-9 . _ -
    static func isNameByte(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x5F || c == 0x2D
    }
}

/// Turns Tern's log, read a chunk at a time, into whole lines with their
/// positions. After bytes were lost (overwritten before they were read)
/// the first bytes may be the end of a line: they are dropped up to the
/// next line, so a fragment of a line never passes for one (a guest's
/// text cut at "(d1) " would otherwise read as d1's line).
public struct LogReader {
    /// Where the next read starts.
    public private(set) var position: UInt64
    /// Where the line not yet complete starts: every line before it was
    /// returned or lost (logd saves this as its progress).
    public private(set) var lineStart: UInt64
    /// Bytes overwritten before this reader got to them, in all.
    public private(set) var lost: UInt64 = 0
    var partial: [UInt8] = []
    var inFragment = false

    public init(from position: UInt64 = 0) {
        self.position = position
        lineStart = position
    }

    static let newline = UInt8(ascii: "\n")

    /// Takes one TERN_HC_LOG_READ reply (its bytes, position after them
    /// and lost count); the lines it completes.
    public mutating func take(_ bytes: [UInt8], next: UInt64, lost: UInt64) -> [LogLine] {
        let first = next - UInt64(bytes.count)
        self.lost += lost
        if lost > 0 {
            // lineStart stays where it was (overwritten now): a reader
            // started there again also loses bytes and skips the fragment.
            partial.removeAll()
            inFragment = true
        }
        var lines: [LogLine] = []
        for (i, byte) in bytes.enumerated() {
            guard byte == LogReader.newline else {
                partial.append(byte)
                continue
            }
            if !inFragment { lines.append(LogLine(position: lineStart, text: String(decoding: partial, as: UTF8.self))) }
            inFragment = false
            partial.removeAll(keepingCapacity: true)
            lineStart = first + UInt64(i) + 1
        }
        position = next
        return lines
    }
}

extension ControlDevice {
    /// Every whole line Tern's log holds past `reader`'s position now
    /// (read until its end).
    public func readLines(_ reader: inout LogReader) throws(Failure) -> [LogLine] {
        var lines: [LogLine] = []
        while true {
            let chunk = try readLog(from: reader.position)
            lines += reader.take(chunk.bytes, next: chunk.next, lost: chunk.lost)
            if chunk.bytes.isEmpty || chunk.next >= chunk.end { return lines }
        }
    }
}

/// Lines of Tern's console that belong to one domain: "(dN) text".
public enum ConsoleLines {
    public static func prefix(_ domid: UInt32) -> String { "(d\(domid)) " }

    /// Splits the domain id and text of a guest console line, if it is one.
    public static func parse(_ line: Substring) -> (domid: UInt32, text: Substring)? {
        guard line.hasPrefix("(d"), let close = line.firstIndex(of: ")") else { return nil }
        let digits = line[line.index(line.startIndex, offsetBy: 2)..<close]
        guard !digits.isEmpty, let id = UInt32(digits), line.index(after: close) < line.endIndex,
              line[line.index(after: close)] == " " else { return nil }
        return (id, line[line.index(close, offsetBy: 2)...])
    }
}
