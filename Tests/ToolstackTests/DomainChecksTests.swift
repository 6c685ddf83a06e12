import TernABI
import XCTest
@testable import TernToolstack

/// Lookups and state checks made before Tern is asked.
final class DomainChecksTests: XCTestCase {
    func row(_ state: Int32) -> DomainRow {
        DomainRow(id: 3, name: "web", state: UInt32(state), memoryBytes: 4 << 20, vcpus: 1, cpuTimeNanoseconds: 0, privileged: false)
    }

    func testNotFound() {
        XCTAssertEqual(DomainRow.notFound("7"), "7: no such domain")
        XCTAssertEqual(DomainRow.notFound("web"), "web: no such domain")
        XCTAssertEqual(DomainRow.notFound("-1"), "-1: no such domain", "-1 could be a name")
        XCTAssertEqual(DomainRow.notFound("a b"), "a b: no such domain (an id is digits, a name 1-31 of A-Z a-z 0-9 . _ -)")
    }

    func testIDsAreDigitsOnly() {
        let rows = [row(TERN_DOMAIN_RUNNING)]
        XCTAssertEqual(DomainRow.find("3", in: rows)?.name, "web")
        XCTAssertNil(DomainRow.find("+3", in: rows), "UInt32(\"+3\") is 3, but +3 is not an id")
        XCTAssertNil(DomainRow.find("-1", in: rows))
        XCTAssertNil(DomainRow.find("99999999999", in: rows))
    }

    func testPauseAndUnpauseFollowTheState() {
        XCTAssertEqual(row(TERN_DOMAIN_PAUSED).refusal(TERN_DOMCTL_PAUSE), "already paused")
        XCTAssertNil(row(TERN_DOMAIN_RUNNING).refusal(TERN_DOMCTL_PAUSE))
        XCTAssertNil(row(TERN_DOMAIN_BLOCKED).refusal(TERN_DOMCTL_PAUSE))
        XCTAssertEqual(row(TERN_DOMAIN_SHUTDOWN).refusal(TERN_DOMCTL_PAUSE), "cannot be paused (it is shutdown)")
        XCTAssertEqual(row(TERN_DOMAIN_RUNNING).refusal(TERN_DOMCTL_UNPAUSE), "is not paused (it is running)")
        XCTAssertEqual(row(TERN_DOMAIN_BLOCKED).refusal(TERN_DOMCTL_UNPAUSE), "is not paused (it is blocked)")
        XCTAssertNil(row(TERN_DOMAIN_PAUSED).refusal(TERN_DOMCTL_UNPAUSE))
        XCTAssertNil(row(TERN_DOMAIN_CREATED).refusal(TERN_DOMCTL_UNPAUSE))
        XCTAssertNil(row(TERN_DOMAIN_RUNNING).refusal(TERN_DOMCTL_DESTROY), "Tern judges the others")
    }

    func testShells() {
        XCTAssertNil(Shells.problem(count: 256, memoryMiB: 4))
        XCTAssertEqual(Shells.problem(count: 257, memoryMiB: 4), "257 shells: at most 256 can be ready (of all sizes together)")
        XCTAssertEqual(Shells.problem(count: 1, memoryMiB: 5), "--memory 5: an even number of MiB from 2 to 65536")
    }
}
