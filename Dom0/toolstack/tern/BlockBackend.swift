import ArgumentParser
import Glibc
import TernABI
import TernBlockBackend
import TernSyscalls
import TernToolstack

/// `tern block-backend`: serves one guest disk (docs/blockback.md). Not
/// for typing: `tern create` starts one per `disk` entry. It runs as a
/// supervisor that holds what must survive a crash of the serving process
/// (the image, open and locked; the device, added to the guest; Dom0's end
/// of its event channel) and a worker it starts with them as descriptors 3
/// and 4, and starts again if it dies (WorkerSupervisor: at most 5 times a minute).
/// It ends when the guest is gone (the device goes with the guest), or
/// on SIGTERM (`tern block-detach`): the worker answers the requests it
/// took and ends, then the device is removed from the guest.
struct BlockBackend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block-backend",
        abstract: "Serve one guest disk from Dom0 (started by tern create; see docs/blockback.md).",
        shouldDisplay: false)

    @Option(help: "The guest's domain id.") var domain: UInt32
    @Option(help: "Its name for the disk: xvda..xvdz.") var vdev: String
    @Flag(help: "Read-only.") var readOnly = false
    @Option(help: "Report \"ready\" or \"error: ...\" on this descriptor, then close it.") var statusFD: Int32?
    @Flag(help: "Report \"ready\" once the disk is added to the guest, not before (block-attach: the guest runs).") var readyWhenAdded = false
    @Option(help: "Worker: Dom0's end of the event channel is this descriptor.") var eventFD: Int32?
    @Option(help: "Worker: the image, open and locked, is this descriptor.") var imageFD: Int32?
    @Option(help: "Worker: the control page's grant ref.") var controlRef: UInt32?
    @Argument(help: "The disk image: a file or a block device in Dom0.") var path: String

    /// Waiting for a Linux guest's core module to attach its device page.
    static let attachPollMicroseconds: UInt32 = 50_000
    static let workerEventFD: Int32 = 3, workerImageFD: Int32 = 4

    func run() throws {
        let log = BackendLog(domid: domain, vdev: vdev)
        if let eventFD, let imageFD, let controlRef {
            throw ExitCode(worker(log: log, eventFD: eventFD, imageFD: imageFD, controlRef: controlRef))
        }
        throw ExitCode(supervise(log: log))
    }

    func worker(log: BackendLog, eventFD: Int32, imageFD: Int32, controlRef: UInt32) -> Int32 {
        let device: ControlDevice, image: DiskImage
        do { device = try ControlDevice() } catch {
            log.warning("\(error)")
            return 1
        }
        do throws(DiskImage.Failure) { image = try DiskImage(adopting: imageFD, path: path, readOnly: readOnly) } catch {
            log.warning("\(error)")
            return 1
        }
        // SIGTERM (blocked since the supervisor started us) means detach.
        let stopFD = [SIGTERM].withUnsafeBufferPointer { tern_signals_as_fd($0.baseAddress, Int32($0.count)) }
        let (domain, vdev) = (domain, vdev)
        let server = BlockServer(device: device, events: EventChannel.adopting(fd: eventFD), image: image, log: log,
                                 frontend: domain, controlRef: controlRef, stopFD: stopFD >= 0 ? stopFD : nil) { state in
            DiskRecord.setState(state, domid: domain, vdev: vdev)
        }
        let end = server.run()
        switch end {
        case .frontendGone, .detached:
            log.info("\(end == .detached ? "detached" : "guest gone"): \(server.requestsServed) requests served, \(server.offenses) refused")
            let f = server.figures
            log.info("figures: \(server.requestsServed) requests in \(f.batches) batches, \(f.diskOperations) disk operations; " +
                     "notifications \(f.notificationsTaken) taken, \(f.notificationsSent) sent; busy \(f.busyMicroseconds / 1000) ms")
            return 0
        case .failed(let why):
            log.warning(why)
            return 1
        }
    }

    func supervise(log: BackendLog) -> Int32 {
        func report(_ line: String) {
            guard let statusFD else { return }
            Files.send(line + "\n", to: statusFD)
            close(statusFD)
        }
        guard let spec = try? DiskSpec.parse("\(path),\(vdev),\(readOnly ? "ro" : "rw")") else {
            report("error: bad disk \(path),\(vdev)")
            return 1
        }
        let image: DiskImage
        do throws(DiskImage.Failure) { image = try DiskImage(path: path, readOnly: readOnly) } catch {
            report("error: \(error)")
            return 1
        }
        let device: ControlDevice
        do throws(ControlDevice.Failure) { device = try ControlDevice() } catch {
            report("error: \(error)")
            return 1
        }
        guard let created = ((try? device.domains()) ?? []).first(where: { $0.id == domain && !$0.isStopped })?.createdNanoseconds else {
            report("error: domain \(domain) is not running")
            return 1
        }
        let record: DiskRecordLock
        switch DiskRecordLock.claim(DiskRecord(domid: domain, created: created, pid: getpid(), disk: spec)) {
        case .success(let held): record = held
        case .failure(let refusal):
            report("error: \(refusal)")
            return 1
        }
        defer { record.release() }
        // SIGTERM (detach) and SIGCHLD (the worker ended) wake the loops
        // below; the worker inherits SIGTERM blocked and reads it itself.
        let signals = [SIGTERM, SIGCHLD].withUnsafeBufferPointer { tern_signals_as_fd($0.baseAddress, Int32($0.count)) }
        guard signals >= 0 else {
            report("error: cannot take signals: \(String(cString: strerror(-signals)))")
            return 1
        }
        defer { close(signals) }
        DiskRecord.setState("starting", domid: domain, vdev: vdev)
        if !readyWhenAdded { report("ready") }
        // A Linux guest lists devices once its core module attached.
        var added: ControlDevice.AddedDevice?
        while added == nil {
            do throws(ControlDevice.Failure) {
                added = try device.addDevice(type: TERN_DEVICE_BLOCK, devid: spec.devid, frontend: domain)
                if readyWhenAdded { report("ready") }
            } catch {
                if readyWhenAdded {
                    // A running guest that cannot take it now will not later.
                    report("error: cannot add the disk to the guest: \(addFailure(error))")
                    return 1
                }
                if case .tern(let code) = error, code == -Int64(TERN_EAGAIN), guestExists(device) {
                    DiskRecord.setState("waiting for the guest", domid: domain, vdev: vdev)
                    if tern_signal_take(signals) == SIGTERM {
                        log.info("detached before the guest took the disk")
                        return 0
                    }
                    usleep(BlockBackend.attachPollMicroseconds)
                    continue
                }
                if guestExists(device) { log.warning("cannot add the disk: \(addFailure(error))") }
                return 1
            }
        }
        guard let added else { return 1 }
        let events: EventChannel
        do throws(ControlDevice.Failure) { events = try device.bindInterdomain(domid: domain, port: added.port) } catch {
            log.warning("cannot bind the disk's event channel: \(error)")
            try? device.removeDevice(type: TERN_DEVICE_BLOCK, devid: spec.devid, frontend: domain)
            return 1
        }
        let supervisor = WorkerSupervisor(log: log, device: device, domain: domain, signals: signals, what: "disk",
                                          onRestart: "requests in flight are taken again") {
            try? device.removeDevice(type: TERN_DEVICE_BLOCK, devid: spec.devid, frontend: domain)
        }
        return supervisor.run {
            var arguments = ["/proc/self/exe", "block-backend", "--domain", "\(domain)", "--vdev", vdev,
                             "--event-fd", "\(BlockBackend.workerEventFD)", "--image-fd", "\(BlockBackend.workerImageFD)",
                             "--control-ref", "\(added.controlRef)"]
            if readOnly { arguments.append("--read-only") }
            arguments.append(path)
            return Spawn.run(arguments, fds: [events.fd, image.fd], detach: false)
        }
    }

    /// Why TERN_HC_DEVICE_ADD refused, in a disk's words.
    func addFailure(_ error: ControlDevice.Failure) -> String {
        guard case .tern(let code) = error else { return "\(error)" }
        switch -code {
        case Int64(TERN_EAGAIN): return "it has no device page (a Linux guest without tern_guest.ko?)"
        case Int64(TERN_ENOSPC): return "no free device slot (a guest has \(GuestConfig.maxSplitDevices) for disks and interfaces)"
        case Int64(TERN_EEXIST): return "it already has a disk \(vdev)"
        default: return "\(error)"
        }
    }

    func guestExists(_ device: ControlDevice) -> Bool { device.isLive(domid: domain) }
}

