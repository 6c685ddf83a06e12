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
/// and 4, and starts again if it dies (at most `restarts` times a minute).
/// It ends when the guest is gone; then the device goes with the guest.
struct BlockBackend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block-backend",
        abstract: "Serve one guest disk from Dom0 (started by tern create; see docs/blockback.md).",
        shouldDisplay: false)

    @Option(help: "The guest's domain id.") var domain: UInt32
    @Option(help: "Its name for the disk: xvda..xvdz.") var vdev: String
    @Flag(help: "Read-only.") var readOnly = false
    @Option(help: "Report \"ready\" or \"error: ...\" on this descriptor, then close it.") var statusFD: Int32?
    @Option(help: "Worker: Dom0's end of the event channel is this descriptor.") var eventFD: Int32?
    @Option(help: "Worker: the image, open and locked, is this descriptor.") var imageFD: Int32?
    @Option(help: "Worker: the control page's grant ref.") var controlRef: UInt32?
    @Argument(help: "The disk image: a file or a block device in Dom0.") var path: String

    static let restarts = 5
    static let restartWindowSeconds = 60
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
        let server = BlockServer(device: device, events: EventChannel.adopting(fd: eventFD), image: image, log: log,
                                 frontend: domain, controlRef: controlRef)
        switch server.run() {
        case .frontendGone:
            log.info("guest gone: \(server.requestsServed) requests served, \(server.offenses) refused")
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
        report("ready")
        // A Linux guest lists devices once its core module attached.
        var added: ControlDevice.AddedDevice?
        while added == nil {
            do throws(ControlDevice.Failure) {
                added = try device.addDevice(type: TERN_DEVICE_BLOCK, devid: spec.devid, frontend: domain)
            } catch {
                if case .tern(let code) = error, code == -Int64(TERN_EAGAIN), guestExists(device) {
                    usleep(BlockBackend.attachPollMicroseconds)
                    continue
                }
                if guestExists(device) { log.warning("cannot add the disk: \(error)") }
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
        var starts: [time_t] = []
        while true {
            let now = time(nil)
            starts = starts.filter { now - $0 < time_t(BlockBackend.restartWindowSeconds) } + [now]
            guard starts.count <= BlockBackend.restarts + 1 else {
                log.warning("the backend died \(BlockBackend.restarts + 1) times in \(BlockBackend.restartWindowSeconds) s: giving up on this disk")
                try? device.removeDevice(type: TERN_DEVICE_BLOCK, devid: spec.devid, frontend: domain)
                return 1
            }
            var arguments = ["/proc/self/exe", "block-backend", "--domain", "\(domain)", "--vdev", vdev,
                             "--event-fd", "\(BlockBackend.workerEventFD)", "--image-fd", "\(BlockBackend.workerImageFD)",
                             "--control-ref", "\(added.controlRef)"]
            if readOnly { arguments.append("--read-only") }
            arguments.append(path)
            let pid = Spawn.run(arguments, fds: [events.fd, image.fd], detach: false)
            guard pid > 0 else {
                log.warning("cannot start the backend: \(String(cString: strerror(-pid)))")
                return 1
            }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let signal = status & 0x7F   // WTERMSIG: the low 7 bits, 0 for a normal exit
            if signal == 0 { return (status >> 8) & 0xFF }
            guard guestExists(device) else { return 0 }
            log.warning("the backend died (signal \(signal)): starting it again; requests in flight are taken again")
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
        for disk in guest.disks {
            var pipeEnds: [Int32] = [0, 0]
            guard pipe(&pipeEnds) == 0 else {
                throw GuestLoad.Problem("\(guest.name): disk \(disk.vdev): cannot make a pipe: \(String(cString: strerror(errno)))")
            }
            var arguments = ["/proc/self/exe", "block-backend", "--domain", "\(domid)", "--vdev", disk.vdev, "--status-fd", "3"]
            if disk.readOnly { arguments.append("--read-only") }
            arguments.append(disk.target)
            // (Only descriptor 3, the write end's copy, reaches the backend.)
            for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            let pid = Spawn.run(arguments, fds: [pipeEnds[1]], detach: true)
            close(pipeEnds[1])
            defer { close(pipeEnds[0]) }
            guard pid > 0 else {
                throw GuestLoad.Problem("\(guest.name): disk \(disk.vdev): cannot start its backend: \(String(cString: strerror(-pid)))")
            }
            let line = Files.firstLine(from: pipeEnds[0], timeoutMilliseconds: readyTimeoutMilliseconds)
            guard line == "ready" else {
                let why = line.map { $0.hasPrefix("error: ") ? String($0.dropFirst("error: ".count)) : $0 } ?? "its backend did not start"
                throw GuestLoad.Problem("\(guest.name): disk \(disk.vdev): \(why)")
            }
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
