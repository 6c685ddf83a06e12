/// The command line's words before swift-argument-parser sees them, and
/// its error messages made into `tern`'s one line.
public enum CommandWords {
    static let helpCommand = "help"
    public static let endOfOptions = "--"
    static let errorPrefix = "Error: "

    /// The word that should name a command (the first, or the one after
    /// `help`) if it names none of `known`. Options, such as --help, are
    /// left to the parser.
    public static func unknownCommand(_ arguments: [String], known: [String]) -> String? {
        var words = arguments[...]
        if words.first == helpCommand { words = words.dropFirst() }
        guard let word = words.first, !word.hasPrefix("-"), !known.contains(word) else { return nil }
        return word
    }

    /// `arguments` with "--" before the first word that looks like a
    /// negative number ("-1"), so that it is a value (an id, a count) and
    /// not taken for an option; not where it follows an option, whose
    /// value it may be, nor after a "--" already there.
    public static func valuesNotOptions(_ arguments: [String]) -> [String] {
        for (i, word) in arguments.enumerated() {
            if word == endOfOptions { break }
            guard looksNegative(word) else { continue }
            if i > 0 && arguments[i - 1].hasPrefix("-") && !looksNegative(arguments[i - 1]) { continue }
            return Array(arguments[..<i]) + [endOfOptions] + Array(arguments[i...])
        }
        return arguments
    }

    static func looksNegative(_ word: String) -> Bool {
        let bytes = Array(word.utf8)
        return bytes.count >= 2 && bytes[0] == UInt8(ascii: "-") && bytes[1] >= UInt8(ascii: "0") && bytes[1] <= UInt8(ascii: "9")
    }

    /// The parser's message (which may run over several lines, with a
    /// "Help:" part and an "Error:" prefix) as one line, with where to
    /// read more.
    public static func oneLine(_ message: String, command: String?) -> String {
        let lines = message.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { String($0).trimmed }
        var text = lines.first { !$0.isEmpty } ?? "bad arguments"
        if text.hasPrefix(errorPrefix) { text = String(text.dropFirst(errorPrefix.count)) }
        if let first = text.first { text = first.lowercased() + text.dropFirst() }
        return text + " (see 'tern help" + (command.map { " " + $0 } ?? "") + "')"
    }
}
