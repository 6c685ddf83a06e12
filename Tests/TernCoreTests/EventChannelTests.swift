import XCTest
import TernABI
@testable import TernCore

/// Event channels between real (fake-hosted) domains: binding only by the
/// named domain, delivery through the event page with mask and upcall
/// rules, closing, VIRQs, and the port limit.
final class EventChannelTests: XCTestCase {
    var machine: FakeHostMachine!
    var host: InterDomainHost!
    var a: Domain!, b: Domain!, c: Domain!

    override func setUp() {
        machine = FakeHostMachine(base: 0x10_0000, size: 24 << 20)
        host = InterDomainHost(machine: machine)
        a = host.build(id: 1, name: "a")
        b = host.build(id: 2, name: "b")
        c = host.build(id: 3, name: "c")
    }

    override func tearDown() { a = nil; b = nil; c = nil; host = nil; machine = nil }

    /// A port of `a` bound to one of `b`: (a's port, b's port).
    func connect() -> (Int64, Int64) {
        let pa = host.call(a, TERN_HC_EVTCHN_ALLOC_UNBOUND, 2)
        XCTAssertGreaterThan(pa, 0)
        let pb = host.call(b, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 1, UInt64(pa))
        XCTAssertGreaterThan(pb, 0)
        host.acknowledge(b, port: pb)   // the bind leaves it pending (no lost notification)
        return (pa, pb)
    }

