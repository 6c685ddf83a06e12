import XCTest
import TernABI
@testable import TernRing

/// io/ring.h semantics: layout, notification only when asked, nothing lost
/// or duplicated under random interleavings, hostile indices detected.
final class IORingTests: XCTestCase {
    struct Request: Equatable { var id: UInt64; var payload: UInt64 }
    struct Response: Equatable { var id: UInt64; var status: Int32 }

    var page: UnsafeMutableRawPointer!
    let pageSize = 4096

    override func setUp() { page = .allocate(byteCount: pageSize, alignment: 4096) }
    override func tearDown() { page.deallocate() }

    var header: UnsafeMutablePointer<tern_ring_header> { page.assumingMemoryBound(to: tern_ring_header.self) }

    func testLayout() {
        XCTAssertEqual(RingLayout.headerSize, 64)
        XCTAssertEqual(RingLayout(pageSize: 4096, slotSize: 16)?.entries, 128)   // (4096-64)/16 = 252 -> 128
        XCTAssertEqual(RingLayout(pageSize: 4096, slotSize: 112)?.entries, 32)
        XCTAssertEqual(RingLayout(pageSize: 4096, slotSize: 4032)?.entries, 1)
        XCTAssertNil(RingLayout(pageSize: 4096, slotSize: 4033))
        XCTAssertNil(RingLayout(pageSize: 4096, slotSize: 0))
    }

    func testRoundTripAndNotificationOnlyWhenAsked() throws {
        var front = try XCTUnwrap(FrontRing<Request, Response>(initializing: page, pageSize: pageSize))
        var back = try XCTUnwrap(BackRing<Request, Response>(attaching: page, pageSize: pageSize))
        XCTAssertEqual(front.freeSlots, 128)
        try front.push(Request(id: 1, payload: 10))
        XCTAssertTrue(front.publish(), "req_event starts at 1: the first request notifies")
        try front.push(Request(id: 2, payload: 20))
        XCTAssertFalse(front.publish(), "the backend has not asked again")
        XCTAssertEqual(try back.takeRequest(), Request(id: 1, payload: 10))
        XCTAssertEqual(try back.takeRequest(), Request(id: 2, payload: 20))
        XCTAssertNil(try back.takeRequest())
        XCTAssertFalse(try back.finalCheckForRequests(), "nothing more: it sets req_event and sleeps")
        XCTAssertEqual(header.pointee.req_event, 3)
        try front.push(Request(id: 3, payload: 30))
        XCTAssertTrue(front.publish(), "now it asked")
        XCTAssertTrue(try back.finalCheckForRequests())
        _ = try back.takeRequest()
        try back.push(Response(id: 1, status: 0))
        XCTAssertTrue(back.publish())
        XCTAssertEqual(try front.takeResponse(), Response(id: 1, status: 0))
        XCTAssertNil(try front.takeResponse())
        try back.push(Response(id: 2, status: 0))
        try back.push(Response(id: 3, status: 0))
        XCTAssertThrowsError(try back.push(Response(id: 4, status: 0))) { XCTAssertEqual($0 as? RingError, .full) }
    }

    func testFullRingAndAnswerWithoutRequest() throws {
        var front = try XCTUnwrap(FrontRing<Request, Response>(initializing: page, pageSize: pageSize))
        var back = try XCTUnwrap(BackRing<Request, Response>(attaching: page, pageSize: pageSize))
        XCTAssertThrowsError(try back.push(Response(id: 0, status: 0))) { XCTAssertEqual($0 as? RingError, .full) }
        for i in 0..<128 { try front.push(Request(id: UInt64(i), payload: 0)) }
        XCTAssertThrowsError(try front.push(Request(id: 999, payload: 0))) { XCTAssertEqual($0 as? RingError, .full) }
    }

