import ArgumentParser
import Glibc
import TernABI
import TernToolstack

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and start a guest from a config file; prints its domain id.",
        discussion: """
            Checks the config, the kernel file, the name and free memory before anything is created. \
            Uses a prepared shell (`tern prepare`) when one of the right size is ready. A create that fails \
            or is interrupted leaves no domain behind.

            The config file: one `key = value` a line, `#` comments, strings in "..." or '...', numbers bare \
            (docs/toolstack.md; examples in /etc/tern):

            """ + GuestConfig.keysHelp + """


            When the guest ends: destroy returns its memory at once; preserve keeps it, stopped, \
            until `tern destroy`; restart creates it again (docs/toolstack.md, "Life cycle").
            """)
    @Argument(help: "The guest's config file (docs/toolstack.md).") var config: String
    @Argument(help: ArgumentHelp("Settings that override the file's, written as in it (strings keep their quotes: 'name=\"web2\"').",
                                 valueName: "key=value"))
    var settings: [String] = []
    @Flag(name: [.customShort("n"), .long], help: "Check everything (config, kernel, name, memory), print what would be created, create nothing.")
    var dryRun = false
    @Flag(name: [.customShort("c"), .long], help: "Then show the guest's console, as `tern console` (Ctrl-] leaves).")
    var console = false
    @Flag(help: "Print how long the create took and when the guest's first console line came.") var time = false
    @Option(help: ArgumentHelp("With --time: also wait for the guest's first console line containing TEXT (its init's ready line) and print when it came.",
                               valueName: "TEXT"))
    var ready: String?

    static let stallVariable = "TERN_TEST_STALL_BEFORE_COMMIT"
    static let firstLineTimeoutMicroseconds: UInt64 = 10_000_000
    static let readyTimeoutMicroseconds: UInt64 = 300_000_000
    static let batchMilliseconds: UInt32 = 20

    func validate() throws {
        if dryRun && (console || time) { throw ValidationError("--dry-run creates nothing: no --console or --time with it") }
        if ready != nil && !time { throw ValidationError("--ready TEXT is timed: give --time with it") }
        if ready?.isEmpty == true { throw ValidationError("--ready needs the text to wait for") }
    }

    /// The config (with the command line's settings), the kernel image (its
    /// kind) and a Linux guest's ramdisk: every check that needs no /dev/tern.
    func checked() throws -> (CreatePlan, [UInt8], [UInt8]?) {
        do throws(GuestLoad.Problem) { return try GuestLoad.check(config, settings: settings) } catch { throw fail(error.message) }
    }

    func run() throws {
        // The console lines' times count from here, the kernel file's read
        // included: what the user waits for (a bare QEMU boot reads its
        // kernel too). "created in" is the create itself.
        let commandStart = Clock.microseconds()
        let (plan, image, ramdisk) = try checked()
        let checkedIn = Clock.microseconds() - commandStart
        let guest = plan.config
        let device = try openDevice()
        let logStart: UInt64
        let domains: [DomainRow]
        let free: UInt64
        let pool: PoolState
        do throws(ControlDevice.Failure) {
            domains = try device.domains()
            let system = try device.systemInfo()
            free = system.free_frames * Frames.size
            pool = PoolState(system)
            logStart = try device.readLog(from: 0).end
        } catch {
            throw fail(error.description)
        }
        if let problem = plan.problem(domains: domains, freeBytes: free, pool: pool) { throw fail(problem) }
        if dryRun {
            Output.out(plan.description + "\n")
            return
        }
        // What logd restarts it from (on_* = "restart"), saved before it exists.
        if let problem = SavedConfig.save(guest, cwd: currentDirectory()) { throw fail(problem) }
        // Bound before the create, so that the first line's notification is not missed.
        let waiter = time ? LogWaiter(device) : nil
        let begin = Clock.microseconds()
        let created: ControlDevice.Created
        do throws(GuestLoad.Problem) {
            created = try GuestStart.start(guest, image: image, ramdisk: ramdisk, device: device) {
                if let stall = getenv(Create.stallVariable), let seconds = UInt32(String(cString: stall)) {
                    Output.err("tern: stalling before commit (test)\n")
                    Glibc.sleep(seconds)
                }
            }
        } catch {
            throw fail(error.message)
        }
        let createdIn = Clock.microseconds() - begin
        if let why = crashedAtOnce(created.domid, guest.name, device: device, from: logStart) {
            throw fail(EarlyEnd.message(domid: created.domid, name: guest.name, why: why, onCrash: guest.onCrash.rawValue))
        }
        guard time else {
            Output.out("\(created.domid)\n")
            if console { try attach(created.domid) }
            return
        }
        let source = created.fromPool ? "from pool" : "fresh"
        var line = "created d\(created.domid) \(guest.name) in \(createdIn) us (read and checked in \(checkedIn) us; Tern: build \(created.buildNanoseconds / 1000) us, \(source)); "
        let stopped = "stopped first (tern console \(guest.name))"
        var ended = false
        switch waitForLine(created.domid, named: guest.name, containing: nil, device: device, waiter: waiter!, from: logStart,
                           since: commandStart, timeout: Create.firstLineTimeoutMicroseconds) {
        case .seen(let at): line += "first console line after \(at) us"
        case .stopped: line += "no console line: \(stopped)"; ended = true
        case .timedOut: line += "no console line within \(Create.firstLineTimeoutMicroseconds / 1_000_000) s"
        }
        if let text = ready, !ended {
            switch waitForLine(created.domid, named: guest.name, containing: Array(text.utf8), device: device, waiter: waiter!,
                               from: logStart, since: commandStart, timeout: Create.readyTimeoutMicroseconds) {
            case .seen(let at): line += "; '\(text)' after \(at) us"
            case .stopped: line += "; no '\(text)': \(stopped)"
            case .timedOut: line += "; no '\(text)' within \(Create.readyTimeoutMicroseconds / 1_000_000) s"
            }
        }
        Output.out(line + "\n")
        if console { try attach(created.domid) }
    }

    /// Why the new guest crashed before the create returned, if it did
    /// (EarlyEnd): Tern's log from where it stood before the create.
    func crashedAtOnce(_ domid: UInt32, _ name: String, device: ControlDevice, from start: UInt64) -> String? {
        var position = start
        var text: [UInt8] = []
        while let chunk = try? device.readLog(from: position), !chunk.bytes.isEmpty {
            text += chunk.bytes
            position = chunk.next
        }
        return EarlyEnd.crash(of: domid, named: name, in: String(decoding: text, as: UTF8.self))
    }

    /// `tern console` of the new guest.
    func attach(_ domid: UInt32) throws {
        var command = try Console.parse(["\(domid)"])
        try command.run()
    }

    enum Wait {
        case seen(UInt64)   // microseconds from `since`
        case stopped        // Tern logged the guest's end first
        case timedOut
    }

    /// Until Tern's log shows a line of `domid` (holding `text`, if
    /// given), or a line of Tern's saying the guest stopped (crashed, shut
    /// down, destroyed: it will print nothing more). Bytes, not Strings:
    /// this runs while the new guest is being timed.
    func waitForLine(_ domid: UInt32, named name: String, containing text: [UInt8]?, device: ControlDevice, waiter: LogWaiter,
                     from start: UInt64, since: UInt64, timeout: UInt64) -> Wait {
        var position = start
        var line: [UInt8] = []                      // the log position is at a line start
        let marker = Array(ConsoleLines.prefix(domid).utf8)
        let ternMarker = Array("(tern) ".utf8)
        let itself = Array("d\(domid) \(name)".utf8)
        let ends = ["crashed", "shut down", "destroyed"].map { Array($0.utf8) }
        func holds(_ line: [UInt8], _ part: [UInt8]) -> Bool {
            line.count >= part.count && (0...(line.count - part.count)).contains { line[$0..<($0 + part.count)].elementsEqual(part) }
        }
        func matches(_ line: [UInt8]) -> Bool {
            guard line.starts(with: marker) else { return false }
            guard let text, !text.isEmpty else { return true }
            return holds(line, text)
        }
        func endsIt(_ line: [UInt8]) -> Bool {
            line.starts(with: ternMarker) && holds(line, itself) && ends.contains { holds(line, $0) }
        }
        while Clock.microseconds() - since < timeout {
            guard let chunk = try? device.readLog(from: position) else { return .timedOut }
            position = chunk.next
            for byte in chunk.bytes {
                if byte == UInt8(ascii: "\n") {
                    if matches(line) { return .seen(Clock.microseconds() - since) }
                    if endsIt(line) { return .stopped }
                    line.removeAll(keepingCapacity: true)
                } else {
                    line.append(byte)
                }
            }
            // Woken by each line a booting guest prints: gather a few
            // first (a line is seen at most `batchMilliseconds` late), so
            // that the timing takes little of the CPU the guest boots on.
            if chunk.bytes.isEmpty, !waiter.wait(milliseconds: 100).isEmpty { Clock.sleep(milliseconds: Create.batchMilliseconds) }
        }
        return .timedOut
    }
}

/// getcwd(3), or "/" if it cannot say.
func currentDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buffer, buffer.count) != nil else { return "/" }
    return String(cString: buffer)
}
