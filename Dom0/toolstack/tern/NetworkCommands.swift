import ArgumentParser
import TernToolstack

/// `tern network-attach`, `network-detach`, `network-list`: a running
/// guest's network interfaces, as xl's commands of those names
/// (docs/toolstack.md, "Commands"). What is attached is known
/// from the backends' records (VifRecord).

struct NetworkAttach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network-attach",
        abstract: "Give a running guest another network interface (like xl network-attach).",
        discussion: """
            VIF is a vif spec as in a config's vif list (bridge=br0,mac=02:54:00:12:34:56,rate=10Mb/s), \
            or its parts as separate arguments; none: bridge=br0 and the MAC tern create derives \
            for the interface's number. The interface takes the lowest number the guest has free. \
            Returns once its tap vifD.N is on the bridge and the interface is in the guest's device \
            page. The guest's saved config lists it, so a restart by tern logd keeps it.
            """)
    @Argument(help: "Domain id or name.") var domain: String
    @Argument(help: "The vif spec (mac=..,bridge=..,rate=..), or its parts.") var vif: [String] = []

    func run() throws {
        var spec: VifSpec
        do throws(VifSpec.Problem) { spec = try VifSpec.parse(vif.joined(separator: ",")) } catch { throw fail("vif: \(error)") }
        let device = try openDevice()
        let row = try AttachedDevices.runningGuest(domain, on: device, what: "interface", command: "network-attach")
        let who = "d\(row.id) \(row.name)"
        let attached = VifRecord.live(domid: row.id, created: row.createdNanoseconds)
        let disks = DiskRecord.live(domid: row.id, created: row.createdNanoseconds)
        guard attached.count + disks.count < GuestConfig.maxSplitDevices else {
            throw fail("\(who): no free device slot (a guest has \(GuestConfig.maxSplitDevices) for disks and interfaces; " +
                       "it has \(disks.count) disks and \(attached.count) interfaces)")
        }
        let taken = Set(attached.map(\.device.devid))
        guard let devid = (0..<UInt16(GuestConfig.maxSplitDevices)).first(where: { !taken.contains($0) }) else {
            throw fail("\(who): no free interface number")
        }
        let mac = spec.mac ?? VifSpec.defaultMAC(guest: row.name, index: Int(devid))
        if let same = attached.first(where: { $0.device.mac == mac }) {
            throw fail("\(who): mac \(VifSpec.macText(mac)) is already its vif \(same.device.devid)")
        }
        spec.mac = mac
        do throws(GuestLoad.Problem) { try NetworkBackends.start(spec, devid: devid, guest: row.name, domid: row.id, whenAdded: true) } catch {
            throw fail(error.message)
        }
        if let problem = SavedConfig.changeVifs(of: row.name, { $0.removeAll { $0.mac == mac }; $0.append(spec) }) {
            Output.err("tern: \(who): vif \(devid) attached, but \(problem)\n")
        }
    }
}

struct NetworkDetach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network-detach",
        abstract: "Take a network interface from a running guest (like xl network-detach).",
        discussion: """
            The backend stops and closes the interface (the guest sees it closed), then the \
            interface is removed from the guest's device page and its tap vifD.N is destroyed. \
            Returns once that is done; the guest's saved config no longer lists the interface.
            """)
    @Argument(help: "Domain id or name.") var domain: String
    @Argument(help: "The interface: its number (devid, 1) or its MAC.") var interface: String

    func run() throws {
        let device = try openDevice()
        let row = try resolve(domain, on: device)
        let who = "d\(row.id) \(row.name)"
        let attached = VifRecord.live(domid: row.id, created: row.createdNanoseconds)
        let record: VifRecord?
        if let devid = UInt16(interface) {
            record = attached.first { $0.device.devid == devid }
        } else {
            do throws(VifSpec.Problem) {
                let mac = try VifSpec.mac(interface)
                record = attached.first { $0.device.mac == mac }
            } catch {
                throw fail("\(who): \"\(interface)\" is neither an interface number nor a MAC: \(error)")
            }
        }
        guard let record else {
            let list = attached.map { "\($0.device.devid) (\(VifSpec.macText($0.device.mac)))" }.joined(separator: ", ")
            throw fail("\(who): no interface \(interface) attached (\(list.isEmpty ? "it has none" : "its interfaces: \(list)"))")
        }
        let name = "vif \(record.device.devid)"
        try AttachedDevices.detach(record, of: row, name: name)
        if let problem = SavedConfig.changeVifs(of: row.name, { $0.removeAll { $0.mac == record.device.mac } }) {
            Output.err("tern: \(who): \(name) detached, but \(problem)\n")
        }
    }
}

struct NetworkList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network-list",
        abstract: "List guests' network interfaces (like xl network-list).",
        discussion: """
            Idx is the interface's number in the guest (its tap is vifD.Idx). State is the \
            backend's: starting, waiting for the guest, connected, closed by the guest, refused \
            the guest (why: in Dom0's log, tern-netback lines), detaching. Rate: its limit, if any.
            """)
    @Argument(help: "Domain ids or names (none: every guest).") var domains: [String] = []

    func run() throws {
        let device = try openDevice()
        let vifs = AttachedDevices.listed(try AttachedDevices.guests(domains, on: device), of: GuestVif.self)
        Output.out(VifRecord.table(vifs) + "\n")
    }
}
