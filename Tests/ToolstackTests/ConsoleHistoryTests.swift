import TernABI
import XCTest
@testable import TernToolstack

/// What `tern console` shows of a guest's past: one instance's lines,
/// each once (issue: a new d1 showed the boot-time hello's lines, and a
/// sleeper created three times showed all three instances' output).
final class ConsoleHistoryTests: XCTestCase {
    /// Lines as Tern's log holds them, from position `start` on.
    static func log(_ texts: [String], from start: UInt64 = 0) -> [LogLine] {
        var position = start
        return texts.map { text in
            defer { position += UInt64(text.utf8.count) + 1 }
            return LogLine(position: position, text: text)
        }
    }

    static func row(_ id: UInt32, _ name: String, created: UInt64, state: Int32 = TERN_DOMAIN_BLOCKED) -> DomainRow {
        DomainRow(id: id, name: name, state: UInt32(state), memoryBytes: 4 << 20, vcpus: 1, cpuTimeNanoseconds: 0,
                  privileged: false, createdNanoseconds: created)
    }

    /// The boot-time hello was d1; it stopped; sleeper was created three
    /// times, each as d1 (ids are reused), the last still running.
    static let history = log([
        "(tern) d0 dom0: created, 512 MiB RAM identity-mapped",
        "(tern) d1 hello: created, 4 MiB RAM, entry 0x100000, 1030 frames (free now 9000)",
        "(d1) hello from a Tern guest: domain 1",
        "(tern) d1 hello: shut down (poweroff)",
        "(tern) d1 hello: destroyed, 1030 frames returned, free frames 7970 -> 9000",
        "(tern) d1 sleeper: created, 4 MiB RAM, entry 0x100000, 1030 frames (free now 7970)",
        "(d1) sleeper: first instance",
        "(tern) d1 sleeper: destroyed by the toolstack",
        "(tern) d1 sleeper: created, 4 MiB RAM, entry 0x100000, 1030 frames (free now 7970)",
        "(d1) sleeper: second instance",
        "(tern) d1 sleeper: destroyed by the toolstack",
        "(tern) d2 ticker: created, 4 MiB RAM, entry 0x100000, 1030 frames (free now 6940)",
        "(d2) tick 1 of 5",
        "(tern) d1 sleeper: created, 4 MiB RAM, entry 0x100000, 1030 frames (free now 5910)",
        "(d1) sleeper: third instance",
        "(d2) tick 2 of 5",
        "(d1) sleeper: round 1",
    ])

    func testAGuestShowsOnlyItsOwnInstance() {
        let sleeper = Self.row(1, "sleeper", created: 300)
        XCTAssertEqual(ConsoleHistory.of(sleeper, lines: Self.history, kept: nil, keptUpTo: nil),
                       ["sleeper: third instance", "sleeper: round 1"],
                       "not the boot-time hello's d1 lines, not the earlier sleepers', not the ticker's")
    }

    func testAStoppedDomainTheListShowsStillHasItsOwnOutput() {
        // A kept (crashed) domain stays in the list with its id and name.
        let crashed = Self.row(1, "sleeper", created: 300, state: TERN_DOMAIN_CRASHED)
        XCTAssertTrue(crashed.hasStopped)
        XCTAssertEqual(ConsoleHistory.of(crashed, lines: Self.history, kept: nil, keptUpTo: nil), ["sleeper: third instance", "sleeper: round 1"])
    }

    func testAGoneGuestShowsItsLastInstance() {
        let lines = Self.history + Self.log(["(tern) d1 sleeper: destroyed by the toolstack"], from: 5000)
        let byName = ConsoleHistory.gone("sleeper", lines: lines)
        XCTAssertEqual(byName?.label, "d1 sleeper")
        XCTAssertEqual(byName?.lines, ["sleeper: third instance", "sleeper: round 1"])
        XCTAssertEqual(ConsoleHistory.gone("hello", lines: lines)?.lines, ["hello from a Tern guest: domain 1"],
                       "the hello's lines end where the next d1 begins")
        XCTAssertEqual(ConsoleHistory.gone("1", lines: lines)?.label, "d1 sleeper", "by id: the last instance of that id")
        XCTAssertNil(ConsoleHistory.gone("web", lines: lines))
        XCTAssertNil(ConsoleHistory.gone("7", lines: lines))
    }

