/// When Tern's one-shot host timer must next interrupt: at the scheduler's
/// next tick (a fixed period) or at the earliest guest deadline it was told
/// of, whichever is first. Pure bookkeeping in system nanoseconds; the
/// x86-64 layer (Machine/HostTimer.swift) turns a delay into LAPIC counts.
///
/// - Ticks keep their period whatever else interrupts: an interrupt counts
///   the ticks whose time has come (several if interrupts were held off).
/// - Deadlines are only lowered between scans: a cancelled timer costs one
///   early interrupt. When the earliest has passed, the interrupt reports it
///   and forgets it; the caller's scan of the vCPUs notes those to come.
/// - An interrupt can be lost below Tern (issue 13: QEMU's SVM emulation
///   drops a request racing with VMRUN or #VMEXIT; real CPUs have errata
///   and SMIs). `isOverdue` tells the run loop, at every pass, that the
///   interrupt for `armedFor` is more than a tick late: the caller then
///   expires and re-arms as the interrupt would have. Expiring twice (the
///   late interrupt still comes) counts nothing twice.
public struct TimerSchedule {
    public static let none = UInt64.max

    public let tickNanoseconds: UInt64
    public private(set) var nextTick: UInt64
    public private(set) var earliestDeadline = TimerSchedule.none
    /// What the countdown runs to; none once it has fired.
    public private(set) var armedFor = TimerSchedule.none

    public init(tickNanoseconds: UInt64, now: UInt64) {
        self.tickNanoseconds = tickNanoseconds
        self.nextTick = now &+ tickNanoseconds
    }

    /// The timer interrupt at `now`: the ticks that are due, and whether the
    /// earliest deadline has passed.
    public mutating func expire(now: UInt64) -> (ticks: UInt64, deadlineDue: Bool) {
        armedFor = TimerSchedule.none
        var ticks: UInt64 = 0
        if now >= nextTick {
            ticks = (now - nextTick) / tickNanoseconds + 1
            nextTick &+= ticks * tickNanoseconds
        }
        let due = now >= earliestDeadline
        if due { earliestDeadline = TimerSchedule.none }
        return (ticks, due)
    }

    /// A deadline (0 = none) to interrupt for. True if it is the new earliest.
    public mutating func note(deadline: UInt64) -> Bool {
        guard deadline != 0, deadline < earliestDeadline else { return false }
        earliestDeadline = deadline
        return true
    }

    /// The interrupt the countdown was armed for is more than a tick late
    /// at `now`: take it as lost.
    public func isOverdue(now: UInt64) -> Bool {
        armedFor != TimerSchedule.none && now >= armedFor &+ tickNanoseconds
    }

    /// A pass of the run loop at `now`: nil while the interrupt is not
    /// overdue; else what the lost interrupt would have reported (the
    /// caller re-arms, as after an interrupt).
    public mutating func recoverIfOverdue(now: UInt64) -> (ticks: UInt64, deadlineDue: Bool)? {
        isOverdue(now: now) ? expire(now: now) : nil
    }

    /// The delay to program from `now` (at most one tick), or nil when the
    /// countdown already runs to the right time.
    public mutating func rearm(now: UInt64) -> UInt64? {
        let target = min(nextTick, earliestDeadline)
        guard target != armedFor else { return nil }
        armedFor = target
        return target > now ? min(target - now, tickNanoseconds) : 0
    }
}
