import XCTest
import TernABI
@testable import TernToolstack

/// `tern top` and `tern uptime`: CPU shares between two looks at Tern, and
/// uptimes, all on Tern's clock.
final class DomainUsageTests: XCTestCase {
    let second: UInt64 = 1_000_000_000

    func row(_ id: UInt32, _ name: String, cpu: UInt64, created: UInt64, stopped: UInt64 = 0, state: Int32 = TERN_DOMAIN_RUNNING) -> DomainRow {
        DomainRow(id: id, name: name, state: UInt32(state), memoryBytes: 4 << 20, vcpus: 1, cpuTimeNanoseconds: cpu,
                  privileged: id == 0, createdNanoseconds: created, stoppedNanoseconds: stopped)
    }

    func testTheShareIsOverTheInterval() {
        let before = DomainUsage.Sample(rows: [row(0, "dom0", cpu: 5 * second, created: 0),
                                               row(1, "spin", cpu: 1 * second, created: 2 * second)], now: 10 * second)
        let after = DomainUsage.Sample(rows: [row(0, "dom0", cpu: 5 * second + second / 10, created: 0),
                                              row(1, "spin", cpu: 2 * second - second / 10, created: 2 * second)], now: 11 * second)
        let percent = DomainUsage.cpuPercent(from: before, to: after)
        XCTAssertEqual(percent[0], 10)
        XCTAssertEqual(percent[1], 90)
    }

    /// Another instance under the same id counts from its own creation,
    /// not from the old one's CPU time (which would go negative).
    func testANewInstanceCountsFromItsCreation() {
        let before = DomainUsage.Sample(rows: [row(1, "web", cpu: 50 * second, created: 1 * second)], now: 100 * second)
        let after = DomainUsage.Sample(rows: [row(1, "web", cpu: second / 2, created: 100 * second)], now: 101 * second)
        XCTAssertEqual(DomainUsage.cpuPercent(from: before, to: after)[1], 50)
        let first = DomainUsage.cpuPercent(from: DomainUsage.Sample(rows: [], now: 0), to: after)
        XCTAssertEqual(first[1], 50, "the first screen: since creation")
    }

    func testAStoppedDomainsShareEndsWhenItStopped() {
        let before = DomainUsage.Sample(rows: [row(2, "x", cpu: 0, created: 0)], now: 10 * second)
        let after = DomainUsage.Sample(rows: [row(2, "x", cpu: second / 2, created: 0, stopped: 11 * second, state: TERN_DOMAIN_CRASHED)],
                                       now: 20 * second)
        XCTAssertEqual(DomainUsage.cpuPercent(from: before, to: after)[2], 50)
    }

    func testTheTopScreenPutsTheBusiestFirst() {
        let sample = DomainUsage.Sample(rows: [row(0, "dom0", cpu: second, created: 0), row(3, "spinner", cpu: 9 * second, created: 0)],
                                        now: 65 * second)
        let screen = DomainUsage.top(sample, percent: [0: 10, 3: 90], freeBytes: 630 << 20)
        let lines = screen.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "tern top: up 0:01:05, 2 domains, 630 MiB free")
        XCTAssertEqual(lines[1], "  ID  Name     State     CPU%   CPU(s)  Mem(MiB)  Weight")
        XCTAssertEqual(lines[2], "   3  spinner  running     90      9.0         4     256")
        XCTAssertTrue(lines[3].hasPrefix("   0  dom0     running     10"))
    }

    func testUptimes() {
        let sample = DomainUsage.Sample(rows: [row(0, "dom0", cpu: 0, created: 0),
                                               row(4, "kept", cpu: 0, created: 10 * second, stopped: 70 * second, state: TERN_DOMAIN_CRASHED)],
                                        now: 90_061 * second)
        XCTAssertEqual(DomainUsage.uptimeTable(sample), """
            Name    ID  Uptime
            dom0     0  1 day, 1:01:01
            kept     4  0:01:00 (crashed)

            """)
        XCTAssertEqual(DomainUsage.duration(2 * 86_400 * second + 59 * second), "2 days, 0:00:59")
        XCTAssertEqual(DomainUsage.duration(0), "0:00:00")
    }
}
