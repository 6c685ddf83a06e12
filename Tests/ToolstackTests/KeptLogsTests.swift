import Foundation
import XCTest
@testable import TernToolstack

/// logd's files: a header naming the instance, one file per instance,
/// older instances numbered as logrotate does, the last of an id found
/// among all names.
final class KeptLogsTests: XCTestCase {
    func testHeaderRoundTrip() {
        let known = KeptLogHeader(domid: 3, name: "web-2.a_b", createdNanoseconds: 1_234_567_890, position: 20480)
        XCTAssertEqual(known.line, "== d3 web-2.a_b, created_ns 1234567890, Tern log byte 20480 ==")
        XCTAssertEqual(KeptLogHeader(known.line[...]), known)
        let unknown = KeptLogHeader(domid: 1, name: "hello", createdNanoseconds: nil, position: 0)
        XCTAssertEqual(unknown.line, "== d1 hello, created_ns unknown, Tern log byte 0 ==")
        XCTAssertEqual(KeptLogHeader(unknown.line[...]), unknown)
    }

    func testNotHeaders() {
        for line in ["hello", "== d1 hello ==", "== d1 hello, created_ns x, Tern log byte 0 ==",
                     "== dx hello, created_ns 1, Tern log byte 0 ==", "== d1 hello, created_ns 1, Tern log byte ==",
                     "== d1 hello, created_ns 1, Tern log byte 0", "== d1 a b, created_ns 1, Tern log byte 0 =="] {
            XCTAssertNil(KeptLogHeader(line[...]), line)
        }
    }

    func testAHeaderIsOneInstance() {
        let header = KeptLogHeader(domid: 1, name: "sleeper", createdNanoseconds: 300, position: 10)
        let row = ConsoleHistoryTests.row(1, "sleeper", created: 300)
        XCTAssertTrue(header.isInstance(row))
        XCTAssertFalse(header.isInstance(ConsoleHistoryTests.row(1, "sleeper", created: 301)))
        XCTAssertFalse(header.isInstance(ConsoleHistoryTests.row(2, "sleeper", created: 300)))
        XCTAssertFalse(KeptLogHeader(domid: 1, name: "sleeper", createdNanoseconds: nil, position: 10).isInstance(row))
    }

    func testEachInstanceItsFileAndOlderOnesMoveBack() throws {
        let scratch = try Scratch(self)
        let logs = KeptLogs(directory: scratch.url.path)
        for n in 1...(KeptLogs.olderInstancesKept + 2) {
            logs.startInstance(KeptLogHeader(domid: 1, name: "sleeper", createdNanoseconds: UInt64(n), position: UInt64(n * 100)))
            logs.append("instance \(n)", to: "sleeper")
        }
        let last = KeptLogs.olderInstancesKept + 2
        XCTAssertEqual(logs.read(at: logs.path("sleeper"))?.lines, ["instance \(last)"])
        XCTAssertEqual(logs.read(at: logs.path("sleeper"))?.header.createdNanoseconds, UInt64(last))
        XCTAssertEqual(logs.path("sleeper", older: 1), scratch.path("sleeper.log.1"))
        for older in 1...KeptLogs.olderInstancesKept {
            XCTAssertEqual(logs.read(at: logs.path("sleeper", older: older))?.lines, ["instance \(last - older)"])
        }
        XCTAssertNil(logs.read(at: logs.path("sleeper", older: KeptLogs.olderInstancesKept + 1)), "the oldest went")
        XCTAssertEqual(Files.names(in: scratch.url.path).count, KeptLogs.olderInstancesKept + 1)
    }

    func testTheLastOfANameOrAnID() throws {
        let scratch = try Scratch(self)
        let logs = KeptLogs(directory: scratch.url.path)
        logs.startInstance(KeptLogHeader(domid: 1, name: "hello", createdNanoseconds: nil, position: 100))
        logs.append("hello once", to: "hello")
        logs.startInstance(KeptLogHeader(domid: 1, name: "web", createdNanoseconds: 7, position: 300))
        logs.append("web, d1", to: "web")
        logs.startInstance(KeptLogHeader(domid: 2, name: "web", createdNanoseconds: 9, position: 500))
        logs.append("web, d2", to: "web")
        XCTAssertEqual(logs.last("hello")?.lines, ["hello once"])
        XCTAssertEqual(logs.last("web")?.lines, ["web, d2"])
        XCTAssertEqual(logs.last("1")?.lines, ["web, d1"], "d1's last instance: the older web (web.log.1), not hello")
        XCTAssertEqual(logs.last("2")?.header.name, "web")
        XCTAssertNil(logs.last("3"))
        XCTAssertNil(logs.last("db"))
        let outside = scratch.url.deletingLastPathComponent().appendingPathComponent("outside-\(getpid()).log").path
        FileManager.default.createFile(atPath: outside, contents: Data((KeptLogHeader(domid: 1, name: "x", createdNanoseconds: 1, position: 1).line + "\nsecret\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: outside) }
        XCTAssertNil(logs.last("../outside-\(getpid())"), "a path, not a name: nothing outside the directory")
    }

    func testKeptFileNames() {
        XCTAssertTrue(KeptLogs.isKeptFile("web.log"))
        XCTAssertTrue(KeptLogs.isKeptFile("web.log.3"))
        XCTAssertTrue(KeptLogs.isKeptFile("web.1.log"), "a domain named web.1")
        XCTAssertFalse(KeptLogs.isKeptFile(".position"))
        XCTAssertFalse(KeptLogs.isKeptFile(".position.new"))
        XCTAssertFalse(KeptLogs.isKeptFile("web.txt"))
    }

    func testProgress() throws {
        let scratch = try Scratch(self)
        let logs = KeptLogs(directory: scratch.url.path)
        XCTAssertNil(logs.progress())
        logs.saveProgress(12345)
        XCTAssertEqual(logs.progress(), 12345)
        logs.saveProgress(99)
        XCTAssertEqual(logs.progress(), 99)
        XCTAssertEqual(Files.names(in: scratch.url.path), [".position"], "no temporary file left")
    }
}
