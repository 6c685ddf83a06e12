import XCTest
@testable import TernCore

/// The credit scheduler, driven as the run loop drives it: at each timer
/// tick, v = pickNext(), then tick() charges whoever ran.
final class SchedulerTests: XCTestCase {
    func runnable(_ domainID: UInt16, _ index: Int = 0) -> VCPU {
        let v = VCPU(domainID: domainID, index: index)
        v.state = .runnable
        return v
    }

    /// Runs `ticks` pick+tick cycles; how many ticks each vCPU got.
    @discardableResult
    func run(_ scheduler: Scheduler, ticks: Int, _ vcpus: [VCPU], beforeEachPick: (Int) -> Void = { _ in }) -> [Int] {
        var counts = [Int](repeating: 0, count: vcpus.count)
        for t in 0..<ticks {
            beforeEachPick(t)
            if let v = scheduler.pickNext(), let i = vcpus.firstIndex(where: { $0 === v }) { counts[i] += 1 }
            scheduler.tick()
        }
        return counts
    }

    func assertNear(_ value: Int, _ expected: Double, tolerance: Double, _ message: String = "",
                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertGreaterThanOrEqual(Double(value), expected * (1 - tolerance), message, file: file, line: line)
        XCTAssertLessThanOrEqual(Double(value), expected * (1 + tolerance), message, file: file, line: line)
    }

    // MARK: Picking

    func testAStartedGuestRunsNextOnceAheadOfCredit() {
        let s = Scheduler()
        let dom0 = runnable(0), guest = runnable(1), other = runnable(2)
        for v in [dom0, guest, other] { s.add(v, weight: 256) }
        XCTAssertTrue(s.pickNext() === dom0)
        dom0.credit = 10_000
        XCTAssertFalse(s.shouldPreempt())
        guest.boosted = true   // Domain.unpause
        XCTAssertTrue(s.shouldPreempt(), "a boosted vCPU preempts")
        XCTAssertTrue(s.pickNext() === guest, "ahead of dom0's credit")
        XCTAssertFalse(guest.boosted, "once")
        XCTAssertTrue(s.pickNext() === dom0, "then credit decides again")
    }

    func testUnpausingBoostsEveryVCPU() {
        let d = Domain(id: 1, name: Array("g".utf8), privileged: false)
        d.addVCPU(VCPU(domainID: 1, index: 0))
        d.pause()
        d.unpause()
        XCTAssertTrue(d.vcpus[0].boosted)
        XCTAssertEqual(d.vcpus[0].state, .runnable)
    }

    func testPickNextMarksTheChosenRunning() {
        let s = Scheduler()
        let a = runnable(1)
        s.add(a, weight: 256)
        XCTAssertTrue(s.pickNext() === a)
        XCTAssertEqual(a.state, .running)
        XCTAssertTrue(s.current === a)
        // A refill gave it its share of one period (3 ticks' worth; alone).
        XCTAssertEqual(a.credit, 300)
        s.tick()
        XCTAssertEqual(a.credit, 200)
        XCTAssertEqual(s.ticks, 1)
    }

    func testThePreviousVCPUGoesBackToRunnable() {
        let s = Scheduler()
        let a = runnable(1), b = runnable(2)
        s.add(a, weight: 256)
        s.add(b, weight: 256)
        XCTAssertTrue(s.pickNext() === a)
        s.tick()
        XCTAssertTrue(s.pickNext() === b)     // b has more credit now
        XCTAssertEqual(a.state, .runnable)
        XCTAssertEqual(b.state, .running)
    }

    func testNothingRunnableGivesNil() {
        let s = Scheduler()
        XCTAssertNil(s.pickNext())
        let offline = VCPU(domainID: 1, index: 0)
        XCTAssertEqual(offline.state, .offline)
        let blocked = runnable(2)
        blocked.state = .blocked
        s.add(offline, weight: 256)
        s.add(blocked, weight: 256)
        XCTAssertNil(s.pickNext())
        XCTAssertNil(s.current)
        XCTAssertEqual(blocked.credit, 0)      // no refill for the blocked
        s.tick()                               // idle tick: nobody charged
        XCTAssertEqual(blocked.credit, 0)
        XCTAssertEqual(offline.state, .offline)
        XCTAssertEqual(blocked.state, .blocked)
    }

    func testWhenTheRunningVCPUBlocksTheCPUIdles() {
        let s = Scheduler()
        let a = runnable(1)
        s.add(a, weight: 256)
        XCTAssertTrue(s.pickNext() === a)
        a.state = .blocked                     // it executed TERN_HC_BLOCK
        let credit = a.credit
        s.tick()                               // not charged: it is not running
        XCTAssertEqual(a.credit, credit)
        XCTAssertNil(s.pickNext())
        XCTAssertEqual(a.state, .blocked)      // not put back to runnable
    }

