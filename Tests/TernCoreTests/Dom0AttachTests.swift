import XCTest
import TernABI
@testable import TernCore

/// TERN_HC_DOM0_ATTACH and what it enables: Dom0 (built with no event page
/// and no grant table, as Linux knows nothing of them) gets both from its
/// own memory, then binds a guest's port, is signalled through its upcall
/// IRQ, maps grants and (privileged) foreign frames, serves a channel as a
/// backend with no device page, and detaches with nothing left behind.
final class Dom0AttachTests: XCTestCase {
    var machine: FakeHostMachine!
    var host: InterDomainHost!
    var dom0: Domain!, guest: Domain!
    let request: UInt64 = 0x9_0000
    let eventPage: UInt64 = 0xA_0000
    let grantTable: UInt64 = 0xB_0000

    override func setUp() {
        machine = FakeHostMachine(base: 0x10_0000, size: 24 << 20)
        host = InterDomainHost(machine: machine)
        dom0 = host.build(id: 0, name: "dom0", privileged: true)
        // As Dom0Builder leaves it: a grant window, nothing else shared.
        dom0.events = EventChannels()
        dom0.devices = DeviceList()
        dom0.grants.setUp(gpa: 0, entries: 0, windowGPA: dom0.grants.windowGPA, windowFrames: dom0.grants.windowFrames)
        dom0.vcpus[0].eventFlag = nil
        guest = host.build(id: 1, name: "guest")
    }

    override func tearDown() { dom0 = nil; guest = nil; host = nil; machine = nil }

    func attach(_ caller: Domain? = nil, events: UInt64? = nil, table: UInt64? = nil, entries: UInt32 = 512,
                irq: UInt32 = 5, reserved: UInt32 = 0) -> (Int64, tern_dom0_attach) {
        let caller = caller ?? dom0!
        var r = tern_dom0_attach()
        r.event_page_gpa = events ?? eventPage
        r.grant_table_gpa = table ?? grantTable
        r.grant_entries = entries
        r.upcall_irq = irq
        r.reserved = reserved
        XCTAssertTrue(withUnsafeBytes(of: &r) { host.memory(of: caller).copyToGuest(at: request, from: $0) })
        let result = host.call(caller, TERN_HC_DOM0_ATTACH, request)
        XCTAssertTrue(withUnsafeMutableBytes(of: &r) { host.memory(of: caller).copyFromGuest(at: request, into: $0) })
        return (result, r)
    }

