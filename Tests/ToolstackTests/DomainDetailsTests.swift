import TernABI
import XCTest
@testable import TernToolstack

/// `tern list -l` and `tern info NAME`: weight, uptime (Tern's system time
/// now minus created_ns), the stop reason and a pending shutdown request
/// in words (the TERN_STOP_* and TERN_SHUTDOWN_REQUEST_* names).
final class DomainDetailsTests: XCTestCase {
    let s: UInt64 = 1_000_000_000
    var rows: [DomainRow] {
        [DomainRow(id: 0, name: "dom0", state: UInt32(TERN_DOMAIN_RUNNING), memoryBytes: 384 << 20, vcpus: 1,
                   cpuTimeNanoseconds: 12_345_000_000, privileged: true, weight: 512),
         DomainRow(id: 3, name: "hostile", state: UInt32(TERN_DOMAIN_CRASHED), memoryBytes: 4 << 20, vcpus: 1, cpuTimeNanoseconds: 49_000_000,
                   privileged: false, stopReason: UInt32(TERN_STOP_BAD_ACCESS), createdNanoseconds: 30 * s, stoppedNanoseconds: 32 * s),
         DomainRow(id: 4, name: "sleeper", state: UInt32(TERN_DOMAIN_BLOCKED), memoryBytes: 4 << 20, vcpus: 1, cpuTimeNanoseconds: 0,
                   privileged: false, weight: 100, createdNanoseconds: 35 * s + 460_000_000,
                   shutdownRequest: UInt32(TERN_SHUTDOWN_REQUEST_POWEROFF))]
    }

    func testLongList() {
        XCTAssertEqual(DomainRow.longTable(rows, now: 40 * s), """
              ID  Name     State     Mem(MiB)  VCPUs    Time(s)  Weight      Up(s)  Reason        Request
               0  dom0     running        384      1       12.3     512       40.0  -             -
               3  hostile  crashed          4      1        0.0     256       10.0  bad_access    -
               4  sleeper  blocked          4      1        0.0     100        4.5  -             poweroff
            """)
    }

    func testInfoOfACrashedDomainSaysWhyAndWhen() {
        XCTAssertEqual(rows[1].details(now: 40 * s), """
            domain: d3 hostile
            state: crashed
            stopped: bad_access (it touched memory outside its own), 8.0 s ago
            memory: 4 MiB
            vcpus: 1
            weight: 256
            cpu time: 0.0 s
            uptime: 10.0 s
            """)
    }

    func testInfoOfARunningDomainShowsAPendingRequest() {
        XCTAssertEqual(rows[2].details(now: 40 * s), """
            domain: d4 sleeper
            state: blocked
            shutdown request: poweroff, not acted on yet
            memory: 4 MiB
            vcpus: 1
            weight: 100
            cpu time: 0.0 s
            uptime: 4.5 s
            """)
        XCTAssertTrue(rows[0].details(now: 40 * s).hasPrefix("domain: d0 dom0 (privileged)\nstate: running\nmemory: 384 MiB"))
    }

    func testEveryStopReasonAndRequestHasItsABIName() {
        let names = [TERN_STOP_NONE: "none", TERN_STOP_POWEROFF: "poweroff", TERN_STOP_REBOOT: "reboot", TERN_STOP_CRASH: "crash",
                     TERN_STOP_TRIPLE_FAULT: "triple_fault", TERN_STOP_BAD_ACCESS: "bad_access", TERN_STOP_BAD_STATE: "bad_state",
                     TERN_STOP_BAD_EXIT: "bad_exit"]
        for (code, name) in names { XCTAssertEqual(StopWords.reason(UInt32(code)), name) }
        XCTAssertEqual(StopWords.reason(42), "reason 42")
        XCTAssertEqual(StopWords.meaning(42), "a reason this toolstack does not know")
        XCTAssertEqual(StopWords.request(UInt32(TERN_SHUTDOWN_REQUEST_REBOOT)), "reboot")
        XCTAssertEqual(StopWords.request(UInt32(TERN_SHUTDOWN_REQUEST_NONE)), "none")
    }

    func testUptimeNeverGoesNegativeAndSecondsRound() {
        XCTAssertEqual(rows[1].uptime(now: 29 * s), 0)
        XCTAssertEqual(DomainRow.seconds(49_999_999), "0.0")
        XCTAssertEqual(DomainRow.seconds(50_000_000), "0.1")
        XCTAssertEqual(DomainRow.seconds(UInt64.max), "18446744073.7", "no overflow when rounding")
    }

    func testTheCLITakesLongAndADomainForInfo() throws {
        XCTAssertEqual(try CLIRun.tern("list", "-l", "--json").error(), "--json has every field already: no --long with it (see 'tern help list')")
        XCTAssertTrue(try CLIRun.tern("list", "--long").error().hasPrefix("cannot open /dev/tern"))
        XCTAssertTrue(try CLIRun.tern("info", "web").error().hasPrefix("cannot open /dev/tern"), "info takes a domain")
        XCTAssertEqual(try CLIRun.tern("info", "a", "b").error(), "unexpected argument 'b' (see 'tern help info')")
    }
}