    // MARK: Fairness

    func testEqualWeightsShareRoundRobin() {
        let s = Scheduler()
        let vcpus = (0..<3).map { runnable(UInt16($0 + 1)) }
        for v in vcpus { s.add(v, weight: 256) }
        var order: [Int] = []
        for _ in 0..<9 {
            let v = s.pickNext()!
            order.append(vcpus.firstIndex { $0 === v }!)
            s.tick()
        }
        XCTAssertEqual(order, [0, 1, 2, 0, 1, 2, 0, 1, 2])
        let counts = run(s, ticks: 300, vcpus)
        for (i, c) in counts.enumerated() { assertNear(c, 100, tolerance: 0.10, "vCPU \(i)") }
        XCTAssertEqual(counts.reduce(0, +), 300)   // never idle while someone can run
    }

    func testEqualWeightsManyVCPUs() {
        let s = Scheduler()
        let vcpus = (0..<7).map { runnable(UInt16($0 / 2 + 1), $0 % 2) }
        for v in vcpus { s.add(v, weight: 256) }
        let counts = run(s, ticks: 700, vcpus)
        for (i, c) in counts.enumerated() { assertNear(c, 100, tolerance: 0.10, "vCPU \(i)") }
    }

    func testWeightsGiveProportionalShares() {
        let s = Scheduler()
        let heavy = runnable(1), light = runnable(2)
        s.add(heavy, weight: 512)
        s.add(light, weight: 256)
        let counts = run(s, ticks: 300, [heavy, light])
        XCTAssertEqual(counts[0] + counts[1], 300)
        assertNear(counts[0], 200, tolerance: 0.15, "weight 512")
        assertNear(counts[1], 100, tolerance: 0.15, "weight 256")
        let ratio = Double(counts[0]) / Double(counts[1])
        XCTAssertEqual(ratio, 2.0, accuracy: 0.3)
    }

    func testThreeWeights() {
        let s = Scheduler()
        let vcpus = [runnable(1), runnable(2), runnable(3)]
        for (v, w) in zip(vcpus, [768, 512, 256]) { s.add(v, weight: w) }
        let counts = run(s, ticks: 600, vcpus)
        assertNear(counts[0], 300, tolerance: 0.15)
        assertNear(counts[1], 200, tolerance: 0.15)
        assertNear(counts[2], 100, tolerance: 0.15)
    }

    func testWeightBelowOneCountsAsOne() {
        let s = Scheduler()
        let a = runnable(1), b = runnable(2)
        s.add(a, weight: 0)
        s.add(b, weight: -5)
        let counts = run(s, ticks: 100, [a, b])
        assertNear(counts[0], 50, tolerance: 0.10)
        assertNear(counts[1], 50, tolerance: 0.10)
    }

    func testBlockedVCPUIsNeverPickedAndKeepsItsCredit() {
        let s = Scheduler()
        let a = runnable(1), b = runnable(2), c = runnable(3)
        for v in [a, b, c] { s.add(v, weight: 256) }
        run(s, ticks: 4, [a, b, c])            // a ran twice, b and c once
        XCTAssertTrue(s.current === a)
        b.state = .blocked
        let saved = b.credit
        XCTAssertEqual(saved, 200)
        let counts = run(s, ticks: 200, [a, b, c])
        XCTAssertEqual(counts[1], 0)
        XCTAssertEqual(b.credit, saved)         // neither charged nor refilled
        assertNear(counts[0], 100, tolerance: 0.10)
        assertNear(counts[2], 100, tolerance: 0.10)
        // Woken: it runs again, first thing if it has the most credit.
        b.state = .runnable
        let again = run(s, ticks: 300, [a, b, c])
        XCTAssertGreaterThan(again[1], 0)
        for count in again { assertNear(count, 100, tolerance: 0.10) }
    }

    func testWokenVCPUWithMoreCreditRunsNext() {
        let s = Scheduler()
        let a = runnable(1), b = runnable(2)
        s.add(a, weight: 256)
        s.add(b, weight: 256)
        b.state = .blocked
        XCTAssertTrue(s.pickNext() === a)       // refill: a alone gets 300
        s.tick()
        b.state = .runnable
        b.credit = 10_000                       // e.g. saved across a long block
        XCTAssertTrue(s.pickNext() === b)
    }

