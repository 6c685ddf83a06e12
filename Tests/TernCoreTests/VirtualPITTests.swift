import XCTest
@testable import TernCore

final class VirtualPITTests: XCTestCase {
    /// Linux's quick_pit_calibrate: gate high, speaker off; counter 2 in
    /// mode 0, LSB then MSB; count 0xFFFF.
    private func programmedLikeLinux(at now: UInt64 = 1000) -> VirtualPIT {
        var pit = VirtualPIT()
        let portB = pit.read(port: VirtualPIT.systemControlPort, now: now, nanoseconds: 0)
        pit.write(port: VirtualPIT.systemControlPort, value: (portB & ~0x02) | 0x01, now: now)
        pit.write(port: VirtualPIT.controlPort, value: 0xB0, now: now)
        pit.write(port: VirtualPIT.counter2Port, value: 0xFF, now: now)
        pit.write(port: VirtualPIT.counter2Port, value: 0xFF, now: now)
        return pit
    }

    private func readCount(_ pit: inout VirtualPIT, at now: UInt64) -> UInt16 {
        let low = pit.read(port: VirtualPIT.counter2Port, now: now, nanoseconds: 0)
        let high = pit.read(port: VirtualPIT.counter2Port, now: now, nanoseconds: 0)
        return UInt16(low) | UInt16(high) << 8
    }

    func testTheCounterCountsDownFromWhatWasWrittenAtThePITsRate() {
        var pit = programmedLikeLinux(at: 1000)
        XCTAssertEqual(readCount(&pit, at: 1000), 0xFFFF)
        XCTAssertEqual(readCount(&pit, at: 1256), 0xFFFF - 256)
        // Linux's loop watches the high byte fall by one every 256 ticks.
        XCTAssertEqual(readCount(&pit, at: 1000 + 10 * 256) >> 8, 0xFF - 10)
        XCTAssertEqual(pit.mode, 0)
    }

    func testTicksFollowTheClock() {
        XCTAssertEqual(VirtualPIT.ticks(atNanoseconds: 1_000_000_000), VirtualPIT.frequencyHz)
        XCTAssertEqual(VirtualPIT.ticks(atNanoseconds: 50_000_000), VirtualPIT.frequencyHz / 20)
        // No overflow after years of uptime.
        let year: UInt64 = 365 * 24 * 3600 * 1_000_000_000
        XCTAssertEqual(VirtualPIT.ticks(atNanoseconds: 10 * year), VirtualPIT.frequencyHz * 10 * 365 * 24 * 3600)
    }

    func testMode0OutputRisesAtTerminalCountAndTheCountWraps() {
        var pit = programmedLikeLinux(at: 0)
        XCTAssertEqual(pit.read(port: VirtualPIT.systemControlPort, now: 0xFFFE, nanoseconds: 0) & 0x20, 0)
        XCTAssertEqual(pit.read(port: VirtualPIT.systemControlPort, now: 0xFFFF, nanoseconds: 0) & 0x20, 0x20)
        XCTAssertEqual(readCount(&pit, at: 0xFFFF + 1), 0xFFFF, "through zero to 0xFFFF")
        XCTAssertEqual(pit.read(port: VirtualPIT.systemControlPort, now: 0x1_0000, nanoseconds: 0) & 0x20, 0x20, "stays high")
    }

    func testTheGateHoldsTheCountInMode0() {
        var pit = programmedLikeLinux(at: 0)
        pit.write(port: VirtualPIT.systemControlPort, value: 0x00, now: 100)   // gate low
        XCTAssertEqual(readCount(&pit, at: 5000), 0xFFFF - 100)
        pit.write(port: VirtualPIT.systemControlPort, value: 0x01, now: 5000)  // gate high: resumes
        XCTAssertEqual(readCount(&pit, at: 5010), 0xFFFF - 110)
        XCTAssertEqual(pit.read(port: VirtualPIT.systemControlPort, now: 5010, nanoseconds: 0) & 0x03, 0x01)
    }

