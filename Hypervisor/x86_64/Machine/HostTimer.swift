import TernCore
import TernCPU

/// Tern's one timer interrupt, the LAPIC timer: armed for the earlier of
/// the scheduler's next tick (Layout.timerHz) and the earliest guest
/// deadline it was told of (a vCPU's one-shot timer, Dom0's virtual LAPIC
/// timer), as Core/TimerSchedule.swift plans it. A guest's timer then
/// fires when it asked, not at the next 10 ms tick.
///
/// Time must never hang on one interrupt's delivery (issue 13: under
/// QEMU's TCG a timer request racing with VMRUN or #VMEXIT was lost, the
/// one-shot countdown was never armed again, and the scheduler stopped for
/// good). Two guards, each enough to cost a lost interrupt at most a tick:
/// - the countdown runs in periodic mode: until Tern arms it again, it
///   fires again one delay later, and each firing makes the LAPIC raise
///   its interrupt anew (APM vol. 2, 16.4.1) — this also reaches a guest
///   that spins and never exits;
/// - every pass of the run loop checks the plan (`recoverIfLost`): an
///   interrupt more than a tick late is accounted as if it had come, and
///   the LAPIC is made to look at its pending interrupts again.
enum HostTimer {
    static let nanosecondsPerSecond: UInt64 = 1_000_000_000
    /// The shortest countdown: a due-now target fires after this long,
    /// which also bounds how often the periodic countdown can repeat.
    static let minimumDelayNanoseconds: UInt64 = 10_000

    static func start(countsPerSecond: UInt64) {
        self.countsPerSecond = countsPerSecond
        LAPIC.startPeriodic()
        let now = SystemTime.nowNanoseconds()
        schedule = TimerSchedule(tickNanoseconds: nanosecondsPerSecond / Layout.timerHz, now: now)
        arm(now: now)
    }

    /// The timer's interrupt.
    static func interrupt() {
        let now = SystemTime.nowNanoseconds()
        account(schedule.expire(now: now))
        arm(now: now)
    }

    /// At every pass of the run loop: the interrupt the countdown was
    /// armed for is more than a tick late. Merely held off (Tern had
    /// interrupts off that long, building a domain) it is taken now;
    /// still not taken, it was lost: do what it would have done.
    @inline(__always)
    static func recoverIfLost() {
        if tern_rdtsc() >= overdueAtTSC { recoverOverdue() }
    }

    static func recoverOverdue() {
        guard schedule.isOverdue(now: SystemTime.nowNanoseconds()) else { return }
        tern_take_pending_interrupts()
        let now = SystemTime.nowNanoseconds()
        let late = now &- schedule.armedFor
        guard let lost = schedule.recoverIfOverdue(now: now) else { return }
        recovered &+= 1
        if recovered & (recovered &- 1) == 0 {   // the 1st, 2nd, 4th, 8th...
            Log.warning("timer interrupt \(late / 1000) us late: taken as lost, recovered (\(recovered) so far)")
        }
        // A request the CPU dropped while the LAPIC still holds it in its
        // IRR is raised again when the LAPIC re-evaluates (a TPR write).
        LAPIC.reevaluatePending()
        account(lost)
        arm(now: now)
    }

    static func account(_ expired: (ticks: UInt64, deadlineDue: Bool)) {
        Platform.ticks &+= expired.ticks
        if expired.deadlineDue { deadlineDue = true }
    }

    /// A guest deadline (system ns; 0 = none) the timer must wake Tern for.
    static func note(deadline: UInt64) {
        if schedule.note(deadline: deadline) { arm(now: SystemTime.nowNanoseconds()) }
    }

    static func arm(now: UInt64) {
        guard let delay = schedule.rearm(now: now) else { return }
        overdueAtTSC = SystemTime.tsc(atNanoseconds: schedule.armedFor &+ schedule.tickNanoseconds)
        // delay <= one tick (10 ms): the product cannot overflow.
        LAPIC.startCountdown(max(minimumDelayNanoseconds, delay) * countsPerSecond / nanosecondsPerSecond)
    }
}
