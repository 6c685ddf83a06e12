/// What `tern console` sends to a guest from what is typed. On a terminal
/// (raw mode, so that Ctrl-] is seen at once) it edits a line locally,
/// echoing it, as a line-mode terminal would (the guest's output comes
/// back a line at a time, so the guest cannot echo keys as they come):
/// Enter sends the line with "\n", Backspace removes a byte, Ctrl-] leaves,
/// and so does Ctrl-C: as in a line-mode terminal, where Ctrl-C is the
/// terminal's and not a byte for the program, it is not sent (a Tern
/// guest has no terminal that would make it an interrupt; a user who does
/// not know Ctrl-] is not held). Piped input goes as it is.
public struct ConsoleTyping {
    public static let escapeKey: UInt8 = 0x1D      // Ctrl-]
    public static let interruptKey: UInt8 = 0x03   // Ctrl-C
    static let carriageReturn: UInt8 = 0x0D, newline: UInt8 = 0x0A
    static let backspace: UInt8 = 0x08, delete: UInt8 = 0x7F, tab: UInt8 = 0x09

    public enum Outcome: Equatable { case more, escape }

    public let interactive: Bool
    /// The line being typed (interactive only).
    public private(set) var line: [UInt8] = []
    /// Bytes for the guest, not yet taken by its ring.
    public var toSend: [UInt8] = []
    /// What to show on the terminal for the keys taken (interactive only).
    public private(set) var echo: [UInt8] = []

    public init(interactive: Bool) { self.interactive = interactive }

    /// Takes bytes read from standard input; `.escape` at Ctrl-] or
    /// Ctrl-C (the rest of the chunk is dropped). Echoes on the terminal itself.
    public mutating func take(_ bytes: [UInt8]) -> Outcome {
        let outcome = edit(bytes)
        if !echo.isEmpty {
            Output.out(String(decoding: echo, as: UTF8.self))
            echo.removeAll()
        }
        return outcome
    }

    /// take(_:) without the terminal: the echo stays in `echo`.
    public mutating func edit(_ bytes: [UInt8]) -> Outcome {
        guard interactive else {
            toSend += bytes
            return .more
        }
        for byte in bytes {
            switch byte {
            case ConsoleTyping.escapeKey, ConsoleTyping.interruptKey:
                return .escape
            case ConsoleTyping.carriageReturn, ConsoleTyping.newline:
                toSend += line + [ConsoleTyping.newline]
                line.removeAll()
                echo += [ConsoleTyping.newline]
            case ConsoleTyping.backspace, ConsoleTyping.delete:
                if !line.isEmpty {
                    line.removeLast()
                    echo += [ConsoleTyping.backspace, UInt8(ascii: " "), ConsoleTyping.backspace]
                }
            case ConsoleTyping.tab, 0x20...0x7E, 0x80...0xFF:
                line.append(byte)
                echo.append(byte)
            default:
                break   // other control keys: nothing to send
            }
        }
        return .more
    }
}
