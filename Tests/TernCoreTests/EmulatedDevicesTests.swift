import XCTest
@testable import TernCore

/// Exits reach the devices of the domain that made them, chosen by its
/// emulation set and never by its id (issue 14): a device-owning domain
/// and a plain guest, side by side; then a guest given a UART alone.
final class EmulatedDevicesTests: XCTestCase {
    let lapicPage: UInt64 = 0xFEE0_0000

    func domain(id: UInt16, privileged: Bool, _ emulation: Emulation) -> Domain {
        let d = Domain(id: id, name: Array("d".utf8), privileged: privileged)
        d.chooseEmulation(emulation)
        return d
    }

    func port(_ port: UInt16, _ d: Domain, string: Bool = false) -> EmulatedDevices.PortDevice? {
        EmulatedDevices.device(forPort: port, string: string, in: d.emulation)
    }

    func fault(_ gpa: UInt64, _ d: Domain, write: Bool = false) -> EmulatedDevices.NestedFaultAction {
        EmulatedDevices.nestedFault(at: gpa, writeToPresentPage: write, localAPICPage: lapicPage, in: d.emulation)
    }

    func testTheDeviceOwnerAndAGuestReachDifferentModels() {
        let owner = domain(id: 0, privileged: true, .deviceOwner)
        let guest = domain(id: 1, privileged: false, [])
        for p: UInt16 in 0x3F8...0x3FF {
            XCTAssertEqual(port(p, owner), .serialPort)
            XCTAssertNil(port(p, guest), "a guest without a UART: an empty bus")
        }
        for p: UInt16 in [0x20, 0x21, 0xA0, 0xA1] {
            XCTAssertEqual(port(p, owner), .legacyPIC)
            XCTAssertNil(port(p, guest))
        }
        XCTAssertNil(port(0x3F8, owner, string: true), "the models take byte I/O only")
        XCTAssertNil(port(0x60, owner), "a port no model claims")
        XCTAssertEqual(fault(lapicPage + 0xB0, owner), .localAPIC(offset: 0xB0))
        XCTAssertEqual(fault(lapicPage + 0xB0, guest), .crash, "no LAPIC page: outside its memory")
        XCTAssertEqual(fault(0x4000_0000, owner), .refuseForeign, "a device owner's probe is refused, not fatal")
        XCTAssertEqual(fault(0x4000_0000, guest), .crash)
        XCTAssertEqual(fault(0x1000, guest, write: true), .refuseReadOnly, "a write to its read-only page")
    }

    func testDevicesFollowTheEmulationSetNotPrivilegeOrId() {
        let privilegedWithout = domain(id: 0, privileged: true, [])
        XCTAssertNil(port(0x3F8, privilegedWithout), "privilege gives no device")
        XCTAssertEqual(fault(lapicPage, privilegedWithout), .crash)
        let guestWithUART = domain(id: 7, privileged: false, [.serialPort])
        XCTAssertEqual(port(0x3FD, guestWithUART), .serialPort)
        XCTAssertNil(port(0x21, guestWithUART), "no PIC watch")
        let guestWithLAPIC = domain(id: 8, privileged: false, [.localAPIC])
        XCTAssertEqual(fault(lapicPage + 0x300, guestWithLAPIC), .localAPIC(offset: 0x300))
        XCTAssertEqual(fault(lapicPage + 0x1000, guestWithLAPIC), .refuseForeign, "the page after it is not the LAPIC's: outside its memory, #GP")
    }

    func testEmulationIsChosenOnlyWhileBuilding() {
        let d = domain(id: 2, privileged: false, [.serialPort])
        d.startAtBoot()
        d.chooseEmulation(.deviceOwner)
        XCTAssertEqual(d.emulation, [.serialPort], "devices do not change under a running domain")
    }
}