/// Starting the block backends of a guest being created.
enum BlockBackends {
    /// How long `tern create` waits for a backend to open its disk.
    static let readyTimeoutMilliseconds: Int32 = 10_000

    /// One backend per disk of `guest` (domain `domid`, still paused): each
    /// has opened and locked its image when this returns. A problem names
    /// the disk; backends already started end when the domain is destroyed.
    static func start(_ guest: GuestConfig, domid: UInt32) throws(GuestLoad.Problem) {
        for disk in guest.disks { try start(disk, guest: guest.name, domid: domid) }
    }

    /// The backend of `disk` for domain `domid` (named `guest`), once it
    /// has opened and locked the image (`tern create`, `tern block-attach`).
    /// `whenAdded`: also once the disk is in the guest's device page (a
    /// running guest; `tern create` starts them before the guest runs).
    static func start(_ disk: DiskSpec, guest: String, domid: UInt32, whenAdded: Bool = false) throws(GuestLoad.Problem) {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            throw GuestLoad.Problem("\(guest): disk \(disk.vdev): cannot make a pipe: \(String(cString: strerror(errno)))")
        }
        var arguments = ["/proc/self/exe", "block-backend", "--domain", "\(domid)", "--vdev", disk.vdev, "--status-fd", "3"]
        if disk.readOnly { arguments.append("--read-only") }
        if whenAdded { arguments.append("--ready-when-added") }
        arguments.append(disk.target)
        // (Only descriptor 3, the write end's copy, reaches the backend.)
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let pid = Spawn.run(arguments, fds: [pipeEnds[1]], detach: true)
        close(pipeEnds[1])
        defer { close(pipeEnds[0]) }
        guard pid > 0 else {
            throw GuestLoad.Problem("\(guest): disk \(disk.vdev): cannot start its backend: \(String(cString: strerror(-pid)))")
        }
        let line = Files.firstLine(from: pipeEnds[0], timeoutMilliseconds: readyTimeoutMilliseconds)
        guard line == "ready" else {
            let why = line.map { $0.hasPrefix("error: ") ? String($0.dropFirst("error: ".count)) : $0 } ?? "its backend did not start"
            throw GuestLoad.Problem("\(guest): disk \(disk.vdev): \(why)")
        }
    }
}

/// posix_spawn for Swift (TernSyscalls): argv[0] is the path.
enum Spawn {
    static func run(_ arguments: [String], fds: [Int32], detach: Bool) -> Int32 {
        var cStrings = arguments.map { strdup($0) }
        defer { for s in cStrings { free(s) } }
        cStrings.append(nil)
        return fds.withUnsafeBufferPointer { list in
            cStrings.withUnsafeBufferPointer { argv in
                // SAFETY: argv is NULL-terminated C strings alive for the
                // call; `list` holds fds.count descriptors.
                tern_spawn(argv.baseAddress, list.baseAddress, Int32(list.count), detach ? 1 : 0)
            }
        }
    }
}
