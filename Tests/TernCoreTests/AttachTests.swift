import XCTest
import TernABI
@testable import TernCore

/// TERN_HC_ATTACH and what it enables: Dom0 (built with no event page and
/// no grant table, as Linux knows nothing of them) gets both from its own
/// memory, then binds a guest's port, is signalled through its upcall IRQ,
/// maps grants and (privileged) foreign frames, serves a channel as a
/// backend with no device page, and detaches with nothing left behind. An
/// unprivileged Linux (a virtual LAPIC, no hardware) attaches with a vector.
final class AttachTests: XCTestCase {
    var machine: FakeHostMachine!
    var host: InterDomainHost!
    var dom0: Domain!, guest: Domain!
    let request: UInt64 = 0x9_0000
    let eventPage: UInt64 = 0xA_0000
    let grantTable: UInt64 = 0xB_0000

    override func setUp() {
        machine = FakeHostMachine(base: 0x10_0000, size: 24 << 20)
        host = InterDomainHost(machine: machine)
        dom0 = host.build(id: 0, name: "dom0", privileged: true, emulation: .deviceOwner)
        // As Dom0Builder leaves it: a grant window, nothing else shared.
        forgetSharedPages(dom0)
        guest = host.build(id: 1, name: "guest")
    }

    override func tearDown() { dom0 = nil; guest = nil; host = nil; machine = nil }

    /// A domain built as a Linux is: no event page, no grant table, no devices.
    func forgetSharedPages(_ domain: Domain) {
        domain.detachEvents()
        domain.devices = DeviceList()
        domain.grants.setUp(gpa: 0, entries: 0, windowGPA: domain.grants.windowGPA, windowFrames: domain.grants.windowFrames)
    }

    func attach(_ caller: Domain? = nil, events: UInt64? = nil, table: UInt64? = nil, entries: UInt32 = 512,
                via: Int32 = TERN_UPCALL_VIA_ISA_IRQ, line: UInt32 = 5,
                reserved: UInt32 = 0, flags: UInt32 = 0, devicePage: UInt64 = 0, controlPages: UInt64 = 0) -> (Int64, tern_attach) {
        let caller = caller ?? dom0!
        var r = tern_attach()
        r.event_page_gpa = events ?? eventPage
        r.grant_table_gpa = table ?? grantTable
        r.grant_entries = entries
        r.upcall_via = UInt32(via)
        r.upcall_line = line
        r.reserved1 = reserved
        r.flags = flags
        r.device_page_gpa = devicePage
        r.control_pages_gpa = controlPages
        XCTAssertTrue(withUnsafeBytes(of: &r) { host.memory(of: caller).copyToGuest(at: request, from: $0) })
        let result = host.call(caller, TERN_HC_ATTACH, request)
        XCTAssertTrue(withUnsafeMutableBytes(of: &r) { host.memory(of: caller).copyFromGuest(at: request, into: $0) })
        return (result, r)
    }

