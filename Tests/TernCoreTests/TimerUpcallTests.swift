import XCTest
import TernABI
@testable import TernCore

/// The timer's upcall (ABI 0.6, docs/abi.md): with TERN_VIRQ_TIMER unbound
/// it sets upcall_pending in the event page, so it stays visible to BLOCK
/// and to a guest polling its page until the guest clears it, whether or
/// not the vCPU has a vector (issue 13: without one, it was lost at the
/// vCPU's next entry and BLOCK never returned).
final class TimerUpcallTests: XCTestCase {
    var machine: FakeHostMachine!
    var host: InterDomainHost!
    var guest: Domain!

    override func setUp() {
        machine = FakeHostMachine(base: 0x10_0000, size: 8 << 20)
        host = InterDomainHost(machine: machine)
        guest = host.build(id: 1, name: "poll")
        guest.events.page!.upcallPendingFlag.pointee = 0
        guest.vcpus[0].upcallPending = false
    }

    override func tearDown() { guest = nil; host = nil; machine = nil }

    /// What the arch layer does at the vCPU's next entry: inject the vector,
    /// or (without one) nothing, and the request is done either way.
    func enter(_ vcpu: VCPU) { vcpu.upcallPending = false }

    func block() -> HypercallOutcome {
        Hypercalls.dispatch(number: UInt64(TERN_HC_BLOCK), arguments: (0, 0, 0, 0, 0), vcpu: guest.vcpus[0],
                            domain: guest, host: host)
    }

    func testAPastDeadlineWithoutAVectorStaysPendingForBlock() {
        XCTAssertEqual(guest.vcpus[0].upcallVector, 0)
        XCTAssertEqual(host.call(guest, TERN_HC_SET_TIMER, 1), 0)
        XCTAssertEqual(host.upcallFlag(guest), 1, "visible in the event page")
        enter(guest.vcpus[0])
        XCTAssertEqual(block(), .resume(0), "BLOCK returns: the upcall is still pending")
        XCTAssertEqual(block(), .resume(0), "until the guest clears it")
        guest.events.page!.upcallPendingFlag.pointee = 0
        XCTAssertEqual(block(), .block)
    }

    func testAnExpiredTimerWakesABlockedVCPUWithoutAVector() {
        XCTAssertEqual(host.call(guest, TERN_HC_SET_TIMER, host.now + 5_000), 0)
        XCTAssertEqual(block(), .block)
        let vcpu = guest.vcpus[0]
        vcpu.state = .blocked
        host.now += 5_000
        EventDelivery.timerExpired(vcpu, of: guest)
        XCTAssertEqual(vcpu.timerDeadline, 0)
        XCTAssertTrue(vcpu.hasPendingEvent, "what the run loop's scan wakes it on")
        enter(vcpu)
        XCTAssertTrue(vcpu.hasPendingEvent, "still, after an entry with nothing to inject")
    }

    func testWithAVectorTheUpcallIsRaisedOnceAndTheFlagIsTheGuests() {
        XCTAssertEqual(host.call(guest, TERN_HC_SET_UPCALL, 0xF3), 0)
        XCTAssertEqual(host.call(guest, TERN_HC_SET_TIMER, 1), 0)
        XCTAssertTrue(guest.vcpus[0].upcallPending, "the vector is raised")
        XCTAssertEqual(host.upcallFlag(guest), 1)
        enter(guest.vcpus[0])
        // The SDK's handler acknowledges: clears the flag. BLOCK then sleeps.
        guest.events.page!.upcallPendingFlag.pointee = 0
        XCTAssertEqual(block(), .block)
    }

    func testABoundTimerVIRQMarksItsPortInstead() {
        let port = host.call(guest, TERN_HC_EVTCHN_BIND_VIRQ, UInt64(TERN_VIRQ_TIMER))
        XCTAssertGreaterThan(port, 0)
        XCTAssertEqual(host.call(guest, TERN_HC_SET_TIMER, 1), 0)
        XCTAssertTrue(host.isPending(guest, port: port))
        XCTAssertEqual(host.upcallFlag(guest), 1)
        host.acknowledge(guest, port: port)
        enter(guest.vcpus[0])
        XCTAssertEqual(block(), .block)
    }
}