    func testRandomInterleavingsLoseAndDuplicateNothing() throws {
        for seed in 0..<20 {
            var rng = SplitMix(seed: UInt64(seed))
            // Start near the 2^32 wrap of the indices, as after a long run.
            let start = UInt32.max - UInt32(rng.next() % 300)
            var front = try XCTUnwrap(FrontRing<Request, Response>(initializing: page, pageSize: pageSize, startIndex: start))
            var back = try XCTUnwrap(BackRing<Request, Response>(attaching: page, pageSize: pageSize))
            var sent: UInt64 = 0, received: [UInt64] = [], answered: [UInt64] = []
            var pendingAtBack: [UInt64] = []
            var backAsleep = false, frontNotifications = 0
            for _ in 0..<5_000 {
                switch rng.next() % 6 {
                case 0, 1:
                    let n = Int(rng.next() % 8)
                    for _ in 0..<n where front.freeSlots > 0 { try front.push(Request(id: sent, payload: sent &* 7)); sent += 1 }
                    if front.publish() { backAsleep = false; frontNotifications += 1 }
                case 2, 3:
                    // A sleeping backend runs only when notified.
                    guard !backAsleep else { break }
                    while let r = try back.takeRequest() {
                        XCTAssertEqual(r.payload, r.id &* 7)
                        received.append(r.id); pendingAtBack.append(r.id)
                    }
                    if !(try back.finalCheckForRequests()) { backAsleep = true }
                case 4:
                    let n = Int(rng.next() % 8)
                    for _ in 0..<min(n, pendingAtBack.count) {
                        try back.push(Response(id: pendingAtBack.removeFirst(), status: 0))
                    }
                    _ = back.publish()
                default:
                    while let r = try front.takeResponse() { answered.append(r.id) }
                }
            }
            XCTAssertEqual(received, Array(0..<UInt64(received.count)), "seed \(seed): requests in order, none lost or repeated")
            XCTAssertEqual(answered, Array(0..<UInt64(answered.count)), "seed \(seed): responses in order")
            XCTAssertLessThanOrEqual(UInt64(received.count), sent)
            XCTAssertGreaterThan(answered.count, 100)
            // No lost wakeup: a backend asleep has nothing waiting for it.
            if backAsleep { XCTAssertNil(try back.takeRequest(), "seed \(seed): requests wait for a sleeping backend") }
            XCTAssertGreaterThan(frontNotifications, 10)
        }
    }

    func testHostileIndicesAreDetected() throws {
        var front = try XCTUnwrap(FrontRing<Request, Response>(initializing: page, pageSize: pageSize))
        var back = try XCTUnwrap(BackRing<Request, Response>(attaching: page, pageSize: pageSize))
        // A frontend claiming more requests than slots.
        header.pointee.req_prod = 129
        XCTAssertThrowsError(try back.takeRequest()) { XCTAssertEqual($0 as? RingError, .corruptIndices(unconsumed: 129, limit: 128)) }
        XCTAssertThrowsError(try back.finalCheckForRequests())
        header.pointee.req_prod = 0xFFFF_FFF0   // "behind" the consumer: a huge wrapped count
        XCTAssertThrowsError(try back.takeRequest())
        header.pointee.req_prod = 0
        // A backend answering requests that were never sent.
        try front.push(Request(id: 1, payload: 7))
        _ = front.publish()
        header.pointee.rsp_prod = 2
        XCTAssertThrowsError(try front.takeResponse()) { XCTAssertEqual($0 as? RingError, .corruptIndices(unconsumed: 2, limit: 1)) }
        header.pointee.rsp_prod = 1
        XCTAssertNotNil(try front.takeResponse())
        // Any slot index read stays inside the page (masked), whatever the peer wrote.
        header.pointee.req_prod = 0xDEAD_BEEF
        var back2 = try XCTUnwrap(BackRing<Request, Response>(attaching: page, pageSize: pageSize))
        XCTAssertThrowsError(try back2.takeRequest())
    }
}

/// A small deterministic generator, so a failing seed can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
