import TernABI
import XCTest
@testable import TernNet

/// Granted pages in test memory: ref N is page N of a pool; some refs are
/// not granted. Counts what is mapped and released.
final class FakePages: GuestPages {
    let pool: UnsafeMutableRawPointer
    let count = 64
    var notGranted: Set<UInt32> = []
    var mapped = 0, released = 0

    init() {
        pool = .allocate(byteCount: count * 4096, alignment: 4096)
        pool.initializeMemory(as: UInt8.self, repeating: 0, count: count * 4096)
    }
    deinit { pool.deallocate() }

    /// Refs 1000 + N (as TestNetRing posts rx pages) are page N too.
    func page(_ ref: UInt32, writable: Bool) -> UnsafeMutableRawPointer? {
        let index = ref >= 1000 ? ref - 1000 : ref
        guard index < count, !notGranted.contains(ref) else { return nil }
        mapped += 1
        return pool + Int(index) * 4096
    }
    func release(_ page: UnsafeMutableRawPointer) { released += 1 }

    func fill(_ ref: UInt32, at offset: Int, _ bytes: [UInt8]) {
        (pool + Int(ref) * 4096 + offset).copyMemory(from: bytes, byteCount: bytes.count)
    }
    func bytes(_ ref: UInt32, _ count: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: pool + Int(ref) * 4096, count: count))
    }
}

/// A port that records frames sent and hands out queued frames.
final class FakePort: PacketPort {
    var sent: [[UInt8]] = []
    var waiting: [[UInt8]] = []
    var refuse = false

    func send(_ parts: [UnsafeRawBufferPointer]) -> Bool {
        guard !refuse else { return false }
        sent.append(parts.flatMap { Array($0) })
        return true
    }
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard !waiting.isEmpty else { return nil }
        let frame = waiting.removeFirst()
        let n = min(frame.count, buffer.count)
        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: frame.withUnsafeBytes { $0 }[0..<n]))
        return frame.count
    }
}

final class NetDataPathTests: XCTestCase {
    let txPage = TestNetRing(), rxPage = TestNetRing()
    let pages = FakePages(), port = FakePort()
    lazy var path = NetDataPath(tx: NetTxRing(attaching: txPage.memory), rx: NetRxRing(attaching: rxPage.memory),
                                pages: pages, port: port)

    func request(_ gref: UInt32, offset: UInt16 = 0, flags: UInt16 = 0, id: UInt16, size: UInt16) -> tern_netif_tx_request {
        tern_netif_tx_request(gref: gref, offset: offset, flags: flags, id: id, size: size)
    }

    func testAPacketOverTwoPagesLeavesAsOneFrameAndEverySlotIsAnswered() {
        pages.fill(3, at: 4000, Array(repeating: 0xAA, count: 96))
        pages.fill(4, at: 0, Array(repeating: 0xBB, count: 4))
        txPage.send([request(3, offset: 4000, flags: UInt16(TERN_NETTXF_MORE_DATA), id: 10, size: 100), request(4, id: 11, size: 4)])
        XCTAssertEqual(path.transmit(), .done(notify: true))
        XCTAssertEqual(port.sent, [Array(repeating: 0xAA, count: 96) + Array(repeating: 0xBB, count: 4)])
        XCTAssertEqual(txPage.header.pointee.rsp_prod, 2)
        XCTAssertEqual([txPage.txSlot(0).pointee.response.id, txPage.txSlot(1).pointee.response.id], [10, 11])
        XCTAssertEqual([txPage.txSlot(0).pointee.response.status, txPage.txSlot(1).pointee.response.status], [0, 0])
        XCTAssertEqual(pages.mapped, pages.released, "every per-packet mapping released")
        XCTAssertEqual(path.counters.txPackets, 1)
        XCTAssertEqual(path.counters.txBytes, 100)
    }

    func testMalformedPacketsAreAnsweredErrorAndCountedThenTheNextGoes() {
        txPage.send([request(1, id: 1, size: 10), request(2, id: 2, size: 60)])   // 10 bytes: no Ethernet header
        XCTAssertEqual(path.transmit(), .done(notify: true))
        XCTAssertEqual(txPage.txSlot(0).pointee.response.status, Int16(TERN_NETIF_RSP_ERROR))
        XCTAssertEqual(txPage.txSlot(1).pointee.response.status, 0)
        XCTAssertEqual(path.counters.txMalformed, 1)
        XCTAssertEqual(path.firstFault, .tooShort(10))
        XCTAssertEqual(port.sent.count, 1)
    }

    func testAFatalPacketClosesTheInterfaceAndAnUngrantedPageFailsAlone() {
        pages.notGranted = [5]
        txPage.send([request(5, id: 1, size: 60), request(6, offset: 4090, id: 2, size: 60)])
        XCTAssertEqual(path.transmit(), .fatal(.malformed(.crossesPage(slot: 0, offset: 4090, size: 60))))
        XCTAssertEqual(NetFatal.malformed(.crossesPage(slot: 0, offset: 4090, size: 60)).description,
                       "malformed packet: slot 0 crosses its page: offset 4090 + size 60 > 4096")
        XCTAssertEqual(NetFatal.malformed(.tooShort(1)).errorCode, UInt32(TERN_NETIF_ERROR_MALFORMED))
        XCTAssertEqual(txPage.txSlot(0).pointee.response.status, Int16(TERN_NETIF_RSP_DROPPED), "the ungranted one: dropped, answered")
        XCTAssertEqual(path.counters.txFailed, 1)
        XCTAssertEqual(txPage.header.pointee.rsp_prod, 1, "the fatal packet is not answered: the interface closes")
    }

