import TernABI

/// A list of Dom0 frames holding a file (an image, a ramdisk) that
/// TERN_HC_DOMAIN_CREATE names: frame `i` (0 ..< count) is read from the
/// caller's list and checked (a frame of the caller's own memory) when it
/// is used; nil if it is not one. Read one at a time: a 64 MiB image's
/// list is 128 KiB, too much for Tern's heap at once. (Uniprocessor: the
/// caller does not run while Tern reads it.)
public struct CallerFrames {
    public var frame: (Int) -> UInt64?
    public var count: Int
    public var bytes: Int
    public init(frame: @escaping (Int) -> UInt64?, count: Int, bytes: Int) {
        self.frame = frame
        self.count = count
        self.bytes = bytes
    }
}

/// A checked TERN_HC_DOMAIN_CREATE request, as the host builds it.
public struct DomainRequest {
    public var name: [UInt8]
    public var memoryBytes: UInt64
    public var weight: Int
    public var commandLine: [UInt8]
    public var image: CallerFrames
    /// A Linux guest's initramfs (ABI 0.9); nil with none.
    public var ramdisk: CallerFrames?
    public var start: Bool
    public var fromPool: Bool
    /// Ends after which Tern keeps the domain (TERN_CREATE_KEEP_ON_*).
    public var keepWhenStopped: KeepWhenStopped = []
    /// Its console lines go to the serial port too (TERN_CREATE_CONSOLE_TO_SERIAL).
    public var consoleToSerial = false
}

/// What TERN_HC_DOMAIN_CREATE built (tern_domain_create.kind): told by the
/// image, a PVH entry note makes a Linux guest.
public enum GuestKind: UInt32 {
    case pv = 1       // TERN_KIND_PV
    case linux = 2    // TERN_KIND_LINUX
}

public struct CreatedDomain {
    public var id: UInt16
    public var buildNanoseconds: UInt64
    public var fromPool: Bool
    public var kind: GuestKind
    public init(id: UInt16, buildNanoseconds: UInt64, fromPool: Bool, kind: GuestKind = .pv) {
        self.id = id
        self.buildNanoseconds = buildNanoseconds
        self.fromPool = fromPool
        self.kind = kind
    }
}

public enum DomainCreateFailure: Error, Equatable {
    case noFreeID
    case outOfMemory
    case badImage
    case badMemorySize
    case hostMemoryUnreachable
    /// What the image's kind cannot take: a ramdisk or a command line of
    /// TERN_PV_CMDLINE_MAX or more for a PV guest.
    case notForThisKind

    var code: Int32 {
        switch self {
        case .noFreeID: return TERN_ENOSPC
        case .outOfMemory: return TERN_ENOMEM
        case .badImage: return TERN_ENOEXEC
        case .badMemorySize: return TERN_EINVAL
        case .hostMemoryUnreachable: return TERN_EFAULT
        case .notForThisKind: return TERN_EINVAL
        }
    }
}

/// What the toolstack asks the host to do to a domain (the calls Core
/// answers alone, a shutdown request and a weight, never reach the host).
public enum DomainOperation: Equatable { case pause, unpause, shutdown, destroy }

/// The toolstack's calls (tern/control.h, docs/abi.md "Domain control"):
/// privileged; every field of a request checked before the host is asked.
extension Hypercalls {
    static func domainControl<Host: HypercallHost>(
        _ number: UInt64, _ a: (UInt64, UInt64, UInt64, UInt64, UInt64), caller: Domain, host: Host
    ) -> HypercallOutcome {
        guard caller.privileged else { return error(TERN_EPERM) }
        switch number {
        case UInt64(TERN_HC_DOMAIN_CREATE): return create(request: a.0, caller: caller, host: host)
        case UInt64(TERN_HC_DOMAIN_CONTROL): return control(domid: a.0, operation: a.1, value: a.2, caller: caller, host: host)
        case UInt64(TERN_HC_DOMAIN_PREPARE):
            guard GuestLayout(memoryBytes: a.0) != nil, a.1 <= UInt64(TERN_DOMAINS_MAX) else { return error(TERN_EINVAL) }
            guard let ready = host.prepareShells(memoryBytes: a.0, count: Int(a.1)) else { return error(TERN_ENOSPC) }
            return .resume(Int64(ready))
        case UInt64(TERN_HC_SYSTEM_INFO):
            var info = host.systemInfo()
            return copyToGuest(&info, to: a.0, domain: caller, host: host)
        default:
            return error(TERN_ENOSYS)
        }
    }