    func testBeforeAttachingDom0HasNoEventsOrGrants() {
        XCTAssertEqual(host.call(dom0, TERN_HC_EVTCHN_ALLOC_UNBOUND, 1), -Int64(TERN_ENOSYS))
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_MAP, 1, 8, dom0.grants.windowGPA, 0), -Int64(TERN_ENOSYS))
    }

    func testOnlyGoodRequestsAttach() {
        XCTAssertEqual(attach(guest).0, -Int64(TERN_EEXIST), "a PV guest has its page from its build")
        XCTAssertEqual(attach(events: eventPage + 8).0, -Int64(TERN_EINVAL), "misaligned event page")
        XCTAssertEqual(attach(table: grantTable + 8).0, -Int64(TERN_EINVAL), "misaligned table")
        XCTAssertEqual(attach(entries: 100).0, -Int64(TERN_EINVAL), "not whole pages")
        XCTAssertEqual(attach(entries: 8192).0, -Int64(TERN_EINVAL), "too many entries")
        XCTAssertEqual(attach(line: 4).0, -Int64(TERN_EINVAL), "the UART's IRQ")
        XCTAssertEqual(attach(line: 0).0, -Int64(TERN_EINVAL))
        XCTAssertEqual(attach(via: 0).0, -Int64(TERN_EINVAL), "no route")
        XCTAssertEqual(attach(via: 3).0, -Int64(TERN_EINVAL), "an unknown route")
        XCTAssertEqual(attach(table: eventPage).0, -Int64(TERN_EINVAL), "overlapping pages")
        XCTAssertEqual(attach(reserved: 1).0, -Int64(TERN_EINVAL))
        XCTAssertEqual(attach(events: 1 << 40).0, -Int64(TERN_EFAULT), "outside Dom0's memory")
        XCTAssertEqual(attach(table: (2 << 20) - 4096, entries: 1024).0, -Int64(TERN_EFAULT), "runs past its end")
        XCTAssertNil(dom0.events.page, "nothing was taken by a refused call")
        let (result, answer) = attach()
        XCTAssertEqual(result, 0)
        XCTAssertEqual(answer.grant_window_gpa, dom0.grants.windowGPA)
        XCTAssertEqual(Int(answer.grant_window_frames), dom0.grants.windowFrames)
        XCTAssertEqual(dom0.upcall, .isaLine(5))
        XCTAssertNil(dom0.vcpus[0].eventFlag, "its IOAPIC pin, not the page's byte, wakes it")
        XCTAssertEqual(attach().0, -Int64(TERN_EEXIST), "attached once")
    }

    func testAnUnprivilegedLinuxAttachesWithAVectorOfItsLAPIC() {
        let linux = host.build(id: 2, name: "linux", emulation: [.localAPIC, .serialPort])
        forgetSharedPages(linux)
        XCTAssertEqual(attach(linux, via: TERN_UPCALL_VIA_ISA_IRQ, line: 5).0, -Int64(TERN_EINVAL),
                       "ISA lines are the machine's: for the domain that programs its interrupt controllers")
        XCTAssertEqual(attach(linux, via: TERN_UPCALL_VIA_VECTOR, line: 31).0, -Int64(TERN_EINVAL), "an exception vector")
        XCTAssertEqual(attach(linux, via: TERN_UPCALL_VIA_VECTOR, line: 256).0, -Int64(TERN_EINVAL))
        XCTAssertEqual(attach(linux, via: TERN_UPCALL_VIA_VECTOR, line: 0xF3).0, 0)
        XCTAssertEqual(linux.upcall, .localAPICVector(0xF3))
        XCTAssertNil(linux.vcpus[0].eventFlag, "its LAPIC wakes it")
        // A guest's send reaches it: the page says so, the arch layer raises the vector.
        let port = host.call(linux, TERN_HC_EVTCHN_ALLOC_UNBOUND, 1)
        let theirs = host.call(guest, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 2, UInt64(port))
        XCTAssertGreaterThan(theirs, 0)
        host.acknowledge(linux, port: port)
        linux.vcpus[0].upcallPending = false
        XCTAssertEqual(host.call(guest, TERN_HC_EVTCHN_SEND, UInt64(theirs)), 0)
        XCTAssertEqual(host.upcallFlag(linux), 1)
        XCTAssertTrue(linux.vcpus[0].upcallPending)
        XCTAssertEqual(attach(linux, events: 0).0, 0, "and detaches")
        XCTAssertEqual(linux.upcall, .virtualInterrupt)
    }

    func testAPVGuestAttachesNothingWithoutALAPICOrTheHardware() {
        let pv = host.build(id: 2, name: "pv")
        forgetSharedPages(pv)
        XCTAssertEqual(attach(pv, via: TERN_UPCALL_VIA_ISA_IRQ, line: 5).0, -Int64(TERN_EINVAL))
        XCTAssertEqual(attach(pv, via: TERN_UPCALL_VIA_VECTOR, line: 0xF3).0, -Int64(TERN_EINVAL))
    }

    /// The vCPU's wake-up flag follows the page when the page comes after
    /// the vCPU (it was cached once, when the vCPU was added).
    func testTheWakeFlagFollowsAPageAttachedAfterTheVCPU() {
        let pv = host.build(id: 2, name: "pv")
        let vcpu = pv.vcpus[0]
        XCTAssertNotNil(vcpu.eventFlag, "built with its page")
        pv.detachEvents()
        XCTAssertNil(vcpu.eventFlag)
        XCTAssertFalse(vcpu.hasPendingEvent)
        let base = host.memory(of: pv).mutableBytes(at: eventPage, count: 4096)!.baseAddress!
        pv.attachEvents(page: EventPage(base: base), upcall: .virtualInterrupt)
        XCTAssertEqual(vcpu.eventFlag, pv.events.page?.upcallPendingFlag)
        pv.events.page!.upcallPendingFlag.pointee = 1
        XCTAssertTrue(vcpu.hasPendingEvent, "the byte wakes it from BLOCK and HLT")
    }

    func testThe8259WatchComesOnlyWithTheHardware() {
        let domain = Domain(id: 5, name: [], privileged: false)
        XCTAssertFalse(domain.chooseEmulation([.localAPIC, .legacyPICWatch]))
        XCTAssertEqual(domain.emulation, [])
        XCTAssertTrue(domain.chooseEmulation(.deviceOwner))
        XCTAssertNotNil(domain.context.uart)
        XCTAssertNotNil(domain.context.legacyPIC)
        XCTAssertTrue(domain.chooseEmulation([.localAPIC]))
        XCTAssertNil(domain.context.uart, "the models follow the set")
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
        XCTAssertEqual(dom0.upcall, .virtualInterrupt)
        XCTAssertNil(dom0.vcpus[0].eventFlag)
        XCTAssertEqual(host.call(dom0, TERN_HC_EVTCHN_ALLOC_UNBOUND, 1), -Int64(TERN_ENOSYS))
        XCTAssertEqual(attach(events: 0).0, -Int64(TERN_ENOENT), "nothing left to detach")
        XCTAssertEqual(attach().0, 0, "and it may attach again")
    }

    func nestedLeafFrame(_ domain: Domain, _ gpa: UInt64) -> UInt64? { host.nestedLeaf(domain, gpa)?.physical }

    // MARK: A Linux guest's device page from its own RAM (ABI 0.9)

    let devicePage: UInt64 = 0xC_0000
    let controlPages: UInt64 = 0xD_0000

    func linuxGuest(id: UInt16 = 2) -> Domain {
        let linux = host.build(id: id, name: "linux", emulation: [.localAPIC, .serialPort])
        forgetSharedPages(linux)
        return linux
    }

    /// A Linux guest's attach with its device page and control pages.
    func attachDevices(_ linux: Domain, events: UInt64? = nil, table: UInt64? = nil, entries: UInt32 = 512,
                       flags: UInt32 = UInt32(TERN_ATTACH_DEVICES), device: UInt64? = nil, control: UInt64? = nil) -> Int64 {
        attach(linux, events: events, table: table, entries: entries, via: TERN_UPCALL_VIA_VECTOR, line: 0xF3,
               flags: flags, devicePage: device ?? devicePage, controlPages: control ?? controlPages).0
    }

    /// The page as the guest reads it, in its own RAM.
    func guestDevicePage(_ domain: Domain, at gpa: UInt64) -> tern_device_page {
        var page = tern_device_page()
        XCTAssertTrue(withUnsafeMutableBytes(of: &page) { host.memory(of: domain).copyFromGuest(at: gpa, into: $0) })
        return page
    }

    func entry(_ page: tern_device_page, _ index: Int) -> tern_device_entry {
        withUnsafeBytes(of: page.entries) { $0.load(fromByteOffset: index * MemoryLayout<tern_device_entry>.size, as: tern_device_entry.self) }
    }

    func testALinuxGuestRefusesBadDevicePages() {
        let linux = linuxGuest()
        let page: UInt64 = 4096
        let ramEnd: UInt64 = 2 << 20
        XCTAssertEqual(attachDevices(linux, flags: 1 << 1), -Int64(TERN_EINVAL), "an unknown flag")
        XCTAssertEqual(attachDevices(linux, flags: UInt32(TERN_ATTACH_DEVICES) | 1 << 31), -Int64(TERN_EINVAL), "an unknown flag")
        XCTAssertEqual(attachDevices(linux, device: devicePage + 8), -Int64(TERN_EINVAL), "a misaligned device page")
        XCTAssertEqual(attachDevices(linux, control: controlPages + 2048), -Int64(TERN_EINVAL), "misaligned control pages")
        XCTAssertEqual(attachDevices(linux, device: eventPage), -Int64(TERN_EINVAL), "the device page is the event page")
        XCTAssertEqual(attachDevices(linux, device: grantTable), -Int64(TERN_EINVAL), "the device page in the grant table")
        XCTAssertEqual(attachDevices(linux, device: controlPages + 7 * page), -Int64(TERN_EINVAL), "the device page is a control page")
        XCTAssertEqual(attachDevices(linux, control: grantTable - 4 * page), -Int64(TERN_EINVAL), "control pages over the grant table")
        XCTAssertEqual(attachDevices(linux, control: eventPage - 8 * page), 0, "control pages just below the event page")
        XCTAssertEqual(linux.devices.controlPagesGPA, eventPage - 8 * page)
        XCTAssertEqual(attach(linux, events: 0).0, 0, "detached again")
        XCTAssertEqual(attachDevices(linux, device: 1 << 40), -Int64(TERN_EFAULT), "a device page outside its RAM")
        XCTAssertEqual(attachDevices(linux, control: ramEnd - 4 * page), -Int64(TERN_EFAULT), "control pages past its RAM")
        XCTAssertEqual(attachDevices(linux, device: UInt64.max - page + 1), -Int64(TERN_EFAULT), "a device page at the top: no wrap")
        XCTAssertEqual(attachDevices(linux, control: UInt64.max - page + 1), -Int64(TERN_EFAULT), "control pages that wrap")
        XCTAssertEqual(attachDevices(linux, events: UInt64.max - page + 1), -Int64(TERN_EFAULT), "an event page that wraps")
        XCTAssertEqual(attachDevices(linux, table: UInt64.max - page + 1), -Int64(TERN_EFAULT), "a grant table that wraps")
        XCTAssertNil(linux.devices.page, "nothing was taken by a refused call")
        XCTAssertNil(linux.events.page)
        XCTAssertEqual(attachDevices(guest), -Int64(TERN_EEXIST), "a PV guest has its device page from its build")
    }

    func testA07RequestIsReadAndWrittenAs48Bytes() {
        let linux = linuxGuest()
        // What lies after a 0.7 caller's 48 bytes is not Tern's to read or write.
        let tail: [UInt8] = Array(repeating: 0xA5, count: 16)
        var r = tern_attach()
        r.event_page_gpa = eventPage
        r.grant_table_gpa = grantTable
        r.grant_entries = 512
        r.upcall_via = UInt32(TERN_UPCALL_VIA_VECTOR)
        r.upcall_line = 0xF3
        let memory = host.memory(of: linux)
        XCTAssertTrue(withUnsafeBytes(of: &r) { memory.copyToGuest(at: request, from: UnsafeRawBufferPointer(rebasing: $0[..<48])) })
        XCTAssertTrue(tail.withUnsafeBytes { memory.copyToGuest(at: request + 48, from: $0) })
        XCTAssertEqual(host.call(linux, TERN_HC_ATTACH, request), 0)
        var after = [UInt8](repeating: 0, count: 16)
        XCTAssertTrue(after.withUnsafeMutableBytes { memory.copyFromGuest(at: request + 48, into: $0) })
        XCTAssertEqual(after, tail, "the bytes after a 0.7 request are untouched")
        XCTAssertNil(linux.devices.page, "no device page without TERN_ATTACH_DEVICES")
        XCTAssertEqual(Devices.addChannel(frontend: linux, backend: dom0, devid: 0, host: host), -TERN_EINVAL,
                       "attached without a device page: no devices")
    }

    func testALinuxGuestListsItsChannelInItsOwnPage() {
        let linux = linuxGuest()
        XCTAssertEqual(attach().0, 0, "Dom0, the backend")
        XCTAssertEqual(Devices.addChannel(frontend: linux, backend: dom0, devid: 0, host: host), -TERN_EAGAIN,
                       "not attached yet: try again once its core module is")
        XCTAssertEqual(attachDevices(linux), 0)
        var page = guestDevicePage(linux, at: devicePage)
        XCTAssertEqual(page.magic, TERN_DEVICE_PAGE_MAGIC)
        XCTAssertEqual(page.count, 0, "no console: a Linux guest's is its UART")
        XCTAssertEqual(page.version % 2, 0)
        XCTAssertEqual(Devices.addChannel(frontend: linux, backend: dom0, devid: 0, host: host), 0)
        page = guestDevicePage(linux, at: devicePage)
        XCTAssertEqual(page.count, 1)
        let listed = entry(page, 0)
        XCTAssertEqual(listed.type, UInt16(TERN_DEVICE_CHANNEL))
        XCTAssertEqual(listed.backend, 0)
        XCTAssertEqual(listed.grant_ref, 1, "slot 0 stays the console's")
        XCTAssertEqual(listed.control_gpa, controlPages + 4096)
        XCTAssertEqual(host.grantFlags(linux, ref: 1), UInt16(TERN_GRANT_ACCESS), "its control page granted to Dom0")
        // Dom0 connects as tern-echo does.
        let port = host.call(dom0, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 2, UInt64(listed.port))
        XCTAssertGreaterThan(port, 0)
        XCTAssertGreaterThanOrEqual(host.call(dom0, TERN_HC_GRANT_MAP, 2, 1, dom0.grants.windowGPA, 0), 0)
        XCTAssertEqual(attach(linux, events: 0).0, -Int64(TERN_EBUSY), "Dom0 maps its control page")
        XCTAssertEqual(host.call(dom0, TERN_HC_GRANT_UNMAP, 0), 0)
        XCTAssertEqual(attach(linux, events: 0).0, 0, "detached")
        XCTAssertNil(linux.devices.page, "Tern writes nothing more there")
        XCTAssertEqual(linux.devices.entries.count, 0)
        XCTAssertEqual(host.status(dom0, port: port).state, UInt32(TERN_EVTCHN_PEER_CLOSED), "Dom0's end sees the close")
        XCTAssertEqual(attachDevices(linux), 0, "and it may attach again, with no devices")
        XCTAssertEqual(guestDevicePage(linux, at: devicePage).count, 0)
    }

    func testADetachingLinuxBackendClosesItsFrontendsEntry() {
        let linux = linuxGuest()
        XCTAssertEqual(attachDevices(linux), 0)
        XCTAssertEqual(Devices.addChannel(frontend: guest, backend: linux, devid: 3, host: host), 0)
        let page = guestDevicePage(linux, at: devicePage)
        XCTAssertEqual(page.count, 1)
        XCTAssertEqual(entry(page, 0).flags & ~TERN_DEVICE_INSTANCE_MASK, TERN_DEVICE_FLAG_BACKEND)
        XCTAssertEqual(entry(page, 0).control_gpa, 0, "the frontend's page address is not the backend's business")
        XCTAssertEqual(attach(linux, events: 0).0, 0)
        let theirs = host.deviceEntries(guest).entries.first { $0.type == UInt16(TERN_DEVICE_CHANNEL) }
        XCTAssertEqual(theirs?.state, UInt32(TERN_DEVICE_CLOSED), "the frontend learns its backend is gone")
    }

}