    func testAGateRisingRestartsMode2AndItReloads() {
        var pit = VirtualPIT()
        pit.write(port: VirtualPIT.systemControlPort, value: 0x01, now: 0)
        pit.write(port: VirtualPIT.controlPort, value: 0x94, now: 0)        // counter 2, LSB only, mode 2
        pit.write(port: VirtualPIT.counter2Port, value: 100, now: 0)
        XCTAssertEqual(pit.read(port: VirtualPIT.counter2Port, now: 30, nanoseconds: 0), 70)
        XCTAssertEqual(pit.read(port: VirtualPIT.counter2Port, now: 130, nanoseconds: 0), 70, "reloaded after 100")
        pit.write(port: VirtualPIT.systemControlPort, value: 0x00, now: 140)
        pit.write(port: VirtualPIT.systemControlPort, value: 0x01, now: 500)
        XCTAssertEqual(pit.read(port: VirtualPIT.counter2Port, now: 510, nanoseconds: 0), 90, "restarted by the gate")
    }

    func testTheLatchHoldsTheCountUntilBothBytesAreRead() {
        var pit = programmedLikeLinux(at: 0)
        pit.write(port: VirtualPIT.controlPort, value: 0x80, now: 300)   // counter 2 latch
        pit.write(port: VirtualPIT.controlPort, value: 0x80, now: 400)   // ignored: one latch holds
        XCTAssertEqual(readCount(&pit, at: 900), 0xFFFF - 300)
        XCTAssertEqual(readCount(&pit, at: 900), 0xFFFF - 900, "the latch is gone")
    }

    func testReadBackGivesStatusThenCount() {
        var pit = programmedLikeLinux(at: 0)
        pit.write(port: VirtualPIT.controlPort, value: 0xC8, now: 10)    // read-back: count and status of counter 2
        let status = pit.read(port: VirtualPIT.counter2Port, now: 20, nanoseconds: 0)
        XCTAssertEqual(status, 0x30, "LSB then MSB, mode 0, binary, output low, count loaded")
        XCTAssertEqual(readCount(&pit, at: 20), 0xFFFF - 10)
        var fresh = VirtualPIT()
        fresh.write(port: VirtualPIT.controlPort, value: 0xB0, now: 0)
        fresh.write(port: VirtualPIT.controlPort, value: 0xE8, now: 0)   // status only
        XCTAssertEqual(fresh.read(port: VirtualPIT.counter2Port, now: 0, nanoseconds: 0), 0x70, "null count before a count is written")
    }

    func testCountersZeroAndOneAreAbsent() {
        var pit = programmedLikeLinux(at: 0)
        pit.write(port: VirtualPIT.controlPort, value: 0x34, now: 10)    // counter 0, mode 2: ignored
        XCTAssertEqual(pit.mode, 0)
        XCTAssertEqual(readCount(&pit, at: 10), 0xFFFF - 10)
        let linux: Emulation = [.localAPIC, .tscDeadlineTimer, .serialPort, .virtualPIC, .cmosClock, .pitChannel2]
        XCTAssertEqual(EmulatedDevices.device(forPort: 0x42, string: false, in: linux), .pitChannel2)
        XCTAssertEqual(EmulatedDevices.device(forPort: 0x61, string: false, in: linux), .pitChannel2)
        XCTAssertNil(EmulatedDevices.device(forPort: 0x40, string: false, in: linux))
        XCTAssertNil(EmulatedDevices.device(forPort: 0x42, string: false, in: Emulation.deviceOwner))
        XCTAssertTrue(linux.isConsistent)
        XCTAssertFalse(Emulation([.hardware, .pitChannel2]).isConsistent, "the device owner has the real PIT")
    }

    func testPortBRefreshToggles() {
        var pit = VirtualPIT()
        let a = pit.read(port: VirtualPIT.systemControlPort, now: 0, nanoseconds: 0) & 0x10
        let b = pit.read(port: VirtualPIT.systemControlPort, now: 0, nanoseconds: 15_085) & 0x10
        XCTAssertNotEqual(a, b)
    }
}
