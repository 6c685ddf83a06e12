import TernABI

/// Domain life cycle (values are the ABI's TERN_DOMAIN_*).
public enum DomainState: UInt32 {
    case created = 0    // memory and image in place, never run
    case paused = 1
    case running = 2    // at least one vCPU runnable or running
    case blocked = 3    // every vCPU waiting for an upcall
    case shutdown = 4   // asked to stop (TERN_HC_SHUTDOWN)
    case crashed = 5    // stopped by Tern: triple fault, bad access, ...
    case dying = 6      // being torn down
    case dead = 7       // every frame returned

    public var name: StaticString {
        switch self {
        case .created: return "created"
        case .paused: return "paused"
        case .running: return "running"
        case .blocked: return "blocked"
        case .shutdown: return "shutdown"
        case .crashed: return "crashed"
        case .dying: return "dying"
        case .dead: return "dead"
        }
    }

    /// Stopped for good: nothing of it may run again.
    public var isStopped: Bool { rawValue >= DomainState.shutdown.rawValue }
}

/// A domain: an isolated guest with its own memory, nested page table and
/// vCPUs. Frames it holds are listed so that destroying it returns exactly
/// what it took.
public final class Domain {
    public let id: UInt16
    public let name: [UInt8]
    public let privileged: Bool
    public internal(set) var state: DomainState = .created
    /// What Tern emulates or passes through for it (chosen at build).
    public internal(set) var emulation: Emulation = []
    /// Guest memory as runs of contiguous host frames, in guest-physical
    /// order: guest memory is [0, memoryFrameCount * 4 KiB). Runs keep the
    /// bookkeeping small (a few entries for most guests, whatever their
    /// size), so a big guest cannot exhaust the hypervisor's heap.
    public internal(set) var memoryExtents: [MemoryExtent] = []
    public internal(set) var memoryFrameCount = 0
    /// Host frames of its nested page table (root first) and other
    /// per-domain hypervisor pages (VMCBs): returned on destroy too.
    public internal(set) var overheadFrames: [UInt64] = []
    public var nestedRoot: UInt64 { overheadFrames.first ?? 0 }
    public internal(set) var vcpus: [VCPU] = []
    public var weight: Int
    public internal(set) var shutdownReason: UInt64 = 0
    /// Why it stopped (.none while it has not).
    public internal(set) var stopReason = StopReason.none
    /// Which ends keep it (stopped, memory held) until destroyed; other
    /// ends destroy it at once. Chosen by its creator.
    public var keepWhenStopped: KeepWhenStopped = []
    /// What the toolstack asked of it (TERN_SHUTDOWN_REQUEST_*), 0: nothing.
    public internal(set) var shutdownRequest: UInt32 = 0
    /// System time (ns since boot) when it was created and when it stopped
    /// (0: not yet): its uptime, and with its id the name of this instance.
    public var createdNanoseconds: UInt64 = 0
    public var stoppedNanoseconds: UInt64 = 0
    /// Partial console line (flushed at '\n' or when full), so the lines of
    /// different domains interleave whole.
    public var consoleLine: [UInt8] = []
    /// Its console lines go to Tern's serial port as well as to its log
    /// (boot-module guests; toolstack guests that ask: TERN_CREATE_CONSOLE_TO_SERIAL).
    public var consoleToSerial = true
    /// Accesses refused to a privileged domain outside its memory (its
    /// guest got #GP instead of being crashed); counted, and logged sparingly.
    public var refusedAccesses: UInt64 = 0
    /// Its vCPUs' #VMEXITs by reason (logged when it is destroyed).
    public var exits = ExitCounts()
    /// Inter-domain state (docs/abi.md): event-channel ports, grant table
    /// and mappings, device page.
    public var events = EventChannels()
    /// How its upcall reaches it; set with its event page (attachEvents).
    public private(set) var upcall = UpcallRoute.virtualInterrupt
    public var grants = GrantTable()
    public var devices = DeviceList()
    /// The arch layer's per-domain state: its device models (x86_64/Model/DomainContext.swift).
    public var context = DomainContext()
    /// Where its shared pages are (TERN_HC_SHARED_LAYOUT); nil: none yet.
    public var sharedLayout: tern_shared_layout?
    public static let consoleLineCapacity = 160
    /// Life-cycle timestamps (TSC) for the create/boot/shutdown figures.
    public var timing = Timing()
    public struct Timing {
        public var buildStart: UInt64 = 0
        public var built: UInt64 = 0
        public var firstRun: UInt64 = 0
        public var stopped: UInt64 = 0
        public init() {}
    }

