import ArgumentParser
import Glibc
import TernToolstack

/// `tern block-attach`, `block-detach`, `block-list`: a running guest's
/// disks, as xl's commands of those names (docs/toolstack.md, "Disks").
/// What is attached is known from the backends' records (DiskRecord).

struct BlockAttach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block-attach",
        abstract: "Give a running guest another disk (like xl block-attach).",
        discussion: """
            DISK is a disk spec as in a config's disk list, TARGET,VDEV,ACCESS \
            (/var/lib/tern/disks/data.img,xvdb,rw), or its parts as separate arguments. \
            Returns once the backend has opened and locked the image and the disk is in the \
            guest's device page; the guest then sees /dev/VDEV appear. The guest's saved config lists the disk, so a restart by \
            tern logd keeps it.
            """)
    @Argument(help: "Domain id or name.") var domain: String
    @Argument(help: "The disk spec (TARGET,VDEV,ACCESS), or its parts.") var disk: [String]

    func run() throws {
        let spec: DiskSpec
        do throws(DiskSpec.Problem) { spec = try DiskSpec.parse(disk.joined(separator: ",")) } catch { throw fail("disk: \(error)") }
        let device = try openDevice()
        let row = try AttachedDevices.runningGuest(domain, on: device, what: "disk", command: "block-attach")
        let who = "d\(row.id) \(row.name)"
        let attached = DiskRecord.live(domid: row.id, created: row.createdNanoseconds)
        if let same = attached.first(where: { $0.device.vdev == spec.vdev }) {
            throw fail("\(who): \(spec.vdev) is already attached (\(same.device.target))")
        }
        if let same = attached.first(where: { $0.device.target == spec.target }) {
            throw fail("\(who): \(spec.target) is already its \(same.device.vdev)")
        }
        do throws(GuestLoad.Problem) { try BlockBackends.start(spec, guest: row.name, domid: row.id, whenAdded: true) } catch {
            throw fail(error.message)
        }
        if let problem = SavedConfig.changeDisks(of: row.name, { $0.removeAll { $0.vdev == spec.vdev }; $0.append(spec) }) {
            Output.err("tern: \(who): \(spec.vdev) attached, but \(problem)\n")
        }
    }
}

struct BlockDetach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block-detach",
        abstract: "Take a disk from a running guest (like xl block-detach).",
        discussion: """
            The backend answers the requests it has taken (at most 10 s), then the disk is \
            removed: the guest sees /dev/VDEV go, and what it sends after fails with an I/O \
            error. Unmount it in the guest first, as before pulling a disk. Returns once the \
            image is closed and unlocked; the guest's saved config no longer lists the disk.
            """)
    @Argument(help: "Domain id or name.") var domain: String
    @Argument(help: "The disk: its vdev (xvdb) or number (1).") var vdev: String

    func run() throws {
        let device = try openDevice()
        let row = try resolve(domain, on: device)
        let who = "d\(row.id) \(row.name)"
        let name = UInt8(vdev).map { $0 < DiskSpec.maxDisks ? DiskSpec.vdevPrefix + String(UnicodeScalar(UInt8(ascii: "a") + $0)) : vdev } ?? vdev
        let attached = DiskRecord.live(domid: row.id, created: row.createdNanoseconds)
        guard let record = attached.first(where: { $0.device.vdev == name }) else {
            let list = attached.map(\.device.vdev).joined(separator: ", ")
            throw fail("\(who): no disk \(name) attached (\(list.isEmpty ? "it has none" : "its disks: \(list)"))")
        }
        try AttachedDevices.detach(record, of: row, name: name)
        if let problem = SavedConfig.changeDisks(of: row.name, { $0.removeAll { $0.vdev == name } }) {
            Output.err("tern: \(who): \(name) detached, but \(problem)\n")
        }
    }
}

struct BlockList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block-list",
        abstract: "List guests' disks (like xl block-list).",
        discussion: """
            State is the backend's: starting, waiting for the guest, connected, closed by \
            the guest, refused the guest (why: in Dom0's log, tern-blkback lines), detaching.
            """)
    @Argument(help: "Domain ids or names (none: every guest).") var domains: [String] = []

    func run() throws {
        let device = try openDevice()
        let disks = AttachedDevices.listed(try AttachedDevices.guests(domains, on: device), of: DiskSpec.self)
        Output.out(DiskRecord.table(disks) + "\n")
    }
}
