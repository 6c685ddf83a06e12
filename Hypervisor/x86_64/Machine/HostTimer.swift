import TernCPU

/// Tern's one timer interrupt, the LAPIC timer, in one-shot mode: armed
/// for the earlier of the scheduler's next tick (Layout.timerHz) and the
/// earliest guest deadline it was told of (a vCPU's one-shot timer, Dom0's
/// virtual LAPIC timer), as Core/TimerSchedule.swift plans it. A guest's
/// timer then fires when it asked, not at the next 10 ms tick. One-shot
/// mode: a new initial count restarts the countdown (APM vol. 2, 16.4.1).
enum HostTimer {
    static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    nonisolated(unsafe) static var countsPerSecond: UInt64 = 0
    nonisolated(unsafe) static var schedule = TimerSchedule(tickNanoseconds: nanosecondsPerSecond / Layout.timerHz, now: 0)
    /// Set by the interrupt when a deadline has passed: the run loop scans
    /// the vCPUs (RunLoop.wakeTimers).
    nonisolated(unsafe) static var deadlineDue = false

    static func start(countsPerSecond: UInt64) {
        self.countsPerSecond = countsPerSecond
        LAPIC.startOneShot()
        let now = SystemTime.nowNanoseconds()
        schedule = TimerSchedule(tickNanoseconds: nanosecondsPerSecond / Layout.timerHz, now: now)
        arm(now: now)
    }

    /// The timer's interrupt.
    static func interrupt() {
        let now = SystemTime.nowNanoseconds()
        let (ticks, due) = schedule.expire(now: now)
        Platform.ticks &+= ticks
        if due { deadlineDue = true }
        arm(now: now)
    }

    /// A guest deadline (system ns; 0 = none) the timer must wake Tern for.
    static func note(deadline: UInt64) {
        if schedule.note(deadline: deadline) { arm(now: SystemTime.nowNanoseconds()) }
    }

    static func arm(now: UInt64) {
        guard let delay = schedule.rearm(now: now) else { return }
        // delay <= one tick (10 ms): the product cannot overflow.
        LAPIC.startCountdown(max(1, delay * countsPerSecond / nanosecondsPerSecond))
    }
}
