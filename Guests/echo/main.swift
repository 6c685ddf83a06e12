import TernGuestC

/// Console input, end to end: prints a prompt, then echoes every line
/// typed into its console (`tern console echo` in Dom0) as "echo: LINE",
/// until the line `quit`.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    print("echo: type a line (quit to stop)")
    var lines = 0
    while let line = ConsoleInput.readLine() {
        if line == Array("quit".utf8) {
            print("echo: bye after \(lines) lines")
            return Int64(TERN_SHUTDOWN_POWEROFF)
        }
        lines += 1
        Echo.say(line)
    }
    print("echo: no console device")
    return Int64(TERN_SHUTDOWN_CRASH)
}

enum Echo {
    /// "echo: " and the line's bytes as they are (printable or not).
    static func say(_ line: [UInt8]) {
        for byte in Array("echo: ".utf8) + line { putchar(Int32(byte)) }
        putchar(Int32(UInt8(ascii: "\n")))
    }
}
