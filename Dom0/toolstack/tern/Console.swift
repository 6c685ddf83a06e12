import ArgumentParser
import Glibc
import TernABI
import TernSyscalls
import TernToolstack

struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a guest's console: its output so far, then new output as it comes.",
        discussion: """
            Press Ctrl-] or Ctrl-C to leave (the guest keeps running; Ctrl-C is not sent to it). Ends by itself \
            when the guest stops. \
            Shows one instance of the domain: what it printed since Tern created it, each line once, without \
            Tern's (dN) prefix; not what an earlier guest of that id or name printed. What you type goes to the \
            guest a line at a time (Enter sends it; Backspace edits it here); piped input goes as it is. For a \
            guest that no longer exists, prints what its last instance printed (from Tern's log, or the file \
            `tern logd` kept).
            """)
    @Argument(help: "Domain id or name.") var domain: String

    static let stateCheckMilliseconds: UInt64 = 500
    /// Tries at reading a domain's past while it stays the same instance.
    static let attempts = 3
    /// How long the console of a gone guest waits for logd to write what
    /// Tern logged, and how often it looks.
    static let logdWaitMilliseconds: UInt32 = 1000, logdLookMilliseconds: UInt32 = 50

    func run() throws {
        let device = try openDevice()
        for _ in 0..<Console.attempts {
            guard let row = DomainRow.find(domain, in: try rows(device)) else { return try showGone(device) }
            if row.privileged { throw fail("d\(row.id) \(row.name): Dom0's console is this terminal (Tern's serial port); tern console shows a guest's") }
            var reader = LogReader()
            let lines = try readLines(device, &reader)
            // Still the same instance: then the lines hold all it logged so
            // far and no later instance's (that would have needed it gone).
            guard let now = try rows(device).first(where: { $0.isSameInstance(as: row) }) else { continue }
            // On a terminal, raw mode from here, so that keys typed while
            // the past prints are the console's (no echo by the terminal).
            let interactive = isatty(0) != 0 && !now.hasStopped
            if interactive {
                _ = tern_terminal_raw(0)
                Output.err("Console of d\(now.id) \(now.name): Ctrl-] or Ctrl-C leaves (the guest keeps running)\n")
            }
            defer { if interactive { tern_terminal_restore(0) } }
            var kept: KeptLogs.Kept?, keptUpTo: UInt64?
            if DomainInstances.start(of: now.id, named: now.name, in: lines) == nil { (kept, keptUpTo) = keptSnapshot(now.name) }
            emit(ConsoleHistory.of(now, lines: lines, kept: kept, keptUpTo: keptUpTo))
            if now.hasStopped {
                Output.out(ConsoleHistory.endNote(now, now: now))
                return
            }
            return try follow(now, device: device, reader: &reader, interactive: interactive)
        }
        try showGone(device)
    }

    /// New lines of the instance until it stops or the user leaves; what
    /// is typed (or piped in) goes to the guest's console.
    /// `interactive`: standard input is a terminal, in raw mode.
    func follow(_ row: DomainRow, device: ControlDevice, reader: inout LogReader, interactive: Bool) throws {
        var lastCheck = Clock.microseconds()
        var input = ConsoleTyping(interactive: interactive)
        var inputOpen = true
        let waiter = LogWaiter(device)
        while true {
            let lostBefore = reader.lost
            let lines = try? device.readLines(&reader)
            if reader.lost > lostBefore { Output.out("[\(reader.lost - lostBefore) bytes of Tern's log lost before they were read]\n") }
            guard show(lines, of: row) else {
                Output.out(ConsoleHistory.endNote(row, now: nil))   // a later instance began: this one is gone
                return
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
                let now = (try? device.domains())?.first { $0.isSameInstance(as: row) }
                if now == nil || now!.hasStopped {
                    _ = show(try? device.readLines(&reader), of: row)   // what it printed before it stopped
                    Output.out(ConsoleHistory.endNote(row, now: now))
                    return
                }
            }
            // Until Tern's log grows or a key comes (at most 100 ms: the
            // state check above, and input the guest had no room for).
            waiter.wait(milliseconds: 100, input: inputOpen ? 0 : nil)
        }
    }

    /// Prints the instance's console lines among `lines`; false if a later
    /// instance of its id began (the lines after that are not its).
    func show(_ lines: [LogLine]?, of row: DomainRow) -> Bool {
        var out: [String] = []
        var ended = false
        for line in lines ?? [] {
            if let created = line.created, created.domid == row.id {
                ended = true
                break
            }
            if let guest = line.guest, guest.domid == row.id { out.append(String(guest.text)) }
        }
        emit(out)
        return !ended
    }

    /// The console of a domain no longer in the list: its last instance,
    /// from Tern's log if it holds its start, else from logd's file.
    func showGone(_ device: ControlDevice) throws {
        var reader = LogReader()
        let lines = try readLines(device, &reader)
        if let (label, past) = ConsoleHistory.gone(domain, lines: lines) {
            emit(past)
            Output.out("[\(label): no longer running]\n")
            return
        }
        let logs = KeptLogs()
        waitForLogd(logs, upTo: reader.lineStart)
        guard let kept = logs.last(domain) else { throw fail(DomainRow.notFound(domain) + ", and no console log kept of one") }
        emit(kept.lines)
        Output.out("[d\(kept.header.domid) \(kept.header.name): no longer running]\n")
    }

    /// logd's file of the last instance named `name` and how far in Tern's
    /// log it holds everything, read while logd did not move on (or nils).
    func keptSnapshot(_ name: String) -> (KeptLogs.Kept?, UInt64?) {
        let logs = KeptLogs()
        for _ in 0..<Console.attempts {
            guard let before = logs.progress() else { break }   // no logd has run
            let kept = logs.read(at: logs.path(name))
            if logs.progress() == before { return (kept, before) }
            Clock.sleep(milliseconds: Console.logdLookMilliseconds)
        }
        return (nil, nil)
    }

    /// Until logd has written what Tern logged before `position` (or a while).
    func waitForLogd(_ logs: KeptLogs, upTo position: UInt64) {
        var waited: UInt32 = 0
        while (logs.progress() ?? 0) < position && waited < Console.logdWaitMilliseconds {
            Clock.sleep(milliseconds: Console.logdLookMilliseconds)
            waited += Console.logdLookMilliseconds
        }
    }

    func rows(_ device: ControlDevice) throws -> [DomainRow] {
        do throws(ControlDevice.Failure) { return try device.domains() } catch { throw fail(error.description) }
    }

    func readLines(_ device: ControlDevice, _ reader: inout LogReader) throws -> [LogLine] {
        do throws(ControlDevice.Failure) { return try device.readLines(&reader) } catch { throw fail(error.description) }
    }

    func emit(_ lines: [String]) {
        if !lines.isEmpty { Output.out(lines.joined(separator: "\n") + "\n") }
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
}