    public init(id: UInt16, name: [UInt8], privileged: Bool, weight: Int = Scheduler.defaultWeight) {
        self.id = id
        self.name = Array(name.prefix(Int(Domain.nameCapacity)))
        self.privileged = privileged
        self.weight = weight
    }

    public static let nameCapacity: UInt64 = 31

    public var memoryBytes: UInt64 { UInt64(memoryFrameCount) * FrameAllocator.frameSize }

    /// Every guest frame's host address, in guest order (tests, small guests).
    public var memoryFrames: [UInt64] {
        var all: [UInt64] = []
        all.reserveCapacity(memoryFrameCount)
        for extent in memoryExtents {
            for i in 0..<extent.frames { all.append(extent.hostBase + UInt64(i) * FrameAllocator.frameSize) }
        }
        return all
    }

    public var cpuTimeCycles: UInt64 {
        var total: UInt64 = 0
        for vcpu in vcpus { total &+= vcpu.cpuTimeCycles }
        return total
    }

    public func addMemoryFrame(_ frame: UInt64) { addMemory(hostBase: frame, frames: 1) }

    /// Appends `frames` contiguous host frames at the end of guest memory,
    /// merged into the last run when they continue it.
    public func addMemory(hostBase: UInt64, frames: Int, identity: Bool = false) {
        if let last = memoryExtents.last, (last.guestBase != nil) == identity,
           last.hostBase + UInt64(last.frames) * FrameAllocator.frameSize == hostBase {
            memoryExtents[memoryExtents.count - 1].frames += frames
        } else {
            memoryExtents.append(MemoryExtent(hostBase: hostBase, frames: frames, guestBase: identity ? hostBase : nil))
        }
        memoryFrameCount += frames
    }
    public func addOverheadFrame(_ frame: UInt64) { overheadFrames.append(frame) }

    /// Takes over a prepared shell's frames (DomainBuilder.Shell).
    func adopt(extents: [MemoryExtent], overheadFrames: [UInt64]) {
        memoryExtents = extents
        memoryFrameCount = extents.reduce(0) { $0 + $1.frames }
        self.overheadFrames = overheadFrames
    }
    /// The first vCPU is the one the event page's vcpu[0] speaks for.
    public func addVCPU(_ vcpu: VCPU) {
        vcpus.append(vcpu)
        followEventPage()
    }

    /// Its event page from now on (built in for a PV guest, handed over by
    /// a Linux with TERN_HC_ATTACH) and the route of its upcall.
    public func attachEvents(page: EventPage, upcall route: UpcallRoute) {
        events.page = page
        upcall = route
        followEventPage()
    }

    /// Its ports are closed: Tern forgets the page (DomainTeardown).
    public func detachEvents() {
        events = EventChannels()
        upcall = .virtualInterrupt
        followEventPage()
    }

    /// vCPU 0's wake-up flag follows the page, whenever the page comes or
    /// goes: the page's upcall_pending byte where that byte wakes it, none
    /// where an interrupt controller does (UpcallRoute.flagWakes).
    func followEventPage() {
        guard let first = vcpus.first else { return }
        first.eventFlag = upcall.flagWakes ? events.page?.upcallPendingFlag : nil
    }

    /// Chooses its emulated and passed-through devices, while it is being
    /// built (later the arch layer's devices would change under it), and
    /// makes their models. False if the set is not one Tern can give
    /// (Emulation.isConsistent) or the domain is past building.
    @discardableResult
    public func chooseEmulation(_ devices: Emulation) -> Bool {
        guard state == .created, devices.isConsistent else { return false }
        emulation = devices
        context = DomainContext(for: devices)
        return true
    }

    /// Built at boot by Tern itself (Dom0): running, every vCPU runnable.
    public func startAtBoot() {
        guard state == .created else { return }
        state = .running
        for vcpu in vcpus { vcpu.state = .runnable }
    }

