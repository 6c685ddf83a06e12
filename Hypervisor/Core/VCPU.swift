/// A virtual CPU: scheduling state plus the arch's saved context.
public final class VCPU {
    public enum State: Equatable {
        case runnable
        case running
        case blocked    // waiting for an upcall (TERN_HC_BLOCK, HLT)
        case offline    // its domain stopped, or not started yet
    }

    public let domainID: UInt16
    public let index: Int
    public internal(set) var state: State = .offline {
        // The scheduler looks only at vCPUs that became runnable (its run
        // queue), not at every vCPU of every guest.
        didSet { if state == .runnable && oldValue != .runnable { scheduler?.becameRunnable(self) } }
    }
    /// The scheduler it was added to (Scheduler.add); nil once removed.
    var scheduler: Scheduler?
    /// In the scheduler's run queue.
    var queued = false
    /// Its scheduler weight (Scheduler.add).
    var weight = Scheduler.defaultWeight
    /// Credit scheduler balance (Scheduler.swift).
    public var credit = 0
    /// Started (or resumed) by the toolstack and not picked since: runs
    /// before anyone else, once (Scheduler.pickNext).
    public var boosted = false
    /// Tick of the last time it was picked: round-robin among equals.
    public var lastPicked: UInt64 = 0
    /// One-shot timer: system time in ns, 0 = none (TERN_HC_SET_TIMER).
    public var timerDeadline: UInt64 = 0
    /// Upcall vector (TERN_HC_SET_UPCALL), 0 = none.
    public var upcallVector: UInt8 = 0
    /// An upcall waits to be injected.
    public var upcallPending = false
    /// Its interrupt controller model (a virtual LAPIC) has a vector it
    /// would deliver now: kept up to date by the arch layer
    /// (InterruptDelivery), which owns every route into the vCPU.
    public var interruptControllerReady = false
    /// The upcall_pending byte of its domain's event page, where that byte
    /// is what wakes it (UpcallRoute.flagWakes): set by Tern when an event
    /// channel fires, cleared by the guest. Follows the page: set and
    /// cleared with it (Domain.attachEvents, detachEvents).
    public internal(set) var eventFlag: UnsafeMutablePointer<UInt8>?
    /// Something would wake the vCPU from HLT or TERN_HC_BLOCK.
    public var hasPendingEvent: Bool {
        // SAFETY: eventFlag is in the domain's event page, set with it and
        // cleared at teardown before its memory goes (DomainTeardown).
        upcallPending || interruptControllerReady || (eventFlag?.pointee ?? 0) != 0
    }
    public var cpuTimeCycles: UInt64 = 0
    /// Architecture context (VMCB and the registers VMRUN does not save).
    public var context = VCPUContext()

    public init(domainID: UInt16, index: Int) {
        self.domainID = domainID
        self.index = index
    }
}
