import ArgumentParser
import Glibc
import TernABI
import TernToolstack

/// `tern top` (xl top): the domains and their share of the CPU, refreshed.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the domains and the CPU each used, refreshed (like xl top); Ctrl-C leaves.",
        discussion: "CPU% is of one CPU, over the last interval (the first screen: since each domain was created).")
    @Option(name: [.customShort("d"), .long], help: "Seconds between screens (1-3600).") var delay: UInt32 = 1
    @Option(name: [.customShort("n"), .long], help: "Screens to show, then stop (0: until Ctrl-C).") var iterations: UInt32 = 0
    @Flag(name: [.customShort("b"), .long], help: "Batch: no screen clearing (for scripts and logs).") var batch = false

    static let clearScreen = "\u{1B}[H\u{1B}[2J"
    static let maxDelay: UInt32 = 3600

    func validate() throws {
        guard delay >= 1, delay <= Top.maxDelay else { throw ValidationError("--delay \(delay): 1 to \(Top.maxDelay) seconds") }
    }

    func run() throws {
        let device = try openDevice()
        var previous = DomainUsage.Sample(rows: [], now: 0)
        var shown: UInt32 = 0
        let clear = !batch && isatty(STDOUT_FILENO) != 0
        while iterations == 0 || shown < iterations {
            if shown > 0 { Clock.sleep(milliseconds: delay * 1000) }
            let sample: DomainUsage.Sample
            let free: UInt64
            do throws(ControlDevice.Failure) {
                let rows = try device.domains()
                let info = try device.systemInfo()
                sample = DomainUsage.Sample(rows: rows, now: info.uptime_ns)
                free = info.free_frames * Frames.size
            } catch {
                throw fail(error.description)
            }
            let screen = DomainUsage.top(sample, percent: DomainUsage.cpuPercent(from: previous, to: sample), freeBytes: free)
            Output.out((clear ? Top.clearScreen : "") + screen + (clear ? "" : "\n"))
            previous = sample
            shown += 1
        }
    }
}

/// `tern uptime` (xl uptime): how long each domain has been up.
struct Uptime: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show how long each domain has been up (like xl uptime).")

    func run() throws {
        let device = try openDevice()
        do throws(ControlDevice.Failure) {
            let rows = try device.domains()
            let now = try device.systemInfo().uptime_ns
            Output.out(DomainUsage.uptimeTable(DomainUsage.Sample(rows: rows, now: now)))
        } catch {
            throw fail(error.description)
        }
    }
}
