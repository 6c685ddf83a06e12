import XCTest
@testable import TernCore

/// Tern's console history: positions since boot, wrap-around, what a slow
/// reader lost, and reads that never run past what was written.
final class ConsoleRingTests: XCTestCase {
    var storage: UnsafeMutableRawBufferPointer!

    override func setUp() { storage = .allocate(byteCount: 16, alignment: 1) }
    override func tearDown() { storage.deallocate() }

    func append(_ ring: inout ConsoleRing, _ text: String) {
        Array(text.utf8).withUnsafeBytes { ring.append($0) }
    }

    func read(_ ring: ConsoleRing, from position: UInt64, maximum: Int = 100) -> (String, ConsoleRing.Span)? {
        guard let span = ring.span(from: position, maximum: maximum) else { return nil }
        let (head, tail) = ring.pieces(of: span)
        XCTAssertEqual(head.count + tail.count, span.count)
        return (String(decoding: Array(head) + Array(tail), as: UTF8.self), span)
    }

    func testEmptyRing() {
        let ring = ConsoleRing(storage: storage)
        XCTAssertEqual(ring.end, 0)
        XCTAssertEqual(read(ring, from: 0)?.0, "")
        XCTAssertNil(ring.span(from: 1, maximum: 10), "a position not written yet")
    }

    func testReadsWhatWasWrittenAndResumes() {
        var ring = ConsoleRing(storage: storage)
        append(&ring, "hello\n")
        XCTAssertEqual(read(ring, from: 0)?.0, "hello\n")
        XCTAssertEqual(read(ring, from: 2, maximum: 3)?.0, "llo")
        append(&ring, "more\n")
        XCTAssertEqual(ring.end, 11)
        XCTAssertEqual(read(ring, from: 6)?.0, "more\n")
        XCTAssertEqual(read(ring, from: 11)?.0, "")
        XCTAssertNil(ring.span(from: 12, maximum: 10))
    }

    func testWrapKeepsTheLastBytesAndCountsTheLost() {
        var ring = ConsoleRing(storage: storage)
        append(&ring, "0123456789")
        append(&ring, "abcdefghij")      // 20 bytes into 16: "0123" is gone
        XCTAssertEqual(ring.start, 4)
        let (text, span) = read(ring, from: 0)!
        XCTAssertEqual(text, "456789abcdefghij")
        XCTAssertEqual(span.lost, 4)
        XCTAssertEqual(span.position, 4)
        // A read that wraps in the storage comes out in order.
        XCTAssertEqual(read(ring, from: 14, maximum: 4)?.0, "efgh")
        XCTAssertEqual(read(ring, from: 14, maximum: 4)?.1.lost, 0)
    }

    func testWriteLongerThanTheRing() {
        var ring = ConsoleRing(storage: storage)
        append(&ring, "xy")
        append(&ring, String(repeating: "a", count: 20) + "0123456789ABCDEF")
        XCTAssertEqual(ring.end, 38)
        XCTAssertEqual(read(ring, from: 0)?.0, "0123456789ABCDEF")
        XCTAssertEqual(read(ring, from: 0)?.1.lost, 22)
    }

    func testManySmallWritesMatchAModel() {
        var ring = ConsoleRing(storage: storage)
        var model: [UInt8] = []
        var generator = SystemRandomNumberGenerator()
        for round in 0..<500 {
            let count = Int.random(in: 0...20, using: &generator)
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: round &+ $0) }
            bytes.withUnsafeBytes { ring.append($0) }
            model += bytes
            let from = UInt64.random(in: 0...UInt64(model.count), using: &generator)
            let span = ring.span(from: from, maximum: 7)!
            let (head, tail) = ring.pieces(of: span)
            let oldest = max(0, model.count - 16)
            XCTAssertEqual(span.position, max(from, UInt64(oldest)))
            XCTAssertEqual(Array(head) + Array(tail), Array(model[Int(span.position)..<(Int(span.position) + span.count)]))
            XCTAssertEqual(span.count, min(7, model.count - Int(span.position)))
        }
    }
}
