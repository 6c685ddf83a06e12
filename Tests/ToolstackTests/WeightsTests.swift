import TernABI
import XCTest
@testable import TernToolstack

/// `tern sched-credit`: the weights of every domain, and -d DOMAIN -w
/// WEIGHT checked before Tern is asked.
final class WeightsTests: XCTestCase {
    func testTheTable() {
        let rows = [DomainRow(id: 0, name: "dom0", state: UInt32(TERN_DOMAIN_RUNNING), memoryBytes: 384 << 20, vcpus: 1, cpuTimeNanoseconds: 0,
                              privileged: true, weight: 512),
                    DomainRow(id: 12, name: "sleeper", state: UInt32(TERN_DOMAIN_BLOCKED), memoryBytes: 4 << 20, vcpus: 1, cpuTimeNanoseconds: 0,
                              privileged: false, weight: 65535)]
        XCTAssertEqual(Weights.table(rows), """
              ID  Name     Weight
               0  dom0        512
              12  sleeper   65535
            """)
    }

    func testWeightsAreOneTo65535() {
        XCTAssertNil(Weights.problem(1))
        XCTAssertNil(Weights.problem(65535))
        XCTAssertEqual(Weights.problem(0), "-w 0: a weight is from 1 to 65535")
        XCTAssertEqual(Weights.problem(65536), "-w 65536: a weight is from 1 to 65535")
    }

    func testTheCLIChecksBeforeTern() throws {
        XCTAssertEqual(try CLIRun.tern("sched-credit", "-w", "5").error(), "-w needs -d DOMAIN: whose weight to set (see 'tern help sched-credit')")
        XCTAssertEqual(try CLIRun.tern("sched-credit", "-d", "web", "-w", "0").error(),
                       "-w 0: a weight is from 1 to 65535 (see 'tern help sched-credit')")
        XCTAssertEqual(try CLIRun.tern("sched-credit", "-d", "0", "-w", "x").error(),
                       "the value 'x' is invalid for '-w <weight>' (see 'tern help sched-credit')")
        for arguments in [["sched-credit"], ["sched-credit", "-d", "0"], ["sched-credit", "--domain", "dom0", "--weight", "512"]] {
            XCTAssertTrue(try CLIRun.tern(arguments).error().hasPrefix("cannot open /dev/tern"), "\(arguments)")
        }
    }
}
