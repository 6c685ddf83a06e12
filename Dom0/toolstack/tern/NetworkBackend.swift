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
/// (WorkerSupervisor). It ends when the guest is gone, or on SIGTERM (the
/// worker stops, then the device is removed).
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
    @Option(help: "Worker: Dom0's end of the event channel is this descriptor.") var eventFD: Int32?
    @Option(help: "Worker: the tap is this descriptor.") var tapFD: Int32?
    @Option(help: "Worker: the control page's grant ref.") var controlRef: UInt32?

    static let workerEventFD: Int32 = 3, workerTapFD: Int32 = 4

    var tapName: String { "vif\(domain).\(index)" }

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
        let server = NetServer(device: device, events: EventChannel.adopting(fd: eventFD), tap: TapDevice(adopting: tapFD, name: tapName),
                               log: log, frontend: domain, controlRef: controlRef, interface: interface, rate: vif.rate,
                               stopFD: stopFD >= 0 ? stopFD : nil)
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
        func report(_ line: String) {
            guard let statusFD else { return }
            Files.send(line + "\n", to: statusFD)
            close(statusFD)
        }
        let device: ControlDevice
        do throws(ControlDevice.Failure) { device = try ControlDevice() } catch {
            report("error: \(error)")
            return 1
        }
        // SIGTERM (detach, or Dom0's shutdown) and SIGCHLD (the worker
        // ended) wake the supervisor; the worker inherits SIGTERM blocked.
        let signals = [SIGTERM, SIGCHLD].withUnsafeBufferPointer { tern_signals_as_fd($0.baseAddress, Int32($0.count)) }
        guard signals >= 0 else {
            report("error: cannot take signals: \(String(cString: strerror(-signals)))")
            return 1
        }
        defer { close(signals) }
        let tap: TapDevice
        do throws(TapDevice.Failure) { tap = try TapDevice(name: tapName, bridge: vif.bridge, mtu: Int(interface.mtu)) } catch {
            report("error: \(error)")
            return 1
        }
        report("ready")
        var added: ControlDevice.AddedDevice?
        while added == nil {
            do throws(ControlDevice.Failure) {
                added = try device.addDevice(type: TERN_DEVICE_NET, devid: index, frontend: domain)
            } catch {
                // A Linux guest lists devices once its core module attached.
                if case .tern(let code) = error, code == -Int64(TERN_EAGAIN), device.isLive(domid: domain) {
                    if tern_signal_take(signals) == SIGTERM { return 0 }
                    usleep(BlockBackend.attachPollMicroseconds)
                    continue
                }
                if device.isLive(domid: domain) { log.warning("cannot add the interface: \(error)") }
                return 1
            }
        }
        guard let added else { return 1 }
        let events: EventChannel
        do throws(ControlDevice.Failure) { events = try device.bindInterdomain(domid: domain, port: added.port) } catch {
            log.warning("cannot bind the interface's event channel: \(error)")
            try? device.removeDevice(type: TERN_DEVICE_NET, devid: index, frontend: domain)
            return 1
        }
        let (domain, index) = (domain, index)
        let supervisor = WorkerSupervisor(log: log, device: device, domain: domain, signals: signals, what: "interface",
                                          onRestart: "the guest's interface re-attaches") {
            try? device.removeDevice(type: TERN_DEVICE_NET, devid: index, frontend: domain)
        }
        return supervisor.run {
            Spawn.run(["/proc/self/exe", "network-backend", "--domain", "\(domain)", "--index", "\(index)", "--spec", vif.text,
                       "--guest", guest, "--event-fd", "\(NetworkBackend.workerEventFD)", "--tap-fd", "\(NetworkBackend.workerTapFD)",
                       "--control-ref", "\(added.controlRef)"], fds: [events.fd, tap.fd], detach: false)
        }
    }
}

/// Starting the network backends of a guest being created.
enum NetworkBackends {
    static func start(_ guest: GuestConfig, domid: UInt32) throws(GuestLoad.Problem) {
        for (index, vif) in guest.vifs.enumerated() {
            var pipeEnds: [Int32] = [0, 0]
            guard pipe(&pipeEnds) == 0 else {
                throw GuestLoad.Problem("\(guest.name): vif \(index): cannot make a pipe: \(String(cString: strerror(errno)))")
            }
            let arguments = ["/proc/self/exe", "network-backend", "--domain", "\(domid)", "--index", "\(index)",
                             "--spec", vif.text, "--guest", guest.name, "--status-fd", "3"]
            for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            let pid = Spawn.run(arguments, fds: [pipeEnds[1]], detach: true)
            close(pipeEnds[1])
            defer { close(pipeEnds[0]) }
            guard pid > 0 else {
                throw GuestLoad.Problem("\(guest.name): vif \(index): cannot start its backend: \(String(cString: strerror(-pid)))")
            }
            let line = Files.firstLine(from: pipeEnds[0], timeoutMilliseconds: BlockBackends.readyTimeoutMilliseconds)
            guard line == "ready" else {
                let why = line.map { $0.hasPrefix("error: ") ? String($0.dropFirst("error: ".count)) : $0 } ?? "its backend did not start"
                throw GuestLoad.Problem("\(guest.name): vif \(index): \(why)")
            }
        }
    }
}