    /// Built for the toolstack: paused until it unpauses (TERN_DOMCTL_UNPAUSE).
    public func markBuilt() {
        guard state == .created else { return }
        state = .paused
    }

    /// Destroyed while other domains still map its grants: its memory
    /// stays until the last mapping goes.
    public func markDying() {
        guard state != .dead else { return }
        state = .dying
    }

    /// `vcpu` waits for an upcall (TERN_HC_BLOCK, HLT).
    public func block(_ vcpu: VCPU) {
        vcpu.state = .blocked
        refreshState()
    }

    /// `vcpu` was blocked and has something pending: runnable again.
    /// True if it was woken (the caller refreshes the domain's state once).
    public func wake(_ vcpu: VCPU) -> Bool {
        guard vcpu.state == .blocked else { return false }
        vcpu.state = .runnable
        return true
    }

    /// Recomputes running/blocked from the vCPUs (stopped states stick).
    public func refreshState() {
        guard !state.isStopped, state != .created, state != .paused else { return }
        state = vcpus.contains { $0.state != .blocked } ? .running : .blocked
    }

    /// The toolstack's pause: no vCPU of it runs until unpaused.
    public func pause() {
        guard !state.isStopped else { return }
        state = .paused
        for vcpu in vcpus { vcpu.state = .offline }
    }

    /// Starts (or resumes) every vCPU. One that was blocked wakes once and
    /// blocks again if it has nothing to do (a spurious wake-up, as after
    /// any upcall).
    public func unpause() {
        guard state == .paused || state == .created else { return }
        state = .running
        for vcpu in vcpus {
            vcpu.state = .runnable
            vcpu.boosted = true
        }
    }

    public func markStopped(_ newState: DomainState, reason: UInt64 = 0, tsc: UInt64 = 0) {
        precondition(newState.isStopped)
        guard !state.isStopped else { return }
        timing.stopped = tsc
        state = newState
        shutdownReason = reason
        if stopReason == .none { stopReason = newState == .crashed ? .crash : StopReason(shutdownCode: reason) }
        for vcpu in vcpus { vcpu.state = .offline }
    }

    /// It stopped, for `reason`, at system time `now`: its state follows
    /// the reason (shut down or crashed), its vCPUs go offline.
    public func stop(_ reason: StopReason, shutdownCode: UInt64 = 0, now: UInt64, tsc: UInt64) {
        guard !state.isStopped else { return }
        stopReason = reason
        stoppedNanoseconds = now
        markStopped(reason.state, reason: shutdownCode, tsc: tsc)
    }

    /// Tern keeps it, stopped, until the toolstack destroys it.
    public var isKeptWhenStopped: Bool {
        (state == .shutdown || state == .crashed) && keepWhenStopped.contains(stopReason.kind)
    }

    /// Its scheduler weight, now (TERN_DOMCTL_SET_WEIGHT): each vCPU's
    /// share from the next credit refill on.
    public func setWeight(_ newWeight: Int) {
        weight = max(1, newWeight)
        for vcpu in vcpus { vcpu.weight = weight }
    }

    /// The toolstack asks it to shut down (TERN_DOMCTL_REQUEST_*).
    public func requestShutdown(_ request: UInt32) {
        guard !state.isStopped else { return }
        shutdownRequest = request
    }

    /// Hands every frame back (the caller frees them) and marks it dead.
    public func takeAllFrames() -> (memory: [MemoryExtent], overhead: [UInt64]) {
        let taken = (memoryExtents, overheadFrames)
        memoryExtents = []
        memoryFrameCount = 0
        overheadFrames = []
        state = .dead
        return taken
    }
}

/// `frames` contiguous host frames starting at `hostBase`, seen by the
/// guest at `guestBase` (nil: right after the previous extent, as DomU
/// memory is packed from 0; Dom0's extents are identity-mapped).
public struct MemoryExtent: Equatable {
    public var hostBase: UInt64
    public var frames: Int
    public var guestBase: UInt64?

    public init(hostBase: UInt64, frames: Int, guestBase: UInt64? = nil) {
        self.hostBase = hostBase
        self.frames = frames
        self.guestBase = guestBase
    }
}
