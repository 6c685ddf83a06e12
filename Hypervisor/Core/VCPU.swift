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
    public internal(set) var state: State = .offline
    /// Credit scheduler balance (Scheduler.swift).
    public var credit = 0
    /// Tick of the last time it was picked: round-robin among equals.
    public var lastPicked: UInt64 = 0
    /// One-shot timer: system time in ns, 0 = none (TERN_HC_SET_TIMER).
    public var timerDeadline: UInt64 = 0
    /// Upcall vector (TERN_HC_SET_UPCALL), 0 = none.
    public var upcallVector: UInt8 = 0
    /// An upcall waits to be injected.
    public var upcallPending = false
    public var cpuTimeCycles: UInt64 = 0
    /// Architecture context (VMCB and the registers VMRUN does not save).
    public var context = VCPUContext()

    public init(domainID: UInt16, index: Int) {
        self.domainID = domainID
        self.index = index
    }
}
