import XCTest
import TernABI
@testable import TernCore

/// Device pages (noxs): what the toolstack's add and remove leave in both
/// domains' pages, the control page's grant and port, and the console
/// device Tern serves.
final class DeviceTests: XCTestCase {
    var machine: FakeHostMachine!
    var host: InterDomainHost!
    var a: Domain!, b: Domain!

    override func setUp() {
        machine = FakeHostMachine(base: 0x10_0000, size: 24 << 20)
        host = InterDomainHost(machine: machine)
        a = host.build(id: 1, name: "front")
        b = host.build(id: 2, name: "back")
    }

    override func tearDown() { a = nil; b = nil; host = nil; machine = nil }

    func testEveryDomUStartsWithItsConsole() {
        let (version, entries) = host.deviceEntries(a)
        XCTAssertEqual(version % 2, 0)
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries[0].type, UInt16(TERN_DEVICE_CONSOLE))
        XCTAssertEqual(entries[0].backend, UInt16(TERN_DOMID_TERN))
        XCTAssertEqual(entries[0].port, 1)
        XCTAssertEqual(entries[0].control_gpa, a.sharedLayout!.control_pages_gpa)
        XCTAssertEqual(a.devices.page!.load(as: UInt64.self), TERN_DEVICE_PAGE_MAGIC)
    }

    func testAChannelAppearsInBothPagesWithItsControlPageGrantAndPort() {
        let before = host.deviceEntries(b).version
        XCTAssertEqual(Devices.addChannel(frontend: a, backend: b, devid: 0, host: host), 0)
        let front = host.deviceEntries(a).entries[1], back = host.deviceEntries(b)
        XCTAssertEqual(back.entries.count, 2, "its own console, then the channel it serves")
        XCTAssertGreaterThan(back.version, before)
        XCTAssertEqual(back.version % 2, 0)
        XCTAssertEqual(front.type, UInt16(TERN_DEVICE_CHANNEL))
        XCTAssertEqual(front.flags, 1 << TERN_DEVICE_INSTANCE_SHIFT, "the frontend's first device: instance 1")
        XCTAssertEqual(back.entries[1].flags, TERN_DEVICE_FLAG_BACKEND | 1 << TERN_DEVICE_INSTANCE_SHIFT)
        XCTAssertEqual(front.grant_ref, 1)
        XCTAssertEqual(front.control_gpa, a.sharedLayout!.control_pages_gpa + 4096)
        XCTAssertEqual(back.entries[1].control_gpa, 0)
        XCTAssertEqual(host.status(a, port: Int64(front.port)).state, UInt32(TERN_EVTCHN_UNBOUND))
        XCTAssertEqual(host.status(a, port: Int64(front.port)).remote_domid, 2)
        // The backend does its part with what its own entry says.
        let entry = back.entries[1]
        XCTAssertGreaterThan(host.call(b, TERN_HC_EVTCHN_BIND_INTERDOMAIN, UInt64(entry.frontend), UInt64(entry.port)), 0)
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_MAP, UInt64(entry.frontend), UInt64(entry.grant_ref), b.grants.windowGPA, 0), 0)
        XCTAssertEqual(host.nestedLeaf(b, b.grants.windowGPA)?.physical,
                       GuestMemory(of: a, host: machine.memory).hostAddress(of: front.control_gpa))
        // Both were told.
        XCTAssertEqual(Devices.addChannel(frontend: a, backend: b, devid: 0, host: host), -TERN_EEXIST)
    }

    func testBadChannelsAreRefused() {
        XCTAssertEqual(Devices.addChannel(frontend: a, backend: a, devid: 0, host: host), -TERN_EINVAL)
        for devid: UInt16 in 0..<7 { XCTAssertEqual(Devices.addChannel(frontend: a, backend: b, devid: devid, host: host), 0) }
        XCTAssertEqual(Devices.addChannel(frontend: a, backend: b, devid: 7, host: host), -TERN_ENOSPC, "7 control pages")
        b.markStopped(.crashed)
        XCTAssertEqual(Devices.addChannel(frontend: a, backend: b, devid: 9, host: host), -TERN_ENOENT)
    }

    func testOnlyAPrivilegedDomainAddsAndRemoves() {
        let dom0 = host.build(id: 0, name: "dom0", privileged: true)
        var request = tern_device_add(type: UInt16(TERN_DEVICE_CHANNEL), devid: 4, frontend: 1, backend: 2, flags: 0, reserved: 0,
                                      port: 0, grant_ref: 0, control_gpa: 0)
        let at: UInt64 = 0x9_0000
        for d in [a!, dom0] { XCTAssertTrue(withUnsafeBytes(of: &request) { host.memory(of: d).copyToGuest(at: at, from: $0) }) }
        XCTAssertEqual(host.call(a, TERN_HC_DEVICE_ADD, at), -Int64(TERN_EPERM))
        XCTAssertEqual(host.call(a, TERN_HC_DEVICE_REMOVE, 1, UInt64(TERN_DEVICE_CHANNEL), 4), -Int64(TERN_EPERM))
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_ADD, at), 0)
        // The answer names what the frontend's entry says.
        var answer = tern_device_add()
        XCTAssertTrue(withUnsafeMutableBytes(of: &answer) { host.memory(of: dom0).copyFromGuest(at: at, into: $0) })
        let listed = host.deviceEntries(a).entries[1]
        XCTAssertEqual([answer.port, answer.grant_ref], [listed.port, listed.grant_ref])
        XCTAssertEqual(answer.control_gpa, listed.control_gpa)
        XCTAssertEqual(answer.grant_ref, 1, "slot 0 is the console's")
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_ADD, 1 << 40), -Int64(TERN_EFAULT))
        request.type = UInt16(TERN_DEVICE_CONSOLE)
        XCTAssertTrue(withUnsafeBytes(of: &request) { host.memory(of: dom0).copyToGuest(at: at, from: $0) })
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_ADD, at), -Int64(TERN_EINVAL), "the console is Tern's")
        let port = host.deviceEntries(a).entries[1].port
        let bound = host.call(b, TERN_HC_EVTCHN_BIND_INTERDOMAIN, 1, UInt64(port))
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_REMOVE, 1, UInt64(TERN_DEVICE_CHANNEL), 5), -Int64(TERN_ENOENT))
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_REMOVE, 1, UInt64(TERN_DEVICE_CHANNEL), 4), 0)
        XCTAssertEqual(host.deviceEntries(a).entries.count, 1, "only the console is left")
        XCTAssertEqual(host.deviceEntries(b).entries.count, 1)
        XCTAssertEqual(host.status(b, port: bound).state, UInt32(TERN_EVTCHN_PEER_CLOSED))
        XCTAssertEqual(host.grantFlags(a, ref: 1), 0, "the control page's grant ended")
    }

    func testADiskIsAddedAndRemovedAsAChannelIsBesideOne() {
        let dom0 = host.build(id: 0, name: "dom0", privileged: true)
        // Junk where the control page goes: a disk's starts zeroed (its
        // backend's version 0 means "not ready yet", tern/blkif.h).
        let control = a.sharedLayout!.control_pages_gpa + 4096
        XCTAssertTrue(host.memory(of: a).copyToGuest(at: control, from: UnsafeRawBufferPointer(start: [UInt8](repeating: 0xEE, count: 4096), count: 4096)))
        var request = tern_device_add(type: UInt16(TERN_DEVICE_BLOCK), devid: 0, frontend: 1, backend: 2, flags: 0, reserved: 0,
                                      port: 0, grant_ref: 0, control_gpa: 0)
        let at: UInt64 = 0x9_0000
        XCTAssertTrue(withUnsafeBytes(of: &request) { host.memory(of: dom0).copyToGuest(at: at, from: $0) })
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_ADD, at), 0)
        XCTAssertEqual(Devices.addChannel(frontend: a, backend: b, devid: 0, host: host), 0, "a channel with the same devid is another device")
        let entries = host.deviceEntries(a).entries
        XCTAssertEqual(entries.map { $0.type }, [UInt16(TERN_DEVICE_CONSOLE), UInt16(TERN_DEVICE_BLOCK), UInt16(TERN_DEVICE_CHANNEL)])
        XCTAssertEqual(entries[1].control_gpa, control)
        XCTAssertTrue(host.memory(of: a).mutableBytes(at: control, count: 4096)!.allSatisfy { $0 == 0 })
        XCTAssertEqual(host.deviceEntries(b).entries[1].type, UInt16(TERN_DEVICE_BLOCK))
        XCTAssertEqual(host.deviceEntries(b).entries[1].flags & ~TERN_DEVICE_INSTANCE_MASK, TERN_DEVICE_FLAG_BACKEND)
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_ADD, at), -Int64(TERN_EEXIST))
        // Removal names the type: the disk goes, the channel stays.
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_REMOVE, 1, UInt64(TERN_DEVICE_BLOCK), 0), 0)
        XCTAssertEqual(host.deviceEntries(a).entries.map { $0.type }, [UInt16(TERN_DEVICE_CONSOLE), UInt16(TERN_DEVICE_CHANNEL)])
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_REMOVE, 1, UInt64(TERN_DEVICE_BLOCK), 0), -Int64(TERN_ENOENT))
        // Types that are not split devices are refused, as is a type past 16 bits.
        for type in [UInt16(TERN_DEVICE_CONSOLE), 0, 5, UInt16.max] {
            request.type = type
            XCTAssertTrue(withUnsafeBytes(of: &request) { host.memory(of: dom0).copyToGuest(at: at, from: $0) })
            XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_ADD, at), -Int64(TERN_EINVAL), "type \(type)")
        }
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_REMOVE, 1, UInt64(TERN_DEVICE_BLOCK) | 1 << 16, 0), -Int64(TERN_EINVAL))
    }

    /// A detach and an attach again of the same device can give it the same
    /// control page, ref and port: only the instance (device.h) tells a
    /// frontend that looks after both that its device is a new one.
    func testADeviceAddedAgainIsANewInstanceInBothPages() {
        XCTAssertEqual(Devices.addChannel(frontend: a, backend: b, devid: 0, host: host), 0)
        let first = host.deviceEntries(a).entries[1]
        XCTAssertEqual(Devices.removeSplitDevice(type: UInt16(TERN_DEVICE_CHANNEL), frontend: a, devid: 0, host: host), 0)
        XCTAssertEqual(Devices.addChannel(frontend: a, backend: b, devid: 0, host: host), 0)
        let again = host.deviceEntries(a).entries[1], theirs = host.deviceEntries(b).entries[1]
        XCTAssertEqual([again.grant_ref, again.port], [first.grant_ref, first.port], "the same slot and port, reused")
        XCTAssertEqual(again.control_gpa, first.control_gpa)
        XCTAssertEqual(first.flags >> TERN_DEVICE_INSTANCE_SHIFT, 1)
        XCTAssertEqual(again.flags >> TERN_DEVICE_INSTANCE_SHIFT, 2, "but a new instance")
        XCTAssertEqual(theirs.flags, TERN_DEVICE_FLAG_BACKEND | again.flags, "the backend's entry names the same instance")
        XCTAssertEqual(host.deviceEntries(a).entries[0].flags, 0, "the console, Tern's own, has none")
        // Numbered per frontend, 1-65535: past the last, 1 again (never 0).
        a.devices.lastInstance = UInt16.max
        XCTAssertEqual(a.devices.nextInstanceFlags() >> TERN_DEVICE_INSTANCE_SHIFT, 1)
        XCTAssertEqual(b.devices.nextInstanceFlags() >> TERN_DEVICE_INSTANCE_SHIFT, 1, "the backend's own count is apart")
    }

    func testANetworkInterfaceIsASplitDeviceToo() {
        let dom0 = host.build(id: 0, name: "dom0", privileged: true)
        var request = tern_device_add(type: UInt16(TERN_DEVICE_NET), devid: 0, frontend: 1, backend: 2, flags: 0, reserved: 0,
                                      port: 0, grant_ref: 0, control_gpa: 0)
        let at: UInt64 = 0x9_0000
        XCTAssertTrue(withUnsafeBytes(of: &request) { host.memory(of: dom0).copyToGuest(at: at, from: $0) })
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_ADD, at), 0)
        XCTAssertEqual(host.deviceEntries(a).entries.map { $0.type }, [UInt16(TERN_DEVICE_CONSOLE), UInt16(TERN_DEVICE_NET)])
        XCTAssertEqual(host.call(dom0, TERN_HC_DEVICE_REMOVE, 1, UInt64(TERN_DEVICE_NET), 0), 0)
        XCTAssertEqual(host.deviceEntries(a).entries.map { $0.type }, [UInt16(TERN_DEVICE_CONSOLE)])
    }

    func testAPeersDeathMarksTheEntryClosed() {
        XCTAssertEqual(Devices.addChannel(frontend: a, backend: b, devid: 0, host: host), 0)
        a.markStopped(.crashed)
        DomainTeardown.disconnect(a, host: host)
        XCTAssertEqual(host.deviceEntries(b).entries[1].state, UInt32(TERN_DEVICE_CLOSED))
        XCTAssertEqual(host.deviceEntries(b).entries[0].state, UInt32(TERN_DEVICE_ACTIVE), "its console is untouched")
    }

    func writeConsole(_ domain: Domain, _ text: String, producer: UInt32? = nil) {
        let ring = host.memory(of: domain).mutableBytes(at: domain.sharedLayout!.control_pages_gpa, count: ConsoleDevice.ringSize)!
        var prod = ring.load(fromByteOffset: ConsoleDevice.outProdOffset, as: UInt32.self)
        for byte in text.utf8 {
            ring[ConsoleDevice.outOffset + Int(prod & UInt32(ConsoleDevice.outSize - 1))] = byte
            prod &+= 1
        }
        ring.storeBytes(of: producer ?? prod, toByteOffset: ConsoleDevice.outProdOffset, as: UInt32.self)
    }

    func testTheConsoleRingIsPrintedLineByLineOnSend() {
        writeConsole(a, "hello from the ring\npart")
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_SEND, 1), 0)
        writeConsole(a, "ial line\n")
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_SEND, 1), 0)
        XCTAssertEqual(host.lines.map(\.text), ["hello from the ring", "partial line"])
        // Past the ring's end, wrapping: 3000 bytes in pieces.
        for i in 0..<30 { writeConsole(a, String(repeating: "x", count: 99) + "\(i % 10)"); host.call(a, TERN_HC_EVTCHN_SEND, 1) }
        XCTAssertEqual(host.lines.count, 2 + 3000 / Domain.consoleLineCapacity)
    }

    func testACorruptConsoleProducerIsSkippedNotFollowed() {
        writeConsole(a, "ok\n", producer: 0x7FFF_0000)
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_SEND, 1), 0)
        XCTAssertEqual(host.lines.count, 0)
        writeConsole(a, "after\n")
        XCTAssertEqual(host.call(a, TERN_HC_EVTCHN_SEND, 1), 0)
        XCTAssertEqual(host.lines.map(\.text), ["after"])
    }

    /// Types `text` into `guest`'s console as Dom0 at `at` in Dom0's memory.
    func type(_ text: String, into guest: UInt64 = 1, by caller: Domain, length: UInt64? = nil) -> Int64 {
        let at: UInt64 = 0x9_0000
        let bytes = Array(text.utf8)
        XCTAssertTrue(bytes.withUnsafeBytes { host.memory(of: caller).copyToGuest(at: at, from: $0) })
        return host.call(caller, TERN_HC_CONSOLE_INPUT, guest, at, length ?? UInt64(bytes.count))
    }

    func consoleIn(_ domain: Domain) -> (cons: UInt32, prod: UInt32, bytes: UnsafeMutableRawBufferPointer) {
        let ring = host.memory(of: domain).mutableBytes(at: domain.sharedLayout!.control_pages_gpa, count: ConsoleDevice.ringSize)!
        return (ring.load(fromByteOffset: ConsoleDevice.inConsOffset, as: UInt32.self),
                ring.load(fromByteOffset: ConsoleDevice.inProdOffset, as: UInt32.self), ring)
    }

    func testConsoleInputGoesIntoTheInRingAndNotifies() {
        let dom0 = host.build(id: 0, name: "dom0", privileged: true)
        XCTAssertEqual(type("ls\n", by: b), -Int64(TERN_EPERM), "a DomU may not type into another")
        XCTAssertEqual(type("ls\n", by: dom0), 3)
        let ring = consoleIn(a)
        XCTAssertEqual([ring.cons, ring.prod], [0, 3])
        XCTAssertEqual(Array(ring.bytes[0..<3]), Array("ls\n".utf8))
        XCTAssertTrue(host.isPending(a, port: 1), "the console's port")
        // Only what fits: 1024 bytes of room, 3 taken.
        XCTAssertEqual(type(String(repeating: "y", count: 1024), by: dom0), 1021)
        XCTAssertEqual(type("z", by: dom0), 0, "full")
        ring.bytes.storeBytes(of: UInt32(1000), toByteOffset: ConsoleDevice.inConsOffset, as: UInt32.self)
        XCTAssertEqual(type("abc", by: dom0), 3, "the guest consumed some")
        XCTAssertEqual(ring.bytes[2], UInt8(ascii: "c"), "wrapped to the ring's start")
        ring.bytes.storeBytes(of: UInt32(0x7000_0000), toByteOffset: ConsoleDevice.inConsOffset, as: UInt32.self)
        XCTAssertEqual(type("q", by: dom0), 0, "a corrupt in_cons: nothing written")
        XCTAssertEqual(type("q", by: dom0, length: 1025), -Int64(TERN_EINVAL))
        XCTAssertEqual(type("q", into: 9, by: dom0), -Int64(TERN_ENOENT))
        XCTAssertEqual(type("q", into: 0, by: dom0), -Int64(TERN_ENOENT), "not itself")
        a.markStopped(.crashed)
        XCTAssertEqual(type("q", by: dom0), -Int64(TERN_ENOENT))
    }
}
