import ArgumentParser
import Glibc
import TernABI
import TernNet
import TernNetBackend
import TernSyscalls
import TernToolstack

/// `tern network-backend`: serves one guest network interface
/// (docs/netback.md). Not for typing: `tern create` starts one per `vif`
/// entry. It runs as a supervisor that holds what must survive a crash of
/// the serving process (the tap `vifD.N` on its bridge, the device added to
/// the guest, Dom0's end of its event channel) and a worker it starts with
/// them as descriptors 3 and 4, and starts again if it dies
/// (WorkerSupervisor). Its record, /run/tern/vifs/dD-N (VifRecord), is
/// what `tern network-list` shows. It ends when the guest is gone, or on
/// SIGTERM (`tern network-detach`: the worker closes the interface and
/// ends, then the device is removed from the guest and the tap destroyed).
struct NetworkBackend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network-backend",
        abstract: "Serve one guest network interface (started by tern create; see docs/netback.md).",
        shouldDisplay: false)

    @Option(help: "The guest's domain id.") var domain: UInt32
    @Option(help: "The interface's number in the guest (vif N).") var index: UInt16
    @Option(help: "The vif spec (mac=..,bridge=..,rate=..).") var spec: String
    @Option(help: "The guest's name (for the default MAC).") var guest: String
    @Option(help: "Report \"ready\" or \"error: ...\" on this descriptor, then close it.") var statusFD: Int32?
    @Flag(help: "Report \"ready\" once the interface is added to the guest, not before (network-attach: the guest runs).")
    var readyWhenAdded = false
    @Option(help: "Worker: Dom0's end of the event channel is this descriptor.") var eventFD: Int32?
    @Option(help: "Worker: the tap is this descriptor.") var tapFD: Int32?
    @Option(help: "Worker: the control page's grant ref.") var controlRef: UInt32?

    static let workerEventFD: Int32 = 3, workerTapFD: Int32 = 4

    var tapName: String { GuestVif.tapName(domid: domain, devid: index) }

    func run() throws {
        let log = BackendLog(prefix: "tern-netback d\(domain)/vif\(index)")
        let vif: VifSpec
        do throws(VifSpec.Problem) { vif = try VifSpec.parse(spec) } catch {
            log.warning("\(error)")
            throw ExitCode(1)
        }
        let mac = vif.mac ?? VifSpec.defaultMAC(guest: guest, index: Int(index))
        guard let interface = NetInterfaceProperties(mac: mac) else { throw ExitCode(1) }
        if let eventFD, let tapFD, let controlRef {
            throw ExitCode(worker(log: log, vif: vif, interface: interface, eventFD: eventFD, tapFD: tapFD, controlRef: controlRef))
        }
        throw ExitCode(supervise(log: log, vif: vif, interface: interface))
    }

    func worker(log: BackendLog, vif: VifSpec, interface: NetInterfaceProperties, eventFD: Int32, tapFD: Int32,
                controlRef: UInt32) -> Int32 {
        let device: ControlDevice
        do throws(ControlDevice.Failure) { device = try ControlDevice() } catch {
            log.warning("\(error)")
            return 1
        }
        // SIGTERM (blocked since the supervisor started us) means stop.
        let stopFD = [SIGTERM].withUnsafeBufferPointer { tern_signals_as_fd($0.baseAddress, Int32($0.count)) }
        let (domain, index) = (domain, index)
        let server = NetServer(device: device, events: EventChannel.adopting(fd: eventFD), tap: TapDevice(adopting: tapFD, name: tapName),
                               log: log, frontend: domain, controlRef: controlRef, interface: interface, rate: vif.rate,
                               stopFD: stopFD >= 0 ? stopFD : nil) { VifRecord.setState($0, domid: domain, key: "\(index)") }
        let end = server.run()
        let c = server.counters
        let figures = "tx \(c.txPackets) packets \(c.txBytes) bytes, \(c.txMalformed) malformed, \(c.txFailed) failed" +
            (vif.rate == nil ? "" : ", held by the rate limit \(c.txHeld) times") + "; " +
            "rx \(c.rxPackets) packets \(c.rxBytes) bytes, \(c.rxFailed) failed"
        let f = server.figures
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        log.info("figures: \(f.wakeups) wakeups, \(f.notificationsTaken) events from the guest, \(f.notificationsSent) to it, " +
                 "awake \(f.busyMicroseconds / 1000) ms, cpu \(usage.ru_utime.tv_sec * 1000 + usage.ru_utime.tv_usec / 1000) ms user " +
                 "\(usage.ru_stime.tv_sec * 1000 + usage.ru_stime.tv_usec / 1000) ms system; " +
                 "segmentation packets: \(c.txSegmented) tx, \(c.rxSegmented) rx; \(c.rxDropped) frames the guest could not take")
        switch end {
        case .frontendGone: log.info("guest gone: \(figures)")
        case .detached: log.info("detached: \(figures)")
        case .failed(let why):
            log.warning(why)
            return 1
        }
        return 0
    }

    func supervise(log: BackendLog, vif: VifSpec, interface: NetInterfaceProperties) -> Int32 {
        let steps = SupervisorSteps(log: log, domain: domain, statusFD: statusFD, readyWhenAdded: readyWhenAdded,
                                    type: TERN_DEVICE_NET, devid: index, what: "interface", name: "an interface \(index)")
        guard let device = steps.openDevice() else { return 1 }
        guard let record = steps.claim(GuestVif(devid: index, spec: vif, guest: guest), on: device) else { return 1 }
        defer { record.release() }
        guard let signals = steps.signals() else { return 1 }
        defer { close(signals) }
        let (domain, index) = (domain, index)
        let setState = { (state: String) in VifRecord.setState(state, domid: domain, key: "\(index)") }
        setState("starting")
        let tap: TapDevice
        do throws(TapDevice.Failure) { tap = try TapDevice(name: tapName, bridge: vif.bridge, mtu: Int(interface.mtu)) } catch {
            steps.report("error: \(error)")
            return 1
        }
        // (The tap goes before the record: a detach that returned finds it gone.)
        defer { tap.destroy() }
        if !readyWhenAdded { steps.report("ready") }
        let (added, events): (ControlDevice.AddedDevice, EventChannel)
        switch steps.add(on: device, signals: signals, setState: setState) {
        case .added(let a, let e): (added, events) = (a, e)
        case .ended(let status): return status
        }
        return steps.supervisor(on: device, signals: signals, onRestart: "the guest's interface re-attaches").run {
            Spawn.run(["/proc/self/exe", "network-backend", "--domain", "\(domain)", "--index", "\(index)", "--spec", vif.text,
                       "--guest", guest, "--event-fd", "\(NetworkBackend.workerEventFD)", "--tap-fd", "\(NetworkBackend.workerTapFD)",
                       "--control-ref", "\(added.controlRef)"], fds: [events.fd, tap.fd], detach: false)
        }
    }
}

/// Starting the network backends of a guest.
enum NetworkBackends {
    /// One backend per interface of `guest` (domain `domid`, still
    /// paused), numbered in order: each has its tap on its bridge when this
    /// returns. A problem names the interface; backends already started
    /// end when the domain is destroyed.
    static func start(_ guest: GuestConfig, domid: UInt32) throws(GuestLoad.Problem) {
        for (index, vif) in guest.vifs.enumerated() { try start(vif, devid: UInt16(index), guest: guest.name, domid: domid) }
    }

    /// The backend of interface `devid` (`vif`) of domain `domid` (named
    /// `guest`), once its tap is on its bridge (`tern create`, `tern
    /// network-attach`); `whenAdded`: also once the interface is in the
    /// guest's device page (a running guest).
    static func start(_ vif: VifSpec, devid: UInt16, guest: String, domid: UInt32, whenAdded: Bool = false) throws(GuestLoad.Problem) {
        var arguments = ["/proc/self/exe", "network-backend", "--domain", "\(domid)", "--index", "\(devid)",
                         "--spec", vif.text, "--guest", guest]
        if whenAdded { arguments.append("--ready-when-added") }
        try Spawn.backend(arguments, naming: "\(guest): vif \(devid)")
    }
}