    func testEveryDomUStartsWithItsConsolePortBoundToTern() {
        XCTAssertEqual(host.status(a, port: 1).state, UInt32(TERN_EVTCHN_TERN))
        XCTAssertEqual(host.status(a, port: 1).remote_domid, UInt16(TERN_DOMID_TERN))
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_CLOSE, 1), -Int64(TERN_EBUSY), "the console's port is the device's")
    }

    func testSendSetsPendingSelectorAndUpcallAndWakesABlockedPeer() {
        let (pa, pb) = connect()
        XCTAssertEqual(host.status(a, port: pa).state, UInt32(TERN_EVTCHN_INTERDOMAIN))
        XCTAssertEqual(host.status(b, port: pb).remote_port, UInt32(pa))
        b.vcpus[0].state = .blocked
        b.vcpus[0].upcallPending = false
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_SEND, UInt64(pa)), 0)
        XCTAssertTrue(host.isPending(b, port: pb))
        XCTAssertEqual(host.upcallFlag(b), 1)
        XCTAssertEqual(b.events.page!.word(EventPage.vcpuOffset) & (1 << UInt64(pb / 64)), 1 << UInt64(pb / 64))
        XCTAssertEqual(b.vcpus[0].state, .runnable, "a blocked peer is woken")
        XCTAssertTrue(b.vcpus[0].hasPendingEvent)
        XCTAssertFalse(host.isPending(a, port: pa), "the sender's own port is untouched")
        // Once the guest acknowledged, nothing is pending any more: BLOCK blocks.
        host.acknowledge(b, port: pb)
        b.vcpus[0].upcallPending = false
        XCTAssertFalse(b.vcpus[0].hasPendingEvent)
    }

    func testAPendingPortIsNotSignalledTwiceAndAMaskedOneOnlyOnUnmask() {
        let (pa, pb) = connect()
        XCTAssertEqual(host.call(b, TERN_HC_EVTCHN_MASK, UInt64(pb)), 0)
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_SEND, UInt64(pa)), 0)
        XCTAssertTrue(host.isPending(b, port: pb), "masked ports still latch")
        XCTAssertEqual(host.upcallFlag(b), 0, "but raise no upcall")
        XCTAssertEqual(host.call(b, TERN_HC_EVTCHN_UNMASK, UInt64(pb)), 0)
        XCTAssertEqual(host.upcallFlag(b), 1, "unmasking a pending port raises the upcall then")
        b.events.page!.upcallPendingFlag.pointee = 0
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_SEND, UInt64(pa)), 0)
        XCTAssertEqual(host.upcallFlag(b), 0, "already pending: no second upcall")
    }

    func testOnlyTheNamedDomainMayBindAPort() {
        let pa = host.call(a, TERN_HC_EVTCHN_ALLOC_UNBOUND, 2)
        XCTAssertEqual(host.call(c, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 1, UInt64(pa)), -Int64(TERN_EPERM))
        XCTAssertEqual(host.call(c, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 1, 900), -Int64(TERN_EINVAL), "a free port")
        XCTAssertEqual(host.call(c, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 1, 0), -Int64(TERN_EINVAL))
        XCTAssertEqual(host.call(c, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 9, 1), -Int64(TERN_ENOENT), "no such domain")
        XCTAssertEqual(host.call(c, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 1 << 40, 1), -Int64(TERN_ENOENT))
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_ALLOC_UNBOUND, 77), -Int64(TERN_ENOENT))
        let pb = host.call(b, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 1, UInt64(pa))
        XCTAssertGreaterThan(pb, 0)
        XCTAssertEqual(host.call(c, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 1, UInt64(pa)), -Int64(TERN_EINVAL), "bound already")
    }

    func testSendingOnAPortTheCallerDoesNotHaveIsRefused() {
        let (pa, _) = connect()
        for port: UInt64 in [0, 900, 1023, 1024, 1 << 40, UInt64.max] {
            XCTAssertEqual(host.call(c, TERN_HC_EVTCHN_SEND, port), -Int64(TERN_EINVAL), "port \(port)")
        }
        XCTAssertEqual(host.call(c, TERN_HC_EVTCHN_SEND, UInt64(pa) + 5), -Int64(TERN_EINVAL))
        XCTAssertFalse((0..<64).contains { host.isPending(a, port: Int64($0)) && $0 > 1 }, "nothing reached a")
    }

    func testClosingTwiceIsAnErrorAndThePeerSeesItsEndClosed() {
        let (pa, pb) = connect()
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_CLOSE, UInt64(pa)), 0)
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_CLOSE, UInt64(pa)), -Int64(TERN_EINVAL))
        XCTAssertEqual(host.status(a, port: pa).state, UInt32(TERN_EVTCHN_FREE))
        XCTAssertEqual(host.status(b, port: pb).state, UInt32(TERN_EVTCHN_PEER_CLOSED))
        XCTAssertTrue(host.isPending(b, port: pb), "the peer is told")
        XCTAssertEqual(host.call(b, TERN_HC_EVTCHN_SEND, UInt64(pb)), -Int64(TERN_ENOTCONN))
        XCTAssertEqual(host.call(b, TERN_HC_EVTCHN_CLOSE, UInt64(pb)), 0)
        XCTAssertEqual(host.call(b, TERN_HC_EVTCHN_CLOSE, UInt64(pb)), -Int64(TERN_EINVAL))
    }

    func testAStoppedPeerIsUnreachableAndTeardownClosesItsPorts() {
        let (pa, pb) = connect()
        let spare = host.call(c, TERN_HC_EVTCHN_ALLOC_UNBOUND, 1)   // allocated for a, never bound
        a.markStopped(.crashed)
        DomainTeardown.disconnect(a, host: host)
        XCTAssertEqual(host.status(b, port: pb).state, UInt32(TERN_EVTCHN_PEER_CLOSED))
        XCTAssertEqual(host.status(c, port: spare).state, UInt32(TERN_EVTCHN_PEER_CLOSED))
        XCTAssertNil(a.events.page, "nothing reaches a dead domain's page")
        XCTAssertEqual(host.call(b, TERN_HC_EVTCHN_ALLOC_UNBOUND, 1), -Int64(TERN_ENOENT))
        _ = pa
    }

    func testVIRQsBindOnceAndPrivilegedOnesAreDom0s() {
        let timer = host.call(a, TERN_HC_EVTCHN_BIND_VIRQ, UInt64(TERN_VIRQ_TIMER))
        XCTAssertGreaterThan(timer, 0)
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_BIND_VIRQ, UInt64(TERN_VIRQ_TIMER)), -Int64(TERN_EEXIST))
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_BIND_VIRQ, UInt64(TERN_VIRQ_DOMAIN_DIED)), -Int64(TERN_EPERM))
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_BIND_VIRQ, UInt64(TERN_VIRQ_CONSOLE)), -Int64(TERN_EPERM))
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_BIND_VIRQ, UInt64(TERN_VIRQ_COUNT)), -Int64(TERN_EINVAL))
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_SEND, UInt64(timer)), -Int64(TERN_EINVAL), "Tern raises VIRQs, not guests")
        XCTAssertEqual(host.call(a, TERN_HC_SET_TIMER, 5), 0, "a deadline in the past fires at once")
        XCTAssertTrue(host.isPending(a, port: timer))
        XCTAssertEqual(host.status(a, port: timer).virq, UInt32(TERN_VIRQ_TIMER))
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_CLOSE, UInt64(timer)), 0)
        XCTAssertGreaterThan(host.call(a, TERN_HC_EVTCHN_BIND_VIRQ, UInt64(TERN_VIRQ_TIMER)), 0, "closing unbinds the VIRQ")
    }

    func testPortsRunOutAtTheLimitAndComeBack() {
        var last: Int64 = 0
        while true {
            let port = host.call(a, TERN_HC_EVTCHN_ALLOC_UNBOUND, 2)
            if port < 0 { XCTAssertEqual(port, -Int64(TERN_ENOSPC)); break }
            last = port
        }
        XCTAssertEqual(last, Int64(TERN_EVENT_PORTS) - 1)
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_CLOSE, 500), 0)
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_ALLOC_UNBOUND, 2), 500)
    }

    func testADomainWithoutAnEventPageGetsENOSYS() {
        let bare = Domain(id: 9, name: Array("bare".utf8), privileged: true)
        bare.addVCPU(VCPU(domainID: 9, index: 0))
        host.domains[9] = bare
        XCTAssertEqual(host.call(bare, TERN_HC_EVTCHN_ALLOC_UNBOUND, 1), -Int64(TERN_ENOSYS))
        XCTAssertEqual(host.call(bare, TERN_HC_GRANT_MAP, 1, 8, 0, 0), -Int64(TERN_ENOSYS))
        XCTAssertEqual(host.call(bare, TERN_HC_SHARED_LAYOUT, 0), -Int64(TERN_ENOSYS))
    }

    /// Random sends, masks, unmasks and acknowledgements on many ports: a
    /// send on an unmasked port always leaves it pending with the upcall
    /// flag up; nothing else is ever pending.
    func testRandomTrafficKeepsThePendingInvariants() {
        var pairs: [(Int64, Int64)] = []
        for _ in 0..<40 { pairs.append(connect()) }
        var rng = SplitMix(seed: 5)
        var sent = Set<Int64>()
        for _ in 0..<5000 {
            let (pa, pb) = pairs[Int(rng.next() % UInt64(pairs.count))]
            switch rng.next() % 4 {
            case 0:
                let wasPending = host.isPending(b, port: pb)
                XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_SEND, UInt64(pa)), 0)
                sent.insert(pb)
                if !wasPending && !b.events.page!.isMasked(UInt32(pb)) { XCTAssertEqual(host.upcallFlag(b), 1) }
            case 1: XCTAssertEqual(host.call(b, TERN_HC_EVTCHN_MASK, UInt64(pb)), 0)
            case 2:
                XCTAssertEqual(host.call(b, TERN_HC_EVTCHN_UNMASK, UInt64(pb)), 0)
                if sent.contains(pb) { XCTAssertEqual(host.upcallFlag(b), 1) }
            default:
                host.acknowledge(b, port: pb)
                sent.remove(pb)
            }
            for (_, port) in pairs { XCTAssertEqual(host.isPending(b, port: port), sent.contains(port)) }
        }
    }
}
