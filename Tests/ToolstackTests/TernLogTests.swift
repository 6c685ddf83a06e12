import XCTest
@testable import TernToolstack

/// Tern's log as lines with positions: chunks split anywhere, bytes lost
/// to the ring, guest lines and Tern's created lines told apart.
final class TernLogTests: XCTestCase {
    /// Feeds `text` to a reader in chunks of `size` bytes, as TERN_HC_LOG_READ returns it.
    func lines(_ text: String, chunk size: Int, from start: UInt64 = 0) -> [LogLine] {
        var reader = LogReader(from: start)
        let bytes = Array(text.utf8)
        var out: [LogLine] = []
        var at = 0
        while at < bytes.count {
            let piece = Array(bytes[at..<min(at + size, bytes.count)])
            at += piece.count
            out += reader.take(piece, next: start + UInt64(at), lost: 0)
        }
        return out
    }

    func testLinesCarryTheirPositionWhereverChunksSplit() {
        let text = "(tern) d1 web: created, 4 MiB RAM\n(d1) hello\n(d1) world\n(d1) unfinished"
        for size in [1, 3, 7, 4096] {
            let got = lines(text, chunk: size, from: 1000)
            XCTAssertEqual(got.map(\.text), ["(tern) d1 web: created, 4 MiB RAM", "(d1) hello", "(d1) world"], "chunks of \(size)")
            XCTAssertEqual(got.map(\.position), [1000, 1034, 1045], "chunks of \(size)")
        }
    }

    func testLineStartIsTheUnfinishedLine() {
        var reader = LogReader()
        _ = reader.take(Array("(d1) a\n(d1) b".utf8), next: 13, lost: 0)
        XCTAssertEqual(reader.position, 13)
        XCTAssertEqual(reader.lineStart, 7, "the unfinished (d1) b starts at 7")
    }

    func testAfterLostBytesTheFragmentOfALineIsDropped() {
        // The ring overwrote bytes: what is left begins inside d2's line,
        // at text that looks like d1's. It must not count as d1's line.
        var reader = LogReader(from: 0)
        let held = Array("(d1) forged by d2\n(d1) real\n".utf8)
        let got = reader.take(held, next: 5000 + UInt64(held.count), lost: 5000)
        XCTAssertEqual(got.map(\.text), ["(d1) real"])
        XCTAssertEqual(got.map(\.position), [5018])
    }

    func testLostBytesDropAPartialLine() {
        var reader = LogReader()
        XCTAssertEqual(reader.take(Array("(d1) start of".utf8), next: 13, lost: 0), [])
        let got = reader.take(Array("xx end\n(d1) next\n".utf8), next: 9017, lost: 8987)   // asked from 13, held from 9000
        XCTAssertEqual(got.map(\.text), ["(d1) next"], "the partial line and the fragment go")
        XCTAssertEqual(reader.lost, 8987)
    }

    func testSavedLineStartAfterALossIsNotMidLine() {
        // logd saves lineStart; while a fragment is unfinished it must not be
        // a position inside that fragment (a reader there would take it whole).
        var reader = LogReader()
        _ = reader.take(Array("frag".utf8), next: 9004, lost: 9000)
        XCTAssertLessThanOrEqual(reader.lineStart, 9000)
        _ = reader.take(Array("ment\n(d1) x\n".utf8), next: 9016, lost: 0)
        XCTAssertEqual(reader.lineStart, 9016)
    }

    func testCreatedLines() {
        func created(_ text: String) -> String? { LogLine(position: 0, text: text).created.map { "\($0.domid) \($0.name)" } }
        XCTAssertEqual(created("(tern) d1 hello: created, 4 MiB RAM, entry 0x100000, 1030 frames (free now 1234)"), "1 hello")
        XCTAssertEqual(created("(tern) d12 web-2.a_b: created, 8 MiB RAM from the pool"), "12 web-2.a_b")
        XCTAssertEqual(created("(tern) d3 x: created"), "3 x")
        XCTAssertNil(created("(tern) d1 hello: destroyed by the toolstack"))
        XCTAssertNil(created("(tern) d1 hello: created2"))
        XCTAssertNil(created("(tern) WARNING: d1 hello: created, 4 MiB"))
        XCTAssertNil(created("(tern) d+1 hello: created, 4 MiB"))
        XCTAssertNil(created("(tern) d1 a b: created, 4 MiB"))
        XCTAssertNil(created("(d2) (tern) d1 hello: created, 4 MiB"), "a guest's line is never Tern's")
    }

    func testGuestLines() {
        XCTAssertEqual(ConsoleLines.parse("(d13) text here").map { "\($0.domid):\($0.text)" }, "13:text here")
        XCTAssertNil(ConsoleLines.parse("(tern) d3 web"))
        XCTAssertNil(ConsoleLines.parse("(d) x"))
        XCTAssertNil(ConsoleLines.parse("(d3)x"))
        XCTAssertEqual(LogLine(position: 0, text: "(d2) (d1) inner").guest.map { "\($0.domid):\($0.text)" }, "2:(d1) inner")
    }
}
