import TernABI
import XCTest
@testable import TernToolstack

/// `tern logd`'s files: a file per instance, started at its created line;
/// created_ns only when the domain list provably showed that instance.
final class ConsoleKeeperTests: XCTestCase {
    typealias Row = DomainRow
    static let dom0 = DomainRow(id: 0, name: "dom0", state: UInt32(TERN_DOMAIN_RUNNING), memoryBytes: 512 << 20, vcpus: 1,
                                cpuTimeNanoseconds: 0, privileged: true, createdNanoseconds: 1)

    func testEveryInstanceItsOwnFile() throws {
        let scratch = try Scratch(self)
        let logs = KeptLogs(directory: scratch.url.path)
        var keeper = ConsoleKeeper(logs: logs)
        let sleeper = ConsoleHistoryTests.row(1, "sleeper", created: 300)
        // The list now: Dom0 and the third sleeper (the hello and the first
        // two sleepers are gone).
        let lookup: ConsoleKeeper.Lookup = { id in [Self.dom0, sleeper].first { $0.id == id } }
        keeper.keep(ConsoleHistoryTests.history, lookup: lookup, readOn: { [] })
        let last = logs.read(at: logs.path("sleeper"))
        XCTAssertEqual(last?.lines, ["sleeper: third instance", "sleeper: round 1"])
        XCTAssertEqual(last?.header, KeptLogHeader(domid: 1, name: "sleeper", createdNanoseconds: 300, position: ConsoleHistoryTests.history[13].position))
        XCTAssertEqual(logs.read(at: logs.path("sleeper", older: 1))?.lines, ["sleeper: second instance"])
        XCTAssertEqual(logs.read(at: logs.path("sleeper", older: 2))?.lines, ["sleeper: first instance"])
        XCTAssertNil(logs.read(at: logs.path("sleeper", older: 1))?.header.createdNanoseconds, "gone before logd read its created line")
        XCTAssertEqual(logs.read(at: logs.path("hello"))?.lines, ["hello from a Tern guest: domain 1"])
        XCTAssertEqual(logs.read(at: logs.path("ticker"))?.lines, ["tick 1 of 5", "tick 2 of 5"])
        XCTAssertNil(logs.read(at: logs.path("dom0")), "Dom0's console is not in Tern's log: no file")
        XCTAssertTrue(last!.header.isInstance(sleeper), "tern console finds the running sleeper's file")
    }

    func testALaterCreatedLineReadAfterTheListMeansTheListShowedALaterInstance() throws {
        let scratch = try Scratch(self)
        let logs = KeptLogs(directory: scratch.url.path)
        var keeper = ConsoleKeeper(logs: logs)
        // When logd asked, d1 was already a second "web" (created 500).
        let later = ConsoleHistoryTests.row(1, "web", created: 500)
        var more = ConsoleHistoryTests.log(["(d1) first web's last line", "(tern) d1 web: created, 4 MiB", "(d1) second web"], from: 100)
        keeper.keep(ConsoleHistoryTests.log(["(tern) d1 web: created, 4 MiB", "(d1) first web"]),
                    lookup: { $0 == 1 ? later : nil }, readOn: { defer { more = [] }; return more })
        XCTAssertEqual(logs.read(at: logs.path("web", older: 1))?.header.createdNanoseconds, nil, "not the later web's 500")
        XCTAssertEqual(logs.read(at: logs.path("web", older: 1))?.lines, ["first web", "first web's last line"])
        XCTAssertEqual(logs.read(at: logs.path("web"))?.header.createdNanoseconds, 500)
        XCTAssertEqual(logs.read(at: logs.path("web"))?.lines, ["second web"])
    }

    func testAListNamingAnotherDomainGivesNoCreationTime() throws {
        let scratch = try Scratch(self)
        let logs = KeptLogs(directory: scratch.url.path)
        var keeper = ConsoleKeeper(logs: logs)
        keeper.keep(ConsoleHistoryTests.log(["(tern) d1 web: created, 4 MiB", "(d1) hi"]),
                    lookup: { _ in ConsoleHistoryTests.row(1, "db", created: 9) }, readOn: { [] })
        XCTAssertEqual(logs.read(at: logs.path("web"))?.header.createdNanoseconds, nil)
    }

    func testALogdStartedAgainGoesOnInTheSameFile() throws {
        let scratch = try Scratch(self)
        let logs = KeptLogs(directory: scratch.url.path)
        let web = ConsoleHistoryTests.row(4, "web", created: 77)
        var first = ConsoleKeeper(logs: logs)
        first.keep(ConsoleHistoryTests.log(["(tern) d4 web: created, 4 MiB", "(d4) one"]), lookup: { _ in web }, readOn: { [] })
        // A new logd, from the saved position: it has not read the created line.
        var second = ConsoleKeeper(logs: logs)
        second.keep(ConsoleHistoryTests.log(["(d4) two"], from: 100), lookup: { _ in web }, readOn: { [] })
        XCTAssertEqual(logs.read(at: logs.path("web"))?.lines, ["one", "two"])
        XCTAssertNil(logs.read(at: logs.path("web", older: 1)), "no new instance file")
    }

    func testLinesOfAnIdLogdCannotName() throws {
        let scratch = try Scratch(self)
        let logs = KeptLogs(directory: scratch.url.path)
        var keeper = ConsoleKeeper(logs: logs)
        keeper.keep(ConsoleHistoryTests.log(["(d5) orphan"], from: 900), lookup: { _ in nil }, readOn: { [] })
        let kept = logs.read(at: logs.path(ConsoleKeeper.unnamed(5)))
        XCTAssertEqual(kept?.lines, ["orphan"])
        XCTAssertEqual(kept?.header.domid, 5)
        XCTAssertFalse(GuestConfig.isValidName(ConsoleKeeper.unnamed(5)), "no domain's file can be it")
    }
}
