import ArgumentParser
import TernABI
import TernToolstack

/// `tern`: Tern's toolstack CLI in Dom0 (docs/toolstack.md).
@main
struct Tern: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tern",
        abstract: "Create and manage Tern virtual machines from Dom0.",
        discussion: "Needs root and tern.ko (/dev/tern). Config format: docs/toolstack.md; examples in /etc/tern.",
        version: ToolstackVersion.text,
        subcommands: [Create.self, List.self, Info.self, Console.self, Dmesg.self, Pause.self, Unpause.self,
                      Shutdown.self, Reboot.self, Destroy.self, Prepare.self, Logd.self, SchedCredit.self, Top.self,
                      Uptime.self, BlockAttach.self, BlockDetach.self, BlockList.self, NetworkAttach.self, NetworkDetach.self,
                      NetworkList.self, BlockBackend.self, NetworkBackend.self])
}

/// Prints `message` as "tern: message" on stderr and fails the command.
func fail(_ message: String) -> ExitCode {
    Output.err("tern: \(message)\n")
    return ExitCode(1)
}

func openDevice() throws -> ControlDevice {
    do throws(ControlDevice.Failure) { return try ControlDevice() } catch { throw fail(error.description) }
}

/// The domain named by an id or a name.
func resolve(_ what: String, on device: ControlDevice) throws -> DomainRow {
    let rows: [DomainRow]
    do throws(ControlDevice.Failure) { rows = try device.domains() } catch { throw fail(error.description) }
    guard let row = DomainRow.find(what, in: rows) else { throw fail(DomainRow.notFound(what)) }
    return row
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the domains (like xl list), stopped ones Tern kept too.",
        discussion: "-l adds each one's weight, uptime, why it stopped and a shutdown request not yet acted on.")
    @Flag(name: [.customShort("l"), .long], help: "Also weight, uptime, stop reason, pending shutdown request.") var long = false
    @Flag(help: "Print a JSON array (every field), for scripts.") var json = false

    func validate() throws {
        if long && json { throw ValidationError("--json has every field already: no --long with it") }
    }

    func run() throws {
        let device = try openDevice()
        do throws(ControlDevice.Failure) {
            let rows = try device.domains()
            if long {
                Output.out(DomainRow.longTable(rows, now: try device.systemInfo().uptime_ns) + "\n")
            } else {
                Output.out((json ? DomainRow.json(rows) : DomainRow.table(rows)) + "\n")
            }
        } catch {
            throw fail(error.description)
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show Tern's version, memory and domains; or one domain.",
        discussion: "With a domain: its state, why it stopped, a pending shutdown request, memory, weight, CPU time, uptime.")
    @Argument(help: "Domain id or name (none: Tern's own information).") var domain: String?

    func run() throws {
        let device = try openDevice()
        if let domain {
            let row = try resolve(domain, on: device)
            do throws(ControlDevice.Failure) {
                Output.out(row.details(now: try device.systemInfo().uptime_ns) + "\n")
            } catch {
                throw fail(error.description)
            }
            return
        }
        do throws(ControlDevice.Failure) {
            let info = try device.systemInfo()
            let mib: (UInt64) -> UInt64 = { ($0 * 4096) >> 20 }
            Output.out("""
                abi: \(info.abi_version >> 16).\(info.abi_version & 0xFFFF)
                domains: \(info.domains) of \(info.max_domains)
                memory: total \(mib(info.total_frames)) MiB, free \(mib(info.free_frames)) MiB (\(info.free_frames) frames)
                largest new guest: \(CreatePlan.largestGuestMiB(freeBytes: info.free_frames * Frames.size)) MiB (more for a size with a prepared shell)
                prepared shells: \(PoolState(info).summary)
                uptime: \(info.uptime_ns / 1_000_000_000) s

                """)
        } catch {
            throw fail(error.description)
        }
    }
}

/// pause, unpause, destroy: one domain, one operation.
protocol DomainOperationCommand: ParsableCommand {
    var domain: String { get }
    static var operation: Int32 { get }
}

extension DomainOperationCommand {
    func run() throws {
        let device = try openDevice()
        let row = try resolve(domain, on: device)
        if let why = row.refusal(Self.operation) { throw fail("d\(row.id) \(row.name): \(why)") }
        do throws(ControlDevice.Failure) { try device.control(row.id, Self.operation) } catch {
            throw fail("d\(row.id) \(row.name): \(error.description)")
        }
        if Self.operation == TERN_DOMCTL_DESTROY { waitUntilGone(row, on: device) }
    }

    /// As `xl destroy`, returns once the domain is gone: while its
    /// backends still map its pages (a disk's end when they learn it died)
    /// it is listed `dying`; its images are free again after.
    func waitUntilGone(_ row: DomainRow, on device: ControlDevice) {
        var waited: UInt32 = 0
        while waited < destroyWaitMilliseconds {
            let rows = (try? device.domains()) ?? []
            guard rows.contains(where: { $0.id == row.id && $0.createdNanoseconds == row.createdNanoseconds }) else { return }
            Clock.sleep(milliseconds: destroyPollMilliseconds)
            waited += destroyPollMilliseconds
        }
        Output.err("tern: d\(row.id) \(row.name): still dying after \(destroyWaitMilliseconds / 1000) s (another domain maps its memory)\n")
    }
}

/// How long `tern destroy` waits for a dying domain to go.
let destroyWaitMilliseconds: UInt32 = 10_000, destroyPollMilliseconds: UInt32 = 20

struct Pause: DomainOperationCommand {
    static let configuration = CommandConfiguration(abstract: "Pause a domain (its vCPUs stop until unpaused).")
    static let operation = TERN_DOMCTL_PAUSE
    @Argument(help: "Domain id or name.") var domain: String
}

struct Unpause: DomainOperationCommand {
    static let configuration = CommandConfiguration(abstract: "Unpause a paused domain.")
    static let operation = TERN_DOMCTL_UNPAUSE
    @Argument(help: "Domain id or name.") var domain: String
}

struct Destroy: DomainOperationCommand {
    static let configuration = CommandConfiguration(abstract: "Destroy a domain now (a stopped one Tern kept too); its memory returns.")
    static let operation = TERN_DOMCTL_DESTROY
    @Argument(help: "Domain id or name.") var domain: String
}
