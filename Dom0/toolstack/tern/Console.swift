import ArgumentParser
import Glibc
import TernABI
import TernSyscalls
import TernToolstack

struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a guest's console: its output so far, then new output as it comes.",
        discussion: """
            Press Ctrl-] to leave (the guest keeps running). Ends by itself when the guest stops. \
            What you type goes to the guest a line at a time (Enter sends it; Backspace edits it here); \
            piped input goes as it is. For a guest that no longer exists, prints what `tern logd` kept of it.
            """)
    @Argument(help: "Domain id or name.") var domain: String

    static let stateCheckMilliseconds: UInt64 = 500

    func run() throws {
        let device = try openDevice()
        let rows = (try? device.domains()) ?? []
        guard let row = DomainRow.find(domain, in: rows) else {
            guard let (path, label) = keptLog(domain) else { throw fail(DomainRow.notFound(domain) + ", and no console log kept of one") }
            if case .success(let bytes) = Files.read(path) { Output.out(String(decoding: bytes, as: UTF8.self)) }
            Output.out("[\(label): no longer running]\n")
            return
        }
        // The past: logd's file, or what Tern's ring still holds.
        var position: UInt64 = 0
        var ring = ""
        while let chunk = try? device.readLog(from: position), !chunk.bytes.isEmpty {
            ring += String(decoding: chunk.bytes, as: UTF8.self)
            position = chunk.next
        }
        if case .success(let bytes) = Files.read(ConsoleLog.path(row.id, row.name)) {
            Output.out(String(decoding: bytes, as: UTF8.self))
        } else {
            for line in ConsoleLines.of(row.id, in: ring) { Output.out(line + "\n") }
        }
        try follow(row, device: device, from: position)
    }

    /// New lines of the guest until it stops or the user presses Ctrl-];
    /// what is typed (or piped in) goes to the guest's console.
    func follow(_ row: DomainRow, device: ControlDevice, from start: UInt64) throws {
        let interactive = isatty(0) != 0
        if interactive { _ = tern_terminal_raw(0) }
        defer { if interactive { tern_terminal_restore(0) } }
        var position = start
        var partial = ""
        var lastCheck = Clock.microseconds()
        let prefix = ConsoleLines.prefix(row.id)
        var input = ConsoleTyping(interactive: interactive)
        var inputOpen = true
        let waiter = LogWaiter(device)
        while true {
            if let chunk = try? device.readLog(from: position) {
                position = chunk.next
                partial += String(decoding: chunk.bytes, as: UTF8.self)
                while let newline = partial.firstIndex(of: "\n") {
                    let line = partial[..<newline]
                    if line.hasPrefix(prefix) { Output.out(String(line.dropFirst(prefix.count)) + "\n") }
                    partial = String(partial[partial.index(after: newline)...])
                }
            }
            if inputOpen {
                switch readInput() {
                case .none: inputOpen = false
                case .some(let bytes):
                    if input.take(bytes) == .escape { Output.out("\n"); return }
                }
            }
            if !input.toSend.isEmpty {
                // What does not fit in the guest's ring waits for the next round.
                if let taken = try? device.consoleInput(row.id, input.toSend) { input.toSend.removeFirst(taken) }
            }
            if Clock.microseconds() - lastCheck > Console.stateCheckMilliseconds * 1000 {
                lastCheck = Clock.microseconds()
                let now = (try? device.domains())?.first { $0.id == row.id && $0.name == row.name }
                if now == nil || now!.state >= UInt32(TERN_DOMAIN_SHUTDOWN) {
                    Output.out("[d\(row.id) \(row.name): stopped]\n")
                    return
                }
            }
            // Until Tern's log grows or a key comes (at most 100 ms: the
            // state check above, and input the guest had no room for).
            waiter.wait(milliseconds: 100, input: inputOpen ? 0 : nil)
        }
    }

    /// What standard input has now: the bytes (none if nothing came), or
    /// nil at its end.
    func readInput() -> [UInt8]? {
        var fds = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        guard poll(&fds, 1, 0) > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = read(0, &buffer, buffer.count)
        return n > 0 ? Array(buffer[..<n]) : nil
    }

    /// A kept log of a domain that is gone: by name, or by "dN".
    func keptLog(_ what: String) -> (String, String)? {
        guard let dir = opendir(ConsoleLog.directory) else { return nil }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            // SAFETY: readdir's entry is valid until the next readdir or
            // closedir on `dir`; d_name is copied out here, before either.
            let file = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            guard file.hasPrefix("d"), file.hasSuffix(".log"), let dash = file.firstIndex(of: "-") else { continue }
            let id = String(file[file.index(after: file.startIndex)..<dash])
            let name = String(file[file.index(after: dash)...].dropLast(4))
            if name == what || id == what { return ("\(ConsoleLog.directory)/\(file)", "d\(id) \(name)") }
        }
        return nil
    }
}
