import TernABI
import XCTest
@testable import TernToolstack

/// `tern logd`'s life-cycle hook: a kept stopped domain and its saved
/// config give the action (restart, preserve, destroy, or none when the
/// guest restarts too often), and logd's one line about it.
final class RestartDecisionTests: XCTestCase {
    func row(_ state: Int32, _ reason: Int32, id: UInt32 = 3, privileged: Bool = false) -> DomainRow {
        DomainRow(id: id, name: "web", state: UInt32(state), memoryBytes: 4 << 20, vcpus: 1, cpuTimeNanoseconds: 0, privileged: privileged,
                  stopReason: UInt32(reason))
    }

    let config = GuestConfig(name: "web", kernel: "/k.elf", onPoweroff: .preserve, onReboot: .restart, onCrash: .destroy)
    func decide(_ row: DomainRow, _ config: GuestConfig, restarts: Int = 0) -> RestartDecision {
        RestartDecision.decide(row, saved: .success(config), recentRestarts: restarts)
    }

    func testEachEndFollowsItsKey() {
        XCTAssertEqual(decide(row(TERN_DOMAIN_SHUTDOWN, TERN_STOP_POWEROFF), config), .preserve(.poweroff))
        XCTAssertEqual(decide(row(TERN_DOMAIN_SHUTDOWN, TERN_STOP_REBOOT), config), .restart(.reboot))
        XCTAssertEqual(decide(row(TERN_DOMAIN_CRASHED, TERN_STOP_TRIPLE_FAULT), config), .destroy(.crash))
        var crashRestarts = config
        crashRestarts.onCrash = .restart
        for reason in [TERN_STOP_CRASH, TERN_STOP_TRIPLE_FAULT, TERN_STOP_BAD_ACCESS, TERN_STOP_BAD_STATE, TERN_STOP_BAD_EXIT] {
            XCTAssertEqual(decide(row(TERN_DOMAIN_CRASHED, reason), crashRestarts), .restart(.crash), "reason \(reason)")
        }
    }

    func testOnlyKeptStoppedDomainsAreActedOn() {
        for state in [TERN_DOMAIN_CREATED, TERN_DOMAIN_PAUSED, TERN_DOMAIN_RUNNING, TERN_DOMAIN_BLOCKED, TERN_DOMAIN_DYING] {
            XCTAssertEqual(decide(row(state, TERN_STOP_NONE), config), .nothing, "state \(state)")
        }
        XCTAssertEqual(decide(row(TERN_DOMAIN_DYING, TERN_STOP_REBOOT), config), .nothing, "being destroyed already")
        XCTAssertEqual(decide(row(TERN_DOMAIN_SHUTDOWN, TERN_STOP_REBOOT, id: 0, privileged: true), config), .nothing)
    }

    func testACrashLoopIsLeftStopped() {
        var crashRestarts = config
        crashRestarts.onCrash = .restart
        let crashed = row(TERN_DOMAIN_CRASHED, TERN_STOP_BAD_ACCESS)
        XCTAssertEqual(decide(crashed, crashRestarts, restarts: RestartHistory.limit - 1), .restart(.crash))
        XCTAssertEqual(decide(crashed, crashRestarts, restarts: RestartHistory.limit), .tooManyRestarts(.crash))
        XCTAssertEqual(decide(crashed, config, restarts: RestartHistory.limit), .destroy(.crash), "the guard is for restarts only")
    }

    func testNoSavedConfigLeavesItAsItIs() {
        let problem = SavedConfigProblem("/var/lib/tern/web.cfg: cannot open: No such file or directory")
        let decision = RestartDecision.decide(row(TERN_DOMAIN_CRASHED, TERN_STOP_CRASH), saved: .failure(problem), recentRestarts: 0)
        XCTAssertEqual(decision, .noSavedConfig(problem.message))
        XCTAssertEqual(decision.line(row(TERN_DOMAIN_CRASHED, TERN_STOP_CRASH), .done),
                       "d3 web: crashed (crash): no saved config to act on (/var/lib/tern/web.cfg: cannot open: No such file or directory), "
                       + "so left crashed (`tern destroy web` ends it)")
    }

    func testRestartHistoryCountsWithinTheWindow() {
        var history = RestartHistory()
        let second: UInt64 = 1_000_000
        for t in 0..<UInt64(RestartHistory.limit) { history.record("web", now: 100 * second + t * second) }
        XCTAssertEqual(history.count("web", now: 110 * second), RestartHistory.limit)
        XCTAssertEqual(history.count("db", now: 110 * second), 0, "per name")
        XCTAssertEqual(history.count("web", now: (100 + RestartHistory.windowSeconds) * second), RestartHistory.limit - 1,
                       "the first restart is a whole window old")
        XCTAssertEqual(history.count("web", now: 1000 * second), 0)
        history.record("web", now: 1000 * second)
        XCTAssertEqual(history.times["web"], [1000 * second], "old restarts are forgotten")
    }

    func testLogdsLines() {
        let crashed = row(TERN_DOMAIN_CRASHED, TERN_STOP_BAD_ACCESS)
        XCTAssertEqual(RestartDecision.restart(.crash).line(crashed, .restarted(4)),
                       "d3 web: crashed (bad_access), on_crash=restart: restarted as d4")
        XCTAssertEqual(RestartDecision.restart(.crash).line(crashed, .failed("/k.elf: cannot open: No such file or directory")),
                       "d3 web: crashed (bad_access), on_crash=restart: could not restart it: /k.elf: cannot open: No such file or directory")
        XCTAssertEqual(RestartDecision.tooManyRestarts(.crash).line(crashed, .done),
                       "d3 web: crashed (bad_access), on_crash=restart: restarted 5 times in 60 s already, so left crashed "
                       + "(`tern destroy web` ends it)")
        XCTAssertEqual(RestartDecision.preserve(.poweroff).line(row(TERN_DOMAIN_SHUTDOWN, TERN_STOP_POWEROFF), .done),
                       "d3 web: shutdown (poweroff), on_poweroff=preserve: left shutdown (`tern destroy web` ends it)")
        XCTAssertEqual(RestartDecision.destroy(.reboot).line(row(TERN_DOMAIN_SHUTDOWN, TERN_STOP_REBOOT), .done),
                       "d3 web: shutdown (reboot), on_reboot=destroy: destroyed")
        XCTAssertNil(RestartDecision.nothing.line(crashed, .done))
    }
}