    func testDebtCarriesOverARefill() {
        let s = Scheduler()
        let a = runnable(1), b = runnable(2)
        s.add(a, weight: 256)
        s.add(b, weight: 256)
        b.state = .blocked
        XCTAssertTrue(s.pickNext() === a)       // alone: 300
        for _ in 0..<8 { s.tick() }             // kept running (nobody to preempt for): -500
        XCTAssertEqual(a.credit, -500)
        b.state = .runnable
        XCTAssertTrue(s.pickNext() === b)       // refill: shares of 300; a keeps its debt
        XCTAssertEqual(a.credit, -200)
        XCTAssertEqual(b.credit, 300)
        var picks: [Bool] = []
        for _ in 0..<6 {
            s.tick()
            picks.append(s.pickNext() === a)
        }
        // b runs its 3 ticks; the refill gives a -200 + 300 = 100 and b 300,
        // so a runs once b is down to a's 100.
        XCTAssertEqual(picks, [false, false, false, false, true, false])
        XCTAssertEqual(a.credit, 0)
        XCTAssertEqual(b.credit, 100)
    }

    // MARK: Preemption

    func testShouldPreempt() {
        let s = Scheduler()
        XCTAssertTrue(s.shouldPreempt())        // nothing running: pick
        let a = runnable(1), b = runnable(2)
        s.add(a, weight: 256)
        s.add(b, weight: 256)
        XCTAssertTrue(s.pickNext() === a)       // both 300
        XCTAssertFalse(s.shouldPreempt())       // b has no more than a
        s.tick()                                // a 200 < b 300
        XCTAssertTrue(s.shouldPreempt())
        XCTAssertTrue(s.pickNext() === b)
        s.tick()                                // both 200
        XCTAssertFalse(s.shouldPreempt())
        // The running one blocked: give way.
        b.state = .blocked
        XCTAssertTrue(s.shouldPreempt())
    }

    func testOutOfCreditPreemptsOnlyIfSomeoneElseCanRun() {
        let s = Scheduler()
        let a = runnable(1), b = runnable(2)
        s.add(a, weight: 256)
        s.add(b, weight: 256)
        b.state = .blocked
        XCTAssertTrue(s.pickNext() === a)
        for _ in 0..<8 { s.tick() }             // far into debt
        XCTAssertLessThanOrEqual(a.credit, 0)
        XCTAssertFalse(s.shouldPreempt())       // alone: keep running
        b.state = .runnable
        b.credit = -1_000                       // even a poorer one gets a turn
        XCTAssertTrue(s.shouldPreempt())
    }

    // MARK: remove

    func testRemoveDomainForgetsItsVCPUsAndClearsCurrent() {
        let s = Scheduler()
        let d1a = runnable(1, 0), d1b = runnable(1, 1), d2 = runnable(2)
        s.add(d1a, weight: 256)
        s.add(d2, weight: 512)
        s.add(d1b, weight: 256)
        XCTAssertTrue(s.pickNext() === d2)      // most credit (weight 512)
        s.tick(); s.tick(); s.tick()
        XCTAssertTrue(s.pickNext() === d1a)
        s.remove(domainID: 1)
        XCTAssertNil(s.current)
        XCTAssertEqual(s.vcpus.count, 1)
        XCTAssertTrue(s.vcpus[0] === d2)
        for _ in 0..<10 {
            XCTAssertTrue(s.pickNext() === d2)
            s.tick()
        }
        s.remove(domainID: 2)
        XCTAssertNil(s.current)
        XCTAssertNil(s.pickNext())
    }

    func testRemoveOtherDomainKeepsCurrent() {
        let s = Scheduler()
        let a = runnable(1), b = runnable(2)
        s.add(a, weight: 256)
        s.add(b, weight: 256)
        XCTAssertTrue(s.pickNext() === a)
        s.remove(domainID: 2)
        XCTAssertTrue(s.current === a)
        s.remove(domainID: 9)                   // unknown: nothing happens
        XCTAssertEqual(s.vcpus.count, 1)
        // The weights stayed paired with their vCPUs: a alone gets it all.
        let counts = run(s, ticks: 30, [a])
        XCTAssertEqual(counts, [30])
    }

    func testRemoveKeepsWeightsPairedWithTheRightVCPUs() {
        // Remove the middle domain; the remaining two must keep 512:256.
        let s = Scheduler()
        let heavy = runnable(1), middle = runnable(2), light = runnable(3)
        s.add(heavy, weight: 512)
        s.add(middle, weight: 4096)
        s.add(light, weight: 256)
        s.remove(domainID: 2)
        let counts = run(s, ticks: 300, [heavy, light])
        assertNear(counts[0], 200, tolerance: 0.15)
        assertNear(counts[1], 100, tolerance: 0.15)
    }
}
