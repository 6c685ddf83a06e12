import XCTest
import TernABI
@testable import TernCore

/// A guest's life as the toolstack sees it (ABI 0.8, tern/control.h): why
/// it stopped, whether Tern keeps it stopped, shutdown requests it can act
/// on, its weight, and the pool of prepared shells with targets.
final class LifecycleTests: DomainControlFixture {

    func control(_ id: Int64, _ op: Int32, _ value: UInt64 = 0) -> Int64 {
        host.call(dom0, TERN_HC_DOMAIN_CONTROL, UInt64(id), UInt64(op), value)
    }

    func info(_ id: Int64) -> tern_domain_info {
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_INFO, UInt64(id), requestAt), 0)
        var out = tern_domain_info()
        _ = withUnsafeMutableBytes(of: &out) { host.memory(of: dom0).copyFromGuest(at: requestAt, into: $0) }
        return out
    }

    func testKeepFlagsAreAcceptedAndUnknownOnesRefused() {
        let keep = TERN_CREATE_KEEP_ON_POWEROFF | TERN_CREATE_KEEP_ON_REBOOT | TERN_CREATE_KEEP_ON_CRASH
        let (id, _) = create(request(flags: keep))
        XCTAssertGreaterThan(id, 0)
        XCTAssertEqual(host.domains[UInt16(id)]!.keepWhenStopped, [.poweroff, .reboot, .crash])
        XCTAssertEqual(create(request(name: "other", flags: 1 << 6)).0, -Int64(TERN_EINVAL))
    }

    /// Each end maps to a reason and a state; the creator's flags decide
    /// whether Tern keeps the domain after that end.
    func testStopReasonsAndWhatIsKept() {
        let domain = Domain(id: 3, name: Array("g".utf8), privileged: false)
        domain.state = .running
        domain.keepWhenStopped = [.crash]
        domain.stop(.tripleFault, now: 5_000, tsc: 1)
        XCTAssertEqual(domain.state, .crashed)
        XCTAssertEqual(domain.stopReason, .tripleFault)
        XCTAssertEqual(domain.stoppedNanoseconds, 5_000)
        XCTAssertTrue(domain.isKeptWhenStopped)
        domain.stop(.poweroff, now: 9_000, tsc: 2)
        XCTAssertEqual(domain.stopReason, .tripleFault, "the first end is the one that counts")

        let other = Domain(id: 4, name: Array("h".utf8), privileged: false)
        other.state = .running
        other.keepWhenStopped = [.crash]
        other.stop(StopReason(shutdownCode: UInt64(TERN_SHUTDOWN_POWEROFF)), now: 1, tsc: 1)
        XCTAssertEqual(other.state, .shutdown)
        XCTAssertFalse(other.isKeptWhenStopped, "only crashes are kept")
        XCTAssertEqual(StopReason(shutdownCode: UInt64(TERN_SHUTDOWN_REBOOT)), .reboot)
        XCTAssertEqual(StopReason(shutdownCode: UInt64(TERN_SHUTDOWN_CRASH)).state, .crashed)
        XCTAssertEqual(StopReason(shutdownCode: 77), .crash, "an unknown code is a crash")
    }

    func testDomainInfoTellsWeightTimesAndReason() {
        host.now = 42_000
        let (id, _) = create(request(flags: TERN_CREATE_START))
        let domain = host.domains[UInt16(id)]!
        domain.createdNanoseconds = 42_000
        var row = info(id)
        XCTAssertEqual(row.weight, UInt32(Scheduler.defaultWeight))
        XCTAssertEqual(row.stop_reason, UInt32(TERN_STOP_NONE))
        XCTAssertEqual(row.created_ns, 42_000)
        XCTAssertEqual(row.stopped_ns, 0)
        domain.stop(.badAccess, now: 50_000, tsc: 1)
        row = info(id)
        XCTAssertEqual(row.state, UInt32(TERN_DOMAIN_CRASHED))
        XCTAssertEqual(row.stop_reason, UInt32(TERN_STOP_BAD_ACCESS))
        XCTAssertEqual(row.stopped_ns, 50_000)
    }

    func testAKeptDomainIsDestroyedByTheToolstack() {
        let (id, _) = create(request(flags: TERN_CREATE_START | TERN_CREATE_KEEP_ON_CRASH))
        let domain = host.domains[UInt16(id)]!
        domain.stop(.crash, now: 1, tsc: 1)
        XCTAssertEqual(control(id, TERN_DOMCTL_SHUTDOWN), -Int64(TERN_ENOENT), "it has stopped already")
        XCTAssertEqual(control(id, TERN_DOMCTL_DESTROY), 0, "a stopped domain Tern kept ends with DESTROY")
        XCTAssertNil(host.domains[UInt16(id)])
    }

    /// A shutdown request is an event the guest hears only if it bound
    /// TERN_VIRQ_SHUTDOWN; what was asked is in its own domain info.
    func testShutdownRequestsReachOnlyAGuestThatListens() {
        let (id, _) = create(request(flags: TERN_CREATE_START))
        let guest = host.domains[UInt16(id)]!
        XCTAssertEqual(control(id, TERN_DOMCTL_REQUEST_POWEROFF), -Int64(TERN_ENOTCONN))
        let port = host.call(guest, TERN_HC_EVTCHN_BIND_VIRQ, UInt64(TERN_VIRQ_SHUTDOWN))
        XCTAssertGreaterThan(port, 0)
        XCTAssertEqual(control(id, TERN_DOMCTL_REQUEST_REBOOT), 0)
        XCTAssertTrue(host.isPending(guest, port: port))
        XCTAssertEqual(host.call(guest, TERN_HC_DOMAIN_INFO, UInt64(TERN_DOMID_SELF), 0x8000), 0)
        var mine = tern_domain_info()
        _ = withUnsafeMutableBytes(of: &mine) { host.memory(of: guest).copyFromGuest(at: 0x8000, into: $0) }
        XCTAssertEqual(mine.shutdown_request, UInt32(TERN_SHUTDOWN_REQUEST_REBOOT))
        XCTAssertEqual(control(0, TERN_DOMCTL_REQUEST_POWEROFF), -Int64(TERN_EPERM), "not Dom0")
        XCTAssertEqual(host.call(guest, TERN_HC_DOMAIN_CONTROL, UInt64(id), UInt64(TERN_DOMCTL_REQUEST_POWEROFF)),
                       -Int64(TERN_EPERM), "privileged")
    }

    func testWeightsAreSetInRange() {
        let (id, _) = create(request(flags: TERN_CREATE_START))
        XCTAssertEqual(control(id, TERN_DOMCTL_SET_WEIGHT, 0), -Int64(TERN_EINVAL))
        XCTAssertEqual(control(id, TERN_DOMCTL_SET_WEIGHT, 65536), -Int64(TERN_EINVAL))
        XCTAssertEqual(control(id, TERN_DOMCTL_SET_WEIGHT, 512), 0)
        XCTAssertEqual(info(id).weight, 512)
        XCTAssertEqual(host.domains[UInt16(id)]!.vcpus[0].weight, 512)
        XCTAssertEqual(control(0, TERN_DOMCTL_SET_WEIGHT, 1024), 0, "Dom0's own weight")
        XCTAssertEqual(dom0.weight, 1024)
    }

    // MARK: the pool

    func testPoolTargetsRefillAndRelease() {
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_PREPARE, 2 << 20, 2), 2)
        XCTAssertNil(host.pool.wanted, "the target is met")
        let held = host.pool.heldFrames
        XCTAssertGreaterThan(held, 2 * 512)
        let (id, out) = create(request(flags: TERN_CREATE_FROM_POOL))
        XCTAssertGreaterThan(id, 0)
        XCTAssertEqual(out.from_pool, 1)
        XCTAssertEqual(host.pool.wanted, 2 << 20, "one short of the target: refilled in the background")
        XCTAssertTrue(host.pool.refillOne(host: machine.memory, frames: &machine.frames))
        XCTAssertEqual(host.pool.ready(2 << 20), 2)
        XCTAssertFalse(host.pool.refillOne(host: machine.memory, frames: &machine.frames), "nothing more wanted")
        let free = machine.frames.freeFrames
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_PREPARE, 2 << 20, 0), 0, "0 releases that size")
        XCTAssertEqual(machine.frames.freeFrames, free + held)
        XCTAssertTrue(host.pool.targets.isEmpty)
    }

    func testThePoolHoldsAFewSizesOnly() {
        for i in 1...UInt64(TERN_POOL_SIZES_MAX) { XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_PREPARE, i * (2 << 20), 1), 1) }
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_PREPARE, 10 << 20, 1), -Int64(TERN_ENOSPC))
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_PREPARE, 2 << 20, 3), 3, "a size it has: fine")
        XCTAssertEqual(host.pool.sizes.map(\.memory_bytes), [2 << 20, 4 << 20, 6 << 20, 8 << 20])
        XCTAssertEqual(host.pool.sizes.map(\.target), [3, 1, 1, 1])
    }

    /// Out of memory: the refill stops trying (no log flood, no busy idle
    /// loop) until something changes.
    func testARefillThatRunsOutOfMemoryStalls() {
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_PREPARE, 64 << 20, 1), 0, "48 MiB of memory: it cannot")
        XCTAssertTrue(host.pool.refillStalled)
        XCTAssertNil(host.pool.wanted)
        XCTAssertFalse(host.pool.refillOne(host: machine.memory, frames: &machine.frames))
    }
}