    func testAnInstanceWithoutOutputShowsNothingOfTheOneBefore() {
        let lines = Self.log(["(tern) d1 sleeper: created, 4 MiB", "(d1) sleeper: first", "(tern) d1 sleeper: created, 4 MiB"])
        XCTAssertEqual(ConsoleHistory.gone("sleeper", lines: lines)?.lines, [])
    }

    func testAListOlderThanTheLogFindsNoStart() {
        // The list showed d1 "sleeper", but the log read after it ends with
        // another d1's created line: the console reads again.
        let lines = Self.log(["(tern) d1 sleeper: created, 4 MiB", "(tern) d1 web: created, 4 MiB"])
        XCTAssertNil(DomainInstances.start(of: 1, named: "sleeper", in: lines))
    }

    /// The ring overwrote the instance's start: logd's file of it holds its
    /// lines up to logd's progress, the ring's lines from there on.
    func testWhenTheLogLostTheStartLogdsFileAndTheLogJoinWithoutARepeat() {
        let sleeper = Self.row(1, "sleeper", created: 300)
        let ring = Self.log(["(d1) sleeper: line 2", "(d2) tick", "(d1) sleeper: line 3", "(d1) sleeper: line 4"], from: 70_000)
        let header = KeptLogHeader(domid: 1, name: "sleeper", createdNanoseconds: 300, position: 1000)
        let kept = KeptLogs.Kept(header: header, lines: ["sleeper: line 1", "sleeper: line 2", "sleeper: line 3"])
        let progress = ring[3].position   // logd wrote up to line 3
        XCTAssertEqual(ConsoleHistory.of(sleeper, lines: ring, kept: kept, keptUpTo: progress),
                       ["sleeper: line 1", "sleeper: line 2", "sleeper: line 3", "sleeper: line 4"])
    }

    func testLogdsFileOfAnotherInstanceIsNotUsed() {
        let sleeper = Self.row(1, "sleeper", created: 300)
        let ring = Self.log(["(d1) sleeper: line 9"], from: 70_000)
        let earlier = KeptLogs.Kept(header: KeptLogHeader(domid: 1, name: "sleeper", createdNanoseconds: 100, position: 10),
                                    lines: ["sleeper: an earlier instance"])
        XCTAssertEqual(ConsoleHistory.of(sleeper, lines: ring, kept: earlier, keptUpTo: 70_000), ["sleeper: line 9"])
        let unknown = KeptLogs.Kept(header: KeptLogHeader(domid: 1, name: "sleeper", createdNanoseconds: nil, position: 10),
                                    lines: ["sleeper: who knows"])
        XCTAssertEqual(ConsoleHistory.of(sleeper, lines: ring, kept: unknown, keptUpTo: 70_000), ["sleeper: line 9"])
    }

    func testTheNoteAtTheEnd() {
        let echo = Self.row(1, "echo", created: 5)
        XCTAssertEqual(ConsoleHistory.endNote(echo, now: nil), "[d1 echo: stopped]\n")
        var kept = Self.row(3, "keep", created: 9, state: TERN_DOMAIN_CRASHED)
        kept.stopReason = UInt32(TERN_STOP_BAD_ACCESS)
        XCTAssertEqual(ConsoleHistory.endNote(kept, now: kept), "[d3 keep: crashed (bad_access), kept until destroyed]\n")
        let dying = Self.row(3, "keep", created: 9, state: TERN_DOMAIN_DYING)
        XCTAssertEqual(ConsoleHistory.endNote(dying, now: dying), "[d3 keep: stopped]\n", "dying: not kept, going")
    }

    func testSameInstanceIsIdAndCreationTime() {
        let a = Self.row(1, "sleeper", created: 300)
        XCTAssertTrue(a.isSameInstance(as: Self.row(1, "sleeper", created: 300, state: TERN_DOMAIN_RUNNING)))
        XCTAssertFalse(a.isSameInstance(as: Self.row(1, "sleeper", created: 301)))
        XCTAssertFalse(a.isSameInstance(as: Self.row(2, "sleeper", created: 300)))
    }
}
