import TernABI
import XCTest
@testable import TernToolstack

/// `tern shutdown` and `tern reboot` ask the guest; -w waits for that
/// instance to stop; a guest that does not listen (-ENOTCONN) is said so.
final class ShutdownRequestsTests: XCTestCase {
    let web = DomainRow(id: 3, name: "web", state: UInt32(TERN_DOMAIN_BLOCKED), memoryBytes: 4 << 20, vcpus: 1, cpuTimeNanoseconds: 0,
                        privileged: false, createdNanoseconds: 1000)

    func testAGuestThatDoesNotListenIsSaidSo() {
        XCTAssertEqual(ShutdownRequests.refused(web, .tern(-Int64(TERN_ENOTCONN))),
                       "d3 web: does not listen for shutdown requests (it has not bound TERN_VIRQ_SHUTDOWN); `tern destroy web` stops it")
        XCTAssertEqual(ShutdownRequests.refused(web, .tern(-Int64(TERN_EPERM))), "d3 web: not allowed")
        XCTAssertEqual(ControlDevice.meaning(-Int64(TERN_ENOTCONN)), "not connected")
    }

    func testTheWaitFollowsThatInstance() {
        XCTAssertEqual(ShutdownRequests.progress(web, in: [web]), .running)
        XCTAssertEqual(ShutdownRequests.progress(web, in: []), .stopped(nil), "destroyed")
        var kept = web
        kept.state = UInt32(TERN_DOMAIN_SHUTDOWN)
        kept.stopReason = UInt32(TERN_STOP_POWEROFF)
        XCTAssertEqual(ShutdownRequests.progress(web, in: [kept]), .stopped(kept))
        var again = web
        again.createdNanoseconds = 5000
        XCTAssertEqual(ShutdownRequests.progress(web, in: [again]), .stopped(nil), "the same id, a new instance (restarted)")
        XCTAssertEqual(ShutdownRequests.stopped(web, now: nil), "d3 web: stopped")
        XCTAssertEqual(ShutdownRequests.stopped(web, now: kept), "d3 web: stopped (poweroff), kept shutdown")
        XCTAssertEqual(ShutdownRequests.timedOut(web, seconds: 30),
                       "d3 web: still running 30 s after the request (it may not act on it); `tern destroy web` stops it now")
    }

    func testAStoppedDomainIsNotAskedAgain() {
        var crashed = web
        crashed.state = UInt32(TERN_DOMAIN_CRASHED)
        for operation in [TERN_DOMCTL_SHUTDOWN, TERN_DOMCTL_REQUEST_POWEROFF, TERN_DOMCTL_REQUEST_REBOOT, TERN_DOMCTL_SET_WEIGHT] {
            XCTAssertEqual(crashed.refusal(operation), "has stopped (it is crashed; `tern destroy web` ends it)", "operation \(operation)")
            XCTAssertNil(web.refusal(operation))
        }
        XCTAssertNil(crashed.refusal(TERN_DOMCTL_DESTROY), "destroy ends a kept domain")
    }

    func testTheCLIsOptions() throws {
        XCTAssertEqual(try CLIRun.tern("shutdown", "--timeout", "3", "web").error(),
                       "--timeout is how long -w waits: give -w too (see 'tern help shutdown')")
        XCTAssertEqual(try CLIRun.tern("reboot", "-w", "--timeout", "0", "web").error(), "--timeout: at least 1 second (see 'tern help reboot')")
        XCTAssertEqual(try CLIRun.tern("reboot", "--force", "web").error(), "unknown option '--force' (see 'tern help reboot')")
        for arguments in [["shutdown", "-w", "--timeout", "5", "web"], ["shutdown", "--force", "web"], ["reboot", "-w", "web"]] {
            XCTAssertTrue(try CLIRun.tern(arguments).error().hasPrefix("cannot open /dev/tern"), "\(arguments)")
        }
    }
}
