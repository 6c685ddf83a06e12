import XCTest
@testable import TernCore

/// The state changes the arch layer asks Core for (it cannot set a
/// domain's or vCPU's state itself: the two are separate modules).
final class DomainStateTests: XCTestCase {
    func domain() -> (Domain, VCPU) {
        let d = Domain(id: 3, name: Array("d".utf8), privileged: false)
        let v = VCPU(domainID: 3, index: 0)
        d.addVCPU(v)
        return (d, v)
    }

    func testStartAtBootRunsEveryVCPU() {
        let (d, v) = domain()
        d.startAtBoot()
        XCTAssertEqual(d.state, .running)
        XCTAssertEqual(v.state, .runnable)
    }

    func testBuiltForTheToolstackWaitsPaused() {
        let (d, v) = domain()
        d.markBuilt()
        XCTAssertEqual(d.state, .paused)
        XCTAssertEqual(v.state, .offline)
        d.startAtBoot()
        XCTAssertEqual(d.state, .paused, "only a created domain starts at boot")
    }

    func testBlockAndWake() {
        let (d, v) = domain()
        d.startAtBoot()
        d.block(v)
        XCTAssertEqual(v.state, .blocked)
        XCTAssertEqual(d.state, .blocked, "every vCPU blocked")
        XCTAssertTrue(d.wake(v))
        XCTAssertEqual(v.state, .runnable)
        XCTAssertFalse(d.wake(v), "only a blocked vCPU wakes")
        d.refreshState()
        XCTAssertEqual(d.state, .running)
    }

    func testDyingOnlyBeforeDead() {
        let (d, _) = domain()
        d.markStopped(.shutdown)
        d.markDying()
        XCTAssertEqual(d.state, .dying)
        _ = d.takeAllFrames()
        d.markDying()
        XCTAssertEqual(d.state, .dead, "a dead domain stays dead")
    }
}