    func testBeforeAttachingDom0HasNoEventsOrGrants() {
        XCTAssertEqual(host.call(dom0, TERN_HC_EVTCHN_ALLOC_UNBOUND, 1), -Int64(TERN_ENOSYS))
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_MAP, 1, 8, dom0.grants.windowGPA, 0), -Int64(TERN_ENOSYS))
    }

    func testOnlyGoodRequestsAttach() {
        XCTAssertEqual(attach(guest).0, -Int64(TERN_EPERM), "a DomU")
        XCTAssertEqual(attach(events: eventPage + 8).0, -Int64(TERN_EINVAL), "misaligned event page")
        XCTAssertEqual(attach(table: grantTable + 8).0, -Int64(TERN_EINVAL), "misaligned table")
        XCTAssertEqual(attach(entries: 100).0, -Int64(TERN_EINVAL), "not whole pages")
        XCTAssertEqual(attach(entries: 8192).0, -Int64(TERN_EINVAL), "too many entries")
        XCTAssertEqual(attach(irq: 4).0, -Int64(TERN_EINVAL), "the UART's IRQ")
        XCTAssertEqual(attach(irq: 0).0, -Int64(TERN_EINVAL))
        XCTAssertEqual(attach(table: eventPage).0, -Int64(TERN_EINVAL), "overlapping pages")
        XCTAssertEqual(attach(reserved: 1).0, -Int64(TERN_EINVAL))
        XCTAssertEqual(attach(events: 1 << 40).0, -Int64(TERN_EFAULT), "outside Dom0's memory")
        XCTAssertEqual(attach(table: (2 << 20) - 4096, entries: 1024).0, -Int64(TERN_EFAULT), "runs past its end")
        XCTAssertNil(dom0.events.page, "nothing was taken by a refused call")
        let (result, answer) = attach()
        XCTAssertEqual(result, 0)
        XCTAssertEqual(answer.grant_window_gpa, dom0.grants.windowGPA)
        XCTAssertEqual(Int(answer.grant_window_frames), dom0.grants.windowFrames)
        XCTAssertEqual(dom0.upcallIRQ, 5)
        XCTAssertEqual(attach().0, -Int64(TERN_EEXIST), "attached once")
    }

    func testAGuestsSendRaisesDom0sUpcall() {
        XCTAssertEqual(attach().0, 0)
        let port = host.call(dom0, TERN_HC_EVTCHN_ALLOC_UNBOUND, 1)
        XCTAssertGreaterThan(port, 0)
        let theirs = host.call(guest, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 0, UInt64(port))
        XCTAssertGreaterThan(theirs, 0)
        host.acknowledge(dom0, port: port)   // the bind's own notification
        dom0.vcpus[0].upcallPending = false
        XCTAssertEqual(host.call(guest, TERN_HC_EVTCHN_SEND, UInt64(theirs)), 0)
        XCTAssertTrue(host.isPending(dom0, port: port))
        XCTAssertEqual(host.upcallFlag(dom0), 1)
        XCTAssertTrue(dom0.vcpus[0].upcallPending, "the arch layer raises IRQ 5 for it")
        XCTAssertEqual(host.call(dom0, TERN_HC_EVTCHN_SEND, UInt64(port)), 0)
        XCTAssertTrue(host.isPending(guest, port: theirs))
    }

    func testDom0MapsGrantsAndPrivilegedForeignFrames() {
        XCTAssertEqual(attach().0, 0)
        let window = dom0.grants.windowGPA
        let frame: UInt64 = 0x8_0000
        host.grant(guest, ref: 9, frameGPA: frame, to: 0)
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_MAP, 1, 9, window, 0), 0)
        let foreign = UInt64(TERN_GRANT_MAP_FOREIGN)
        let readOnly = UInt64(TERN_GRANT_MAP_READONLY)
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_MAP, 1, frame / 4096, window + 4096, foreign | readOnly), 1)
        XCTAssertEqual(nestedLeafFrame(dom0, window), nestedLeafFrame(dom0, window + 4096), "one frame, two ways")
        XCTAssertEqual(host.nestedLeaf(dom0, window + 4096)?.flags.contains(.writable), false)
        XCTAssertEqual(guest.grants.mappedByOthers, 2)
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_MAP, 1, 512, window + 8192, foreign), -Int64(TERN_EINVAL),
                       "frame 512 is past the guest's 2 MiB")
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_MAP, 1, 0, window + 8192, 1 << 5), -Int64(TERN_EINVAL), "unknown flag")
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_UNMAP, 1), 0)
        XCTAssertEqual(guest.grants.mappedByOthers, 1)
        XCTAssertEqual(host.grantFlags(guest, ref: 9) & UInt16(TERN_GRANT_IN_USE), UInt16(TERN_GRANT_IN_USE),
                       "the foreign unmap leaves the grant's count alone")
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_UNMAP, 0), 0)
        XCTAssertEqual(guest.grants.mappedByOthers, 0)
    }

    func testOnlyAPrivilegedDomainMapsForeignFrames() {
        let other = host.build(id: 2, name: "other")
        XCTAssertEqual(host.call(other, TERN_HC_GRANT_MAP, 1, 0x80, other.grants.windowGPA, UInt64(TERN_GRANT_MAP_FOREIGN)),
                       -Int64(TERN_EPERM))
    }

    func testADyingGuestWaitsForDom0sForeignMapping() {
        XCTAssertEqual(attach().0, 0)
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_MAP, 1, 0x80, dom0.grants.windowGPA, UInt64(TERN_GRANT_MAP_FOREIGN)), 0)
        host.control(guest, .destroy)
        XCTAssertEqual(guest.state, .dying)
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_UNMAP, 0), 0)
        XCTAssertEqual(guest.state, .dead, "released at the last unmap")
    }

    func testDom0ServesAChannelWithoutADevicePage() {
        XCTAssertEqual(attach().0, 0)
        XCTAssertEqual(Devices.addChannel(frontend: guest, backend: dom0, devid: 0, host: host), 0)
        let entry = host.deviceEntries(guest).entries[1]
        XCTAssertEqual(entry.backend, 0)
        let port = host.call(dom0, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 1, UInt64(entry.port))
        XCTAssertGreaterThan(port, 0)
        XCTAssertGreaterThanOrEqual(host.call(dom0, TERN_HC_GRANT_MAP, 1, UInt64(entry.grant_ref), dom0.grants.windowGPA, 0), 0)
    }

    func testDetachingClosesPortsAndUnmaps() {
        XCTAssertEqual(attach().0, 0)
        let port = host.call(dom0, TERN_HC_EVTCHN_ALLOC_UNBOUND, 1)
        let theirs = host.call(guest, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 0, UInt64(port))
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_MAP, 1, 0x80, dom0.grants.windowGPA, UInt64(TERN_GRANT_MAP_FOREIGN)), 0)
        XCTAssertEqual(attach(events: 0).0, 0)
        XCTAssertEqual(host.status(guest, port: theirs).state, UInt32(TERN_EVTCHN_PEER_CLOSED))
        XCTAssertEqual(guest.grants.mappedByOthers, 0)
        XCTAssertNil(host.nestedLeaf(dom0, dom0.grants.windowGPA))
        XCTAssertEqual(dom0.upcallIRQ, 0)
        XCTAssertEqual(host.call(dom0, TERN_HC_EVTCHN_ALLOC_UNBOUND, 1), -Int64(TERN_ENOSYS))
        XCTAssertEqual(attach(events: 0).0, -Int64(TERN_ENOENT), "nothing left to detach")
        XCTAssertEqual(attach().0, 0, "and it may attach again")
    }

    func nestedLeafFrame(_ domain: Domain, _ gpa: UInt64) -> UInt64? { host.nestedLeaf(domain, gpa)?.physical }
}
