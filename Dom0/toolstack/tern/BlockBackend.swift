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
            DiskRecord.setState(state, domid: domain, key: vdev)
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
        let spec = try? DiskSpec.parse("\(path),\(vdev),\(readOnly ? "ro" : "rw")")
        let steps = SupervisorSteps(log: log, domain: domain, statusFD: statusFD, readyWhenAdded: readyWhenAdded,
                                    type: TERN_DEVICE_BLOCK, devid: spec?.devid ?? 0, what: "disk", name: "a disk \(vdev)")
        guard let spec else {
            steps.report("error: bad disk \(path),\(vdev)")
            return 1
        }
        let image: DiskImage
        do throws(DiskImage.Failure) { image = try DiskImage(path: path, readOnly: readOnly) } catch {
            steps.report("error: \(error)")
            return 1
        }
        guard let device = steps.openDevice() else { return 1 }
        guard let record = steps.claim(spec, on: device) else { return 1 }
        defer { record.release() }
        guard let signals = steps.signals() else { return 1 }
        defer { close(signals) }
        DiskRecord.setState("starting", domid: domain, key: vdev)
        if !readyWhenAdded { steps.report("ready") }
        let (added, events): (ControlDevice.AddedDevice, EventChannel)
        let (domain, vdev) = (domain, vdev)
        switch steps.add(on: device, signals: signals, setState: { DiskRecord.setState($0, domid: domain, key: vdev) }) {
        case .added(let a, let e): (added, events) = (a, e)
        case .ended(let status): return status
        }
        return steps.supervisor(on: device, signals: signals, onRestart: "requests in flight are taken again").run {
            var arguments = ["/proc/self/exe", "block-backend", "--domain", "\(domain)", "--vdev", vdev,
                             "--event-fd", "\(BlockBackend.workerEventFD)", "--image-fd", "\(BlockBackend.workerImageFD)",
                             "--control-ref", "\(added.controlRef)"]
            if readOnly { arguments.append("--read-only") }
            arguments.append(path)
            return Spawn.run(arguments, fds: [events.fd, image.fd], detach: false)
        }
    }
}

/// Starting the block backends of a guest being created.
enum BlockBackends {
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
        var arguments = ["/proc/self/exe", "block-backend", "--domain", "\(domid)", "--vdev", disk.vdev]
        if disk.readOnly { arguments.append("--read-only") }
        if whenAdded { arguments.append("--ready-when-added") }
        arguments.append(disk.target)
        try Spawn.backend(arguments, naming: "\(guest): disk \(disk.vdev)")
    }
}
