import XCTest
@testable import TernCore

/// Tern's one-shot host timer plan: ticks at their period whatever else
/// interrupts, guest deadlines served when they fall.
final class TimerScheduleTests: XCTestCase {
    let tick: UInt64 = 10_000_000   // 100 Hz

    func testWithoutDeadlinesItInterruptsAtEachTick() {
        var s = TimerSchedule(tickNanoseconds: tick, now: 1_000)
        XCTAssertEqual(s.rearm(now: 1_000), tick)
        XCTAssertNil(s.rearm(now: 2_000), "already armed for that tick")
        XCTAssertEqual(s.expire(now: 1_000 + tick).ticks, 1)
        XCTAssertEqual(s.rearm(now: 1_000 + tick), tick)
    }

    func testAnEarlierDeadlineIsServedAndTicksKeepTheirPeriod() {
        var s = TimerSchedule(tickNanoseconds: tick, now: 0)
        _ = s.rearm(now: 0)
        XCTAssertTrue(s.note(deadline: 3_000_000))
        XCTAssertFalse(s.note(deadline: 7_000_000), "later than the earliest")
        XCTAssertEqual(s.rearm(now: 1_000_000), 2_000_000)
        let early = s.expire(now: 3_000_000)
        XCTAssertEqual(early.ticks, 0)
        XCTAssertTrue(early.deadlineDue)
        XCTAssertEqual(s.earliestDeadline, TimerSchedule.none, "the scan notes the next ones")
        XCTAssertTrue(s.note(deadline: 7_000_000))
        XCTAssertEqual(s.rearm(now: 3_000_000), 4_000_000)
        XCTAssertEqual(s.expire(now: 7_000_000).ticks, 0)
        XCTAssertEqual(s.rearm(now: 7_000_000), 3_000_000, "then the tick at 10 ms")
        let atTick = s.expire(now: tick)
        XCTAssertEqual(atTick.ticks, 1)
        XCTAssertFalse(atTick.deadlineDue)
    }

    func testTicksMissedWhileInterruptsWereOffAreCounted() {
        var s = TimerSchedule(tickNanoseconds: tick, now: 0)
        XCTAssertEqual(s.expire(now: 3 * tick + 5).ticks, 3)
        XCTAssertEqual(s.nextTick, 4 * tick)
        XCTAssertEqual(s.expire(now: 4 * tick - 1).ticks, 0, "an early interrupt counts none")
    }

    func testAPassedOrFarDeadlineIsClamped() {
        var s = TimerSchedule(tickNanoseconds: tick, now: 0)
        XCTAssertTrue(s.note(deadline: 5))
        XCTAssertEqual(s.rearm(now: 100), 0, "already passed: at once")
        XCTAssertFalse(s.note(deadline: 0), "0 is no timer")
        var far = TimerSchedule(tickNanoseconds: tick, now: 0)
        XCTAssertTrue(far.note(deadline: 3_600 * 1_000_000_000))
        XCTAssertEqual(far.rearm(now: 0), tick, "never more than a tick away")
    }
}
