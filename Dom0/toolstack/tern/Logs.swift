import ArgumentParser
import Glibc
import TernABI
import TernToolstack

struct Dmesg: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print Tern's log (its own lines and the guests' consoles), like xl dmesg.")
    @Flag(help: "Keep printing new lines as they come.") var follow = false

    func run() throws {
        let device = try openDevice()
        let waiter = LogWaiter(device)
        var position: UInt64 = 0
        while true {
            do throws(ControlDevice.Failure) {
                let chunk = try device.readLog(from: position)
                if chunk.lost > 0 { Output.out("[\(chunk.lost) bytes lost]\n") }
                Output.out(String(decoding: chunk.bytes, as: UTF8.self))
                position = chunk.next
                if chunk.next >= chunk.end {
                    if !follow { return }
                    waiter.wait(milliseconds: 1000)
                }
            } catch {
                throw fail(error.description)
            }
        }
    }
}

struct Logd: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep every guest's console output in /var/log/tern, a file per instance (run in the background).",
        discussion: """
            Dom0's init starts it. NAME.log holds what the last domain named NAME printed, NAME.log.1 to \
            NAME.log.\(KeptLogs.olderInstancesKept) the instances before; each file's first line names its \
            instance (id, created_ns). `tern console` reads them, so a guest's output outlives the guest. One \
            logd at a time: another exits with 'logd already running (pid N)'. A logd started again goes on \
            from where the last one stopped (/var/log/tern/.position).
            """)

    static let idleMilliseconds: Int32 = 1000
    static let retryMilliseconds: UInt32 = 500

    /// Each round keeps what Tern logged, then acts on guests that
    /// stopped (Lifecycle: after the log, so that a stopped guest's last
    /// lines are kept before anything acts on its end), then waits for the
    /// log to grow or a domain to stop (TERN_VIRQ_DOMAIN_DIED).
    func run() throws {
        let lock: PidLock
        switch PidLock.acquire(PidLock.logdPath) {
        case .success(let held): lock = held
        case .failure(let refusal): throw fail("logd \(refusal.description)")
        }
        defer { withExtendedLifetime(lock) {} }   // held until logd exits
        let device = try openDevice()
        let logs = KeptLogs()
        mkdir(logs.directory, 0o755)
        var keeper = ConsoleKeeper(logs: logs)
        var reader = LogReader(from: resumePosition(logs, device))
        let waiter = LogWaiter(device, alsoWatching: [TERN_VIRQ_DOMAIN_DIED])
        let lifecycle = Lifecycle(device)   // restarts guests that stopped (Lifecycle.swift)
        while true {
            catchUp(&keeper, &reader, device)
            lifecycle.wake()
            waiter.wait(milliseconds: Logd.idleMilliseconds)
        }
    }

    /// Keeps every line Tern has logged since `reader`'s position, then
    /// saves how far that is.
    func catchUp(_ keeper: inout ConsoleKeeper, _ reader: inout LogReader, _ device: ControlDevice) {
        let start = reader.lineStart
        guard let lines = try? device.readLines(&reader) else {
            Clock.sleep(milliseconds: Logd.retryMilliseconds)
            return
        }
        keeper.keep(lines, lookup: { id in (try? device.domains())?.first { $0.id == id } },
                    readOn: { (try? device.readLines(&reader)) ?? [] })
        if reader.lineStart != start { keeper.logs.saveProgress(reader.lineStart) }
    }

    /// Where the last logd stopped, if Tern's log has got that far (else
    /// Tern has started again since: from the beginning).
    func resumePosition(_ logs: KeptLogs, _ device: ControlDevice) -> UInt64 {
        guard let saved = logs.progress(), let end = try? device.readLog(from: 0).end, saved <= end else { return 0 }
        return saved
    }
}
