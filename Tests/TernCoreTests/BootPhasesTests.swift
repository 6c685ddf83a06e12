import XCTest
@testable import TernCore

nonisolated(unsafe) private var phaseLog: [UInt8] = []

final class BootPhasesTests: XCTestCase {
    /// The table the boot tests parse (parse_phases in Tests/Boot/tests_boot.py).
    func testLogTable() {
        let savedSink = Log.sink, savedThreshold = Log.threshold
        defer {
            Log.sink = savedSink
            Log.threshold = savedThreshold
            phaseLog = []
        }
        phaseLog = []
        Log.threshold = .info
        Log.sink = { pointer, count in
            if let pointer { phaseLog.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count)) }
        }
        var phases = BootPhases(startTSC: 0)
        phases.mark("early", tsc: 2_000_000)
        phases.mark("memory", tsc: 2_500_000)
        phases.log(tscHz: 2_000_000_000)
        XCTAssertEqual(String(decoding: phaseLog, as: UTF8.self), """
            (tern) Boot phases (TSC 2000 MHz):
            (tern)   phase early                     1000 us
            (tern)   phase memory                     250 us
            (tern)   phase total                     1250 us

            """)
    }

    func testMarksRecordCyclesSinceThePreviousMark() {
        var phases = BootPhases(startTSC: 1_000)
        phases.mark("early", tsc: 1_500)
        phases.mark("memory", tsc: 4_000)
        phases.mark("idle", tsc: 4_000)
        XCTAssertEqual(phases.phases.map(\.name.text), ["early", "memory", "idle"])
        XCTAssertEqual(phases.phases.map(\.cycles), [500, 2_500, 0])
        XCTAssertEqual(phases.totalCycles, 3_000)
        XCTAssertEqual(phases.startTSC, 1_000)
    }

    func testNoMarksMeansNoTime() {
        let phases = BootPhases(startTSC: 123_456)
        XCTAssertEqual(phases.phases.count, 0)
        XCTAssertEqual(phases.totalCycles, 0)
    }

    func testMicroseconds() {
        XCTAssertEqual(BootPhases.microseconds(cycles: 3_000_000_000, tscHz: 3_000_000_000), 1_000_000)
        XCTAssertEqual(BootPhases.microseconds(cycles: 2_400, tscHz: 2_400_000_000), 1)
        XCTAssertEqual(BootPhases.microseconds(cycles: 2_399, tscHz: 2_400_000_000), 0, "rounded down")
        XCTAssertEqual(BootPhases.microseconds(cycles: 0, tscHz: 2_400_000_000), 0)
        XCTAssertEqual(BootPhases.microseconds(cycles: 12_345_678_901_234, tscHz: 2_400_000_000), 5_144_032_875)
    }

    /// cycles * 1e6 overflows 64 bits from about 1.8e13 cycles (two hours
    /// at 2.5 GHz); the result must still be exact.
    func testLargeCycleCountsDoNotOverflow() {
        XCTAssertEqual(BootPhases.microseconds(cycles: UInt64.max, tscHz: 3_000_000_000), 6_148_914_691_236_517)
        XCTAssertEqual(BootPhases.microseconds(cycles: 20_000_000_000_000, tscHz: 2_000_000_000), 10_000_000_000)
        XCTAssertEqual(BootPhases.microseconds(cycles: 10_000_000_000_000, tscHz: 2_000_000_001), 4_999_999_997)
        // A TSC of 10 THz, near the documented bound of 18 THz.
        XCTAssertEqual(BootPhases.microseconds(cycles: UInt64.max, tscHz: 10_000_000_000_000), 1_844_674_407_370)
    }

    func testZeroFrequencyGivesZero() {
        XCTAssertEqual(BootPhases.microseconds(cycles: 1_000_000, tscHz: 0), 0)
        XCTAssertEqual(BootPhases.microseconds(cycles: UInt64.max, tscHz: 0), 0)
    }
}