    func testARunawayIndexClosesTheInterfaceAsRingBroken() {
        txPage.header.pointee.req_prod = 300
        guard case .fatal(let why) = path.transmit() else { return XCTFail() }
        XCTAssertEqual(why.errorCode, UInt32(TERN_NETIF_ERROR_RING_BROKEN))
        rxPage.header.pointee.req_prod = 1000
        port.waiting = [Array(repeating: 1, count: 60)]
        guard case .fatal(let rxWhy) = path.receive() else { return XCTFail() }
        XCTAssertEqual(rxWhy.description, "rx ring broken: req_prod claims 1000 new slots, at most 256 possible (256 slots)")
    }

    func testAHalfPublishedPacketWaits() {
        txPage.send([request(1, flags: UInt16(TERN_NETTXF_MORE_DATA), id: 1, size: 120)])
        XCTAssertEqual(path.transmit(), .done(notify: false))
        XCTAssertTrue(port.sent.isEmpty)
        txPage.send([request(2, id: 2, size: 20)])
        _ = path.transmit()
        XCTAssertEqual(port.sent.map(\.count), [120])
    }

    func testTheRateLimitHoldsPacketsUntilCreditComesBack() {
        path.rate = TokenBucket(bytesPerInterval: 1000, intervalMicroseconds: 50_000, now: 0)
        txPage.send((0..<5).map { request(1, id: UInt16($0), size: 600) })
        XCTAssertEqual(path.transmit(now: 10), .rateLimited(notify: true), "two of 600 bytes go (the second into debt)")
        XCTAssertEqual(port.sent.count, 2)
        XCTAssertEqual(path.rate?.microsecondsUntilCredit(now: 10), 49_990)
        XCTAssertEqual(path.transmit(now: 40_000), .rateLimited(notify: false), "still no credit")
        // (The guest asked to hear of the first response only: no more notifications.)
        XCTAssertEqual(path.transmit(now: 50_000), .rateLimited(notify: false), "800 of credit: two more")
        XCTAssertEqual(port.sent.count, 4)
        XCTAssertEqual(path.transmit(now: 1_000_000), .done(notify: false))
        XCTAssertEqual(port.sent.count, 5)
        XCTAssertEqual(path.counters.txHeld, 3)
    }

    func testFramesGoIntoPostedPagesAndWaitInThePortWithoutThem() {
        port.waiting = [Array(repeating: 1, count: 60), Array(repeating: 2, count: 1514), Array(repeating: 3, count: 70)]
        XCTAssertEqual(path.receive(), .waitingForPages(notify: false), "no page posted")
        XCTAssertEqual(port.waiting.count, 2, "one frame read and held; the others stay in the port's queue, not the backend's")
        rxPage.post(pages: [7, 8])
        XCTAssertEqual(path.receive(), .waitingForPages(notify: true))
        XCTAssertEqual(pages.bytes(7, 60), Array(repeating: 1, count: 60))
        XCTAssertEqual(pages.bytes(8, 1514), Array(repeating: 2, count: 1514))
        XCTAssertEqual(rxPage.rxSlot(0).pointee.response.status, 60)
        XCTAssertEqual(rxPage.rxSlot(1).pointee.response.status, 1514)
        XCTAssertEqual(rxPage.rxSlot(1).pointee.response.id, 8)
        XCTAssertEqual(port.waiting.count, 0, "the third is held for the next page")
        rxPage.post(pages: [9, 10])
        XCTAssertEqual(path.receive(), .done(notify: false), "the guest asked to hear of the first response only")
        XCTAssertEqual(rxPage.header.pointee.rsp_prod, 3, "page 10 stays posted: no frame for it")
        XCTAssertEqual(path.counters.rxPackets, 3)
        XCTAssertEqual(path.counters.rxBytes, 60 + 1514 + 70)
    }

    func testAFrameTooLongOrAnUnmappablePageIsAnsweredError() {
        pages.notGranted = [1008]
        port.waiting = [Array(repeating: 1, count: 5000), Array(repeating: 2, count: 60), Array(repeating: 3, count: 60)]
        rxPage.post(pages: [7, 8, 9])
        _ = path.receive()
        XCTAssertEqual((0..<3).map { rxPage.rxSlot(UInt32($0)).pointee.response.status },
                       [Int16(TERN_NETIF_RSP_ERROR), Int16(TERN_NETIF_RSP_ERROR), 60])
        XCTAssertEqual(path.counters.rxFailed, 2)
    }
}

final class TokenBucketTests: XCTestCase {
    func testCreditIsTakenAndToppedUpAnIntervalAtATimeNeverBeyondOne() {
        var bucket = TokenBucket(bytesPerInterval: 1500, intervalMicroseconds: 1000, now: 0)
        XCTAssertTrue(bucket.take(1000, now: 0))
        XCTAssertTrue(bucket.take(1000, now: 1), "what is left lets one more through, into debt")
        XCTAssertFalse(bucket.take(1, now: 999))
        XCTAssertEqual(bucket.microsecondsUntilCredit(now: 999), 1)
        XCTAssertTrue(bucket.take(1, now: 1000), "-500 + 1500")
        XCTAssertEqual(bucket.credit, 999)
        _ = bucket.take(0, now: 100_000)
        XCTAssertEqual(bucket.credit, 1500, "an idle interface does not save up beyond one interval")
    }
}
