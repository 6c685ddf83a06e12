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
            For a guest that no longer exists, prints what `tern logd` kept of it. \
            Guest console input is not supported yet.
            """)
    @Argument(help: "Domain id or name.") var domain: String

    static let escapeKey: UInt8 = 0x1D   // Ctrl-]
    static let stateCheckMilliseconds: UInt64 = 500

    func run() throws {
        let device = try openDevice()
        let rows = (try? device.domains()) ?? []
        guard let row = DomainRow.find(domain, in: rows) else {
            guard let (path, label) = keptLog(domain) else { throw fail("no domain \(domain), and no console log kept of one") }
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

    /// New lines of the guest until it stops or the user presses Ctrl-].
    func follow(_ row: DomainRow, device: ControlDevice, from start: UInt64) throws {
        let interactive = isatty(0) != 0
        if interactive { _ = tern_terminal_raw(0) }
        defer { if interactive { tern_terminal_restore(0) } }
        var position = start
        var partial = ""
        var lastCheck = Clock.microseconds()
        let prefix = ConsoleLines.prefix(row.id)
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
            if interactive && escapePressed() { Output.out("\n"); return }
            if !interactive { Clock.sleep(milliseconds: 100) }
            if Clock.microseconds() - lastCheck > Console.stateCheckMilliseconds * 1000 {
                lastCheck = Clock.microseconds()
                let now = (try? device.domains())?.first { $0.id == row.id && $0.name == row.name }
                if now == nil || now!.state >= UInt32(TERN_DOMAIN_SHUTDOWN) {
                    Output.out("[d\(row.id) \(row.name): stopped]\n")
                    return
                }
            }
        }
    }

    /// Waits up to 100 ms for a key; true if it was the escape key.
    func escapePressed() -> Bool {
        var fds = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        guard poll(&fds, 1, 100) > 0 else { return false }
        var byte: UInt8 = 0
        return read(0, &byte, 1) == 1 && byte == Console.escapeKey
    }

    /// A kept log of a domain that is gone: by name, or by "dN".
    func keptLog(_ what: String) -> (String, String)? {
        guard let dir = opendir(ConsoleLog.directory) else { return nil }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let file = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            guard file.hasPrefix("d"), file.hasSuffix(".log"), let dash = file.firstIndex(of: "-") else { continue }
            let id = String(file[file.index(after: file.startIndex)..<dash])
            let name = String(file[file.index(after: dash)...].dropLast(4))
            if name == what || id == what { return ("\(ConsoleLog.directory)/\(file)", "d\(id) \(name)") }
        }
        return nil
    }
}