    /// The bytes of a NUL-terminated field; nil if it has no NUL.
    static func cString<T>(_ field: T) -> [UInt8]? {
        withUnsafeBytes(of: field) { raw in
            guard let end = raw.firstIndex(of: 0) else { return nil }
            return Array(raw[0..<end])
        }
    }

    /// A file's frame count is what its size needs, at most TERN_IMAGE_FRAMES_MAX.
    static func isValidFrameList(count: UInt32, bytes: UInt64) -> Bool {
        let frameSize = FrameAllocator.frameSize
        return bytes > 0 && count <= UInt32(TERN_IMAGE_FRAMES_MAX) && UInt64(count) == (bytes + frameSize - 1) / frameSize
    }

    /// A file's frame list (isValidFrameList), nil unless the list is in
    /// the caller's memory; each frame is checked when it is read.
    static func callerFrames<M: PhysicalMemory>(list: UInt64, count: UInt32, bytes: UInt64,
                                                memory: GuestMemory<M>) -> CallerFrames? {
        let frameSize = FrameAllocator.frameSize
        let frames = UInt64(count)
        guard memory.contains(list, count: frames * 8) else { return nil }
        return CallerFrames(frame: { i in
            var frame: UInt64 = 0
            guard i >= 0, UInt64(i) < frames,
                  withUnsafeMutableBytes(of: &frame, { memory.copyFromGuest(at: list + UInt64(i) * 8, into: $0) }),
                  frame % frameSize == 0, memory.contains(frame, count: frameSize) else { return nil }
            return memory.hostAddress(of: frame)
        }, count: Int(count), bytes: Int(bytes))
    }

    private static func create<Host: HypercallHost>(request gpa: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        let memory = host.memory(of: caller)
        var request = tern_domain_create()
        guard withUnsafeMutableBytes(of: &request, { memory.copyFromGuest(at: gpa, into: $0) }) else { return error(TERN_EFAULT) }
        let knownFlags = TERN_CREATE_START | TERN_CREATE_FROM_POOL
            | TERN_CREATE_KEEP_ON_POWEROFF | TERN_CREATE_KEEP_ON_REBOOT | TERN_CREATE_KEEP_ON_CRASH
            | TERN_CREATE_CONSOLE_TO_SERIAL
        guard request.reserved == 0, request.flags & ~knownFlags == 0 else { return error(TERN_EINVAL) }
        guard let name = cString(request.name), name.withUnsafeBytes({ ModuleOptions.isValidName($0) }),
              let commandLine = cString(request.cmdline),
              GuestLayout(memoryBytes: request.memory_bytes) != nil, request.weight <= UInt32(ModuleOptions.maxWeight) else {
            return error(TERN_EINVAL)
        }
        guard request.kind == 0, isValidFrameList(count: request.image_frame_count, bytes: request.image_bytes) else {
            return error(TERN_EINVAL)
        }
        let hasRamdisk = request.ramdisk_bytes > 0
        if hasRamdisk {
            guard isValidFrameList(count: request.ramdisk_frame_count, bytes: request.ramdisk_bytes) else { return error(TERN_EINVAL) }
        } else {
            guard request.ramdisk_frames_gpa == 0, request.ramdisk_frame_count == 0 else { return error(TERN_EINVAL) }
        }
        guard let image = callerFrames(list: request.image_frames_gpa, count: request.image_frame_count,
                                       bytes: request.image_bytes, memory: memory) else { return error(TERN_EFAULT) }
        var ramdisk: CallerFrames?
        if hasRamdisk {
            guard let frames = callerFrames(list: request.ramdisk_frames_gpa, count: request.ramdisk_frame_count,
                                            bytes: request.ramdisk_bytes, memory: memory) else { return error(TERN_EFAULT) }
            ramdisk = frames
        }
        var next: UInt64 = 0
        while let other = host.firstDomain(atOrAfter: next) {
            if other.name == name && other.state != .dead { return error(TERN_EEXIST) }
            next = UInt64(other.id) + 1
        }
        let outcome = host.createDomain(DomainRequest(
            name: name, memoryBytes: request.memory_bytes, weight: request.weight == 0 ? Scheduler.defaultWeight : Int(request.weight),
            commandLine: commandLine, image: image, ramdisk: ramdisk,
            start: request.flags & TERN_CREATE_START != 0, fromPool: request.flags & TERN_CREATE_FROM_POOL != 0,
            keepWhenStopped: KeepWhenStopped(createFlags: request.flags),
            consoleToSerial: request.flags & TERN_CREATE_CONSOLE_TO_SERIAL != 0))
        switch outcome {
        case .failure(let failure):
            return error(failure.code)
        case .success(let created):
            request.domid = UInt32(created.id)
            request.build_ns = created.buildNanoseconds
            request.from_pool = created.fromPool ? 1 : 0
            request.kind = created.kind.rawValue
            _ = withUnsafeBytes(of: &request) { memory.copyToGuest(at: gpa, from: $0) }
            return .resume(Int64(created.id))
        }
    }

