import Glibc
import TernToolstack

/// What the attach, detach and list commands of disks and network
/// interfaces share (BlockCommands, NetworkCommands): the guests to list,
/// their devices from the backends' records (BackendRecord), and a detach
/// (SIGTERM to the device's backend supervisor, then waiting for its record to go).
enum AttachedDevices {
    /// How long a detach waits: the drain (WorkerSupervisor.drainSeconds) and the removal.
    static let waitMilliseconds: UInt32 = 15_000, pollMilliseconds: UInt32 = 20

    /// A guest that can take a device now: not Dom0, not stopped.
    static func runningGuest(_ domain: String, on device: ControlDevice, what: String, command: String) throws -> DomainRow {
        let row = try resolve(domain, on: device)
        let who = "d\(row.id) \(row.name)"
        guard !row.privileged else { throw fail("\(who): Dom0 has its own \(what)s; \(command) gives a guest one") }
        guard !row.isStopped else { throw fail("\(who): \(row.stateName): only a running or paused guest takes a \(what)") }
        return row
    }

    /// The guests `domains` names (every guest when none), for a list.
    static func guests(_ domains: [String], on device: ControlDevice) throws -> [DomainRow] {
        guard domains.isEmpty else { return try domains.map { try resolve($0, on: device) } }
        do throws(ControlDevice.Failure) { return try device.domains().filter { !$0.privileged } } catch {
            throw fail(error.description)
        }
    }

    /// Each guest's live devices of one kind, with their states.
    static func listed<Device: RecordedDevice>(_ rows: [DomainRow], of: Device.Type) -> [BackendRecord<Device>.Listed] {
        rows.flatMap { row in
            BackendRecord<Device>.live(domid: row.id, created: row.createdNanoseconds).map {
                (guest: row.name, record: $0, state: BackendRecord<Device>.state(domid: row.id, key: $0.device.recordKey))
            }
        }
    }

    /// Detaches `record`'s device of guest `row` (named `name` in errors):
    /// its backend supervisor gets SIGTERM (the worker finishes, then the
    /// device is removed from the guest); returns once the record is gone.
    static func detach<Device: RecordedDevice>(_ record: BackendRecord<Device>, of row: DomainRow, name: String) throws {
        let who = "d\(row.id) \(row.name)"
        guard kill(record.pid, SIGTERM) == 0 else {
            throw fail("\(who): \(name): cannot signal its backend (pid \(record.pid)): \(Files.errorText(errno))")
        }
        var waited: UInt32 = 0
        while BackendRecord<Device>.live(domid: row.id, created: row.createdNanoseconds).contains(where: { $0.device == record.device }) {
            guard waited < waitMilliseconds else {
                throw fail("\(who): \(name): its backend (pid \(record.pid)) has not ended after \(waitMilliseconds / 1000) s")
            }
            Clock.sleep(milliseconds: pollMilliseconds)
            waited += pollMilliseconds
        }
    }
}
