import XCTest
@testable import TernCore

/// A Linux guest's CMOS clock (Model/VirtualRTC.swift): the wall time in
/// BCD, never mid-update; the calendar both ways.
final class VirtualRTCTests: XCTestCase {
    /// 2026-12-06 15:04:05 UTC, a Sunday.
    let when: UInt64 = 1_796_569_445

    func read(_ rtc: inout VirtualRTC, _ register: UInt8) -> UInt8 {
        rtc.write(port: VirtualRTC.indexPort, value: register)
        return rtc.read(port: VirtualRTC.dataPort, unixSeconds: when)
    }

    func testItReadsTheWallTimeInBCDAndIsNeverUpdating() {
        var rtc = VirtualRTC()
        XCTAssertEqual(read(&rtc, VirtualRTC.seconds), 0x05)
        XCTAssertEqual(read(&rtc, VirtualRTC.minutes), 0x04)
        XCTAssertEqual(read(&rtc, VirtualRTC.hours), 0x15)
        XCTAssertEqual(read(&rtc, VirtualRTC.day), 0x06)
        XCTAssertEqual(read(&rtc, VirtualRTC.month), 0x12)
        XCTAssertEqual(read(&rtc, VirtualRTC.year), 0x26)
        XCTAssertEqual(read(&rtc, VirtualRTC.century), 0x20)
        XCTAssertEqual(read(&rtc, VirtualRTC.weekday), 0x01, "Sunday is 1")
        XCTAssertEqual(read(&rtc, VirtualRTC.registerA) & 0x80, 0, "no update in progress, ever")
        XCTAssertEqual(read(&rtc, VirtualRTC.registerB), 0x02, "24-hour BCD, no interrupts")
        XCTAssertEqual(read(&rtc, VirtualRTC.registerD), 0x80, "valid time")
        XCTAssertEqual(read(&rtc, VirtualRTC.registerC), 0)
    }

    func testTheNMIBitIsNotPartOfTheIndexAndWritesChangeNoTime() {
        var rtc = VirtualRTC()
        rtc.write(port: VirtualRTC.indexPort, value: 0x80 | VirtualRTC.hours)
        XCTAssertEqual(rtc.read(port: VirtualRTC.dataPort, unixSeconds: when), 0x15)
        rtc.write(port: VirtualRTC.dataPort, value: 0x09)
        XCTAssertEqual(rtc.read(port: VirtualRTC.dataPort, unixSeconds: when), 0x15, "a guest does not set the clock")
    }

    func testTheCalendarBothWays() {
        let t = CivilTime(unixSeconds: when)
        XCTAssertEqual([t.year, t.month, t.day, t.hour, t.minute, t.second, t.weekday], [2026, 12, 6, 15, 4, 5, 0])
        XCTAssertEqual(CivilTime.unixSeconds(year: 2026, month: 12, day: 6, hour: 15, minute: 4, second: 5), when)
        XCTAssertEqual(CivilTime.unixSeconds(year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0), 0)
        let leap = CivilTime(unixSeconds: CivilTime.unixSeconds(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 59)!)
        XCTAssertEqual([leap.year, leap.month, leap.day], [2024, 2, 29])
        XCTAssertNil(CivilTime.unixSeconds(year: 2165, month: 165, day: 165, hour: 165, minute: 165, second: 165),
                     "a clock that reads all ones (BCD 0xFF) is no time")
    }

    func testOnlyALinuxGuestHasTheClock() {
        let linux: Emulation = [.localAPIC, .tscDeadlineTimer, .serialPort, .virtualPIC, .cmosClock]
        XCTAssertTrue(linux.isConsistent)
        XCTAssertFalse(Emulation([.hardware, .cmosClock]).isConsistent, "the device owner has the real clock")
        XCTAssertEqual(EmulatedDevices.device(forPort: 0x70, string: false, in: linux), .cmosClock)
        XCTAssertEqual(EmulatedDevices.device(forPort: 0x71, string: false, in: linux), .cmosClock)
        XCTAssertNil(EmulatedDevices.device(forPort: 0x71, string: false, in: []), "a PV guest: all ones")
        XCTAssertNotNil(DomainContext(for: linux).rtc)
    }
}