    private static func control<Host: HypercallHost>(
        domid: UInt64, operation raw: UInt64, value: UInt64, caller: Domain, host: Host
    ) -> HypercallOutcome {
        guard domid <= UInt64(UInt16.max), let target = host.domain(withID: UInt16(domid)) else { return error(TERN_ENOENT) }
        switch raw {
        case UInt64(TERN_DOMCTL_SET_WEIGHT):
            // Dom0's own weight too (`tern sched-credit -d 0`).
            guard value >= 1, value <= UInt64(ModuleOptions.maxWeight) else { return error(TERN_EINVAL) }
            guard !target.state.isStopped else { return error(TERN_ENOENT) }
            target.setWeight(Int(value))
            return .resume(0)
        case UInt64(TERN_DOMCTL_REQUEST_POWEROFF), UInt64(TERN_DOMCTL_REQUEST_REBOOT):
            guard target !== caller, !target.privileged else { return error(TERN_EPERM) }
            guard !target.state.isStopped else { return error(target.state == .dying ? TERN_EBUSY : TERN_ENOENT) }
            // A guest that has not bound the VIRQ would never hear it.
            guard target.events.virqPorts[Int(TERN_VIRQ_SHUTDOWN)] != 0 else { return error(TERN_ENOTCONN) }
            target.requestShutdown(raw == UInt64(TERN_DOMCTL_REQUEST_REBOOT)
                                   ? UInt32(TERN_SHUTDOWN_REQUEST_REBOOT) : UInt32(TERN_SHUTDOWN_REQUEST_POWEROFF))
            EventDelivery.raise(virq: TERN_VIRQ_SHUTDOWN, in: target)
            return .resume(0)
        default:
            break
        }
        let operation: DomainOperation
        switch raw {
        case UInt64(TERN_DOMCTL_PAUSE): operation = .pause
        case UInt64(TERN_DOMCTL_UNPAUSE): operation = .unpause
        case UInt64(TERN_DOMCTL_SHUTDOWN): operation = .shutdown
        case UInt64(TERN_DOMCTL_DESTROY): operation = .destroy
        default: return error(TERN_EINVAL)
        }
        guard target !== caller, !target.privileged else { return error(TERN_EPERM) }
        switch operation {
        case .pause:
            guard target.state == .running || target.state == .blocked else { return error(TERN_EINVAL) }
        case .unpause:
            guard target.state == .paused || target.state == .created else { return error(TERN_EINVAL) }
        case .shutdown:
            guard !target.state.isStopped else { return error(target.state == .dying ? TERN_EBUSY : TERN_ENOENT) }
        case .destroy:
            // A stopped domain Tern kept (TERN_CREATE_KEEP_ON_*) ends here too.
            guard target.state != .dying else { return error(TERN_EBUSY) }
            guard target.state != .dead else { return error(TERN_ENOENT) }
        }
        host.control(target, operation)
        // Unpaused: the caller gives way (RAX = 0), so that the boosted
        // guest runs at once (Scheduler).
        return operation == .unpause ? .yield : .resume(0)
    }
}
