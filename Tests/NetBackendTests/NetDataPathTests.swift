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

/// A port that records frames sent (and their headers) and hands out
/// queued frames (with a header each, plain by default).
final class FakePort: PacketPort {
    var sent: [[UInt8]] = []
    var headers: [VnetHeader] = []
    var waiting: [[UInt8]] = []
    var waitingHeaders: [VnetHeader] = []
    var refuse = false

    func send(_ parts: [UnsafeRawBufferPointer], header: VnetHeader) -> Bool {
        guard !refuse else { return false }
        sent.append(parts.flatMap { Array($0) })
        headers.append(header)
        return true
    }
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> (length: Int, header: VnetHeader)? {
        guard !waiting.isEmpty else { return nil }
        let frame = waiting.removeFirst()
        let header = waitingHeaders.isEmpty ? VnetHeader() : waitingHeaders.removeFirst()
        let n = min(frame.count, buffer.count)
        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: frame.withUnsafeBytes { $0 }[0..<n]))
        return (frame.count, header)
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

    func testAFrameTooLongIsDroppedAndAnUnmappablePageIsAnsweredError() {
        pages.notGranted = [1008]
        port.waiting = [Array(repeating: 1, count: 5000), Array(repeating: 2, count: 60), Array(repeating: 3, count: 60)]
        rxPage.post(pages: [7, 8, 9])
        _ = path.receive()
        XCTAssertEqual((0..<2).map { rxPage.rxSlot(UInt32($0)).pointee.response.status }, [60, Int16(TERN_NETIF_RSP_ERROR)],
                       "5000 bytes without SG: dropped, no page used")
        XCTAssertEqual(rxPage.header.pointee.rsp_prod, 2)
        XCTAssertEqual(path.counters.rxFailed, 1)
        XCTAssertEqual(path.counters.rxDropped, 1)
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

/// Checksum and segmentation offload (TERN_NETIF_FEATURE_CSUM, _GSO).
final class NetOffloadTests: XCTestCase {
    let txPage = TestNetRing(), rxPage = TestNetRing()
    let pages = FakePages(), port = FakePort()
    lazy var path = NetDataPath(tx: NetTxRing(attaching: txPage.memory), rx: NetRxRing(attaching: rxPage.memory),
                                pages: pages, port: port, offloads: NetOffloads(scatterGather: true, checksum: true, segmentation: true))

    /// Ethernet, IPv4 (20 bytes) and TCP with 12 bytes of options: 66 bytes.
    static let tcpHeaders: [UInt8] = [UInt8](repeating: 0xEE, count: 12) + [0x08, 0x00]
        + [0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0] + [UInt8](repeating: 10, count: 8)
        + [UInt8](repeating: 0, count: 12) + [0x80, 0x10] + [UInt8](repeating: 0, count: 6) + [UInt8](repeating: 1, count: 12)

    func gsoExtra(size: UInt16, type: UInt8) -> tern_netif_tx_request {
        var extra = tern_netif_extra_info(type: UInt8(TERN_NETIF_EXTRA_TYPE_GSO), flags: 0, u: (size, UInt16(type), 0))
        var slot = tern_netif_tx_request()
        withUnsafeMutableBytes(of: &slot) { $0.copyMemory(from: withUnsafeBytes(of: &extra) { UnsafeRawBufferPointer($0) }) }
        slot.id = 0xFFFF
        return slot
    }

    func testAGSOPacketLeavesWholeWithWhereToFillInItsChecksumsAndHowToCutIt() {
        pages.fill(1, at: 0, NetOffloadTests.tcpHeaders)
        let first = UInt16(TERN_NETTXF_CSUM_BLANK | TERN_NETTXF_DATA_VALIDATED | TERN_NETTXF_MORE_DATA | TERN_NETTXF_EXTRA_INFO)
        txPage.send([tern_netif_tx_request(gref: 1, offset: 0, flags: first, id: 1, size: 10_000),
                     gsoExtra(size: 1448, type: UInt8(TERN_NETIF_GSO_TYPE_TCPV4)),
                     tern_netif_tx_request(gref: 2, offset: 0, flags: UInt16(TERN_NETTXF_MORE_DATA), id: 2, size: 4096),
                     tern_netif_tx_request(gref: 3, offset: 0, flags: 0, id: 3, size: 10_000 - 8192)])
        XCTAssertEqual(path.transmit(), .done(notify: true))
        XCTAssertEqual(port.sent.map(\.count), [10_000])
        var expected = VnetHeader()
        expected.flags = VnetHeader.needsChecksum
        expected.checksumStart = 34
        expected.checksumOffset = 16
        expected.gsoType = VnetHeader.gsoTCPv4
        expected.gsoSize = 1448
        expected.headerLength = 66
        XCTAssertEqual(port.headers, [expected])
        XCTAssertEqual((0..<4).map { txPage.txSlot(UInt32($0)).pointee.response.status }, [0, 1, 0, 0], "the extra slot NULL")
        XCTAssertEqual(path.counters.txSegmented, 1)
    }

    func testBadGSOIsFatalAndGSOWithoutABlankChecksumOrOverUDPIsDropped() {
        txPage.send([tern_netif_tx_request(gref: 1, offset: 0, flags: UInt16(TERN_NETTXF_EXTRA_INFO), id: 1, size: 100),
                     gsoExtra(size: 0, type: UInt8(TERN_NETIF_GSO_TYPE_TCPV4))])
        XCTAssertEqual(path.transmit(), .fatal(.malformed(.gsoSizeZero)))
        let other = NetDataPath(tx: NetTxRing(attaching: TestNetRing().memory), rx: NetRxRing(attaching: rxPage.memory),
                                pages: pages, port: port, offloads: NetOffloads(scatterGather: true, checksum: true, segmentation: true))
        XCTAssertEqual(TxPacketParser.parse([TxSlot(tern_netif_tx_request(gref: 1, offset: 0, flags: UInt16(TERN_NETTXF_EXTRA_INFO), id: 1, size: 100)),
                                             TxSlot(gsoExtra(size: 1448, type: 3))][...], limits: other.limits), .fatal(.gsoType(3)))
        // No blank checksum: the kernel could not fill in the segments' checksums.
        pages.fill(1, at: 0, NetOffloadTests.tcpHeaders)
        let fresh = TestNetRing()
        let path2 = NetDataPath(tx: NetTxRing(attaching: fresh.memory), rx: NetRxRing(attaching: rxPage.memory),
                                pages: pages, port: port, offloads: NetOffloads(scatterGather: true, checksum: true, segmentation: true))
        fresh.send([tern_netif_tx_request(gref: 1, offset: 0, flags: UInt16(TERN_NETTXF_EXTRA_INFO), id: 1, size: 3000),
                    gsoExtra(size: 1448, type: UInt8(TERN_NETIF_GSO_TYPE_TCPV4))])
        XCTAssertEqual(path2.transmit(), .done(notify: true))
        XCTAssertEqual(fresh.txSlot(0).pointee.response.status, Int16(TERN_NETIF_RSP_DROPPED))
        XCTAssertEqual(path2.counters.txFailed, 1)
        XCTAssertTrue(port.sent.isEmpty)
    }

    func testGSOIsNotTakenFromAFrontendThatDidNotAskForIt() {
        let plain = TestNetRing()
        let path2 = NetDataPath(tx: NetTxRing(attaching: plain.memory), rx: NetRxRing(attaching: rxPage.memory), pages: pages, port: port)
        plain.send([tern_netif_tx_request(gref: 1, offset: 0, flags: UInt16(TERN_NETTXF_EXTRA_INFO), id: 1, size: 100),
                    gsoExtra(size: 1448, type: UInt8(TERN_NETIF_GSO_TYPE_TCPV4))])
        XCTAssertEqual(path2.transmit(), .done(notify: true))
        XCTAssertEqual(path2.firstFault, .extraNotOffered(UInt8(TERN_NETIF_EXTRA_TYPE_GSO)))
    }

    func testABlankChecksumInNoTCPOrUDPHeaderIsDropped() {
        pages.fill(1, at: 0, [UInt8](repeating: 0, count: 12) + [0x08, 0x06] + [UInt8](repeating: 0, count: 46))   // ARP
        txPage.send([tern_netif_tx_request(gref: 1, offset: 0, flags: UInt16(TERN_NETTXF_CSUM_BLANK), id: 1, size: 60)])
        _ = path.transmit()
        XCTAssertEqual(txPage.txSlot(0).pointee.response.status, Int16(TERN_NETIF_RSP_DROPPED))
        XCTAssertEqual(path.counters.txFailed, 1)
    }

    func testAGSOFrameFromTheTapGoesOverSeveralPagesWithItsExtraSlotOnlyOnceEnoughArePosted() {
        let frame = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 / 7) }
        var header = VnetHeader()
        header.flags = VnetHeader.needsChecksum
        header.gsoType = VnetHeader.gsoTCPv4 | VnetHeader.gsoECN
        header.gsoSize = 1448
        port.waiting = [frame]
        port.waitingHeaders = [header]
        rxPage.post(pages: [1, 2, 3])
        XCTAssertEqual(path.receive(), .waitingForPages(notify: false), "3 data pages and the extra slot: 4 needed")
        XCTAssertEqual(rxPage.header.pointee.rsp_prod, 0)
        rxPage.post(pages: [4, 5])
        XCTAssertEqual(path.receive(), .done(notify: true))
        XCTAssertEqual(rxPage.header.pointee.rsp_prod, 4, "page 5 stays posted")
        let r0 = rxPage.rxSlot(0).pointee.response
        XCTAssertEqual(r0.flags, UInt16(TERN_NETRXF_CSUM_BLANK | TERN_NETRXF_DATA_VALIDATED | TERN_NETRXF_EXTRA_INFO | TERN_NETRXF_MORE_DATA))
        XCTAssertEqual(r0.status, 4096)
        let extra = rxPage.memory.load(fromByteOffset: 64 + 8, as: tern_netif_extra_info.self)
        XCTAssertEqual([extra.type, extra.flags], [UInt8(TERN_NETIF_EXTRA_TYPE_GSO), 0])
        XCTAssertEqual([extra.u.0, extra.u.1, extra.u.2], [1448, UInt16(TERN_NETIF_GSO_TYPE_TCPV4), 0])
        XCTAssertEqual([rxPage.rxSlot(2).pointee.response.flags, rxPage.rxSlot(3).pointee.response.flags], [UInt16(TERN_NETRXF_MORE_DATA), 0])
        XCTAssertEqual([rxPage.rxSlot(2).pointee.response.status, rxPage.rxSlot(3).pointee.response.status], [4096, 10_000 - 8192])
        XCTAssertEqual(pages.bytes(1, 4096) + pages.bytes(3, 4096) + pages.bytes(4, 10_000 - 8192), frame, "page 2 was the extra slot's")
        XCTAssertEqual(path.counters.rxSegmented, 1)
    }

    func testFramesAFrontendCannotTakeAreDropped() {
        let plain = NetDataPath(tx: NetTxRing(attaching: txPage.memory), rx: NetRxRing(attaching: rxPage.memory), pages: pages, port: port)
        var gso = VnetHeader()
        gso.gsoType = VnetHeader.gsoTCPv4
        gso.gsoSize = 1448
        var partial = VnetHeader()
        partial.flags = VnetHeader.needsChecksum
        var udp = VnetHeader()
        udp.gsoType = VnetHeader.gsoUDP
        port.waiting = [[UInt8](repeating: 1, count: 3000), [UInt8](repeating: 2, count: 100), [UInt8](repeating: 3, count: 100),
                        [UInt8](repeating: 4, count: 100)]
        port.waitingHeaders = [gso, partial, udp, VnetHeader()]
        rxPage.post(pages: [1, 2])
        _ = plain.receive()
        XCTAssertEqual(plain.counters.rxDropped, 3)
        XCTAssertEqual(rxPage.header.pointee.rsp_prod, 1)
        XCTAssertEqual(rxPage.rxSlot(0).pointee.response.flags, 0, "a plain frame: no checksum claim")
    }
}

final class ChecksumPlacementTests: XCTestCase {
    func locate(_ bytes: [UInt8]) -> ChecksumPlacement? { bytes.withUnsafeBytes { ChecksumPlacement.locate($0) } }

    func testTCPAndUDPOverIPv4AndIPv6WithOrWithoutAVLANTag() {
        XCTAssertEqual(locate(NetOffloadTests.tcpHeaders),
                       ChecksumPlacement(start: 34, offset: 16, headersLength: 66, isTCP: true, isIPv6: false))
        var tagged = NetOffloadTests.tcpHeaders
        tagged.replaceSubrange(12..<14, with: [0x81, 0x00, 0x00, 0x05, 0x08, 0x00])
        XCTAssertEqual(locate(tagged)?.start, 38)
        var options = NetOffloadTests.tcpHeaders   // IPv4 header of 24 bytes
        options[14] = 0x46
        options.insert(contentsOf: [1, 1, 1, 0], at: 34)
        XCTAssertEqual(locate(options)?.start, 38)
        let udp6 = [UInt8](repeating: 0, count: 12) + [0x86, 0xDD] + [0x60, 0, 0, 0, 0, 8, 17, 64]
            + [UInt8](repeating: 0, count: 32) + [0, 53, 0, 53, 0, 8, 0, 0]
        XCTAssertEqual(locate(udp6), ChecksumPlacement(start: 54, offset: 6, headersLength: 62, isTCP: false, isIPv6: true))
    }

    func testNoPlacementForOtherProtocolsLaterFragmentsOrCutHeaders() {
        var fragment = NetOffloadTests.tcpHeaders
        fragment[20] = 0x00
        fragment[21] = 0x10   // fragment offset 16
        XCTAssertNil(locate(fragment))
        var icmp = NetOffloadTests.tcpHeaders
        icmp[23] = 1
        XCTAssertNil(locate(icmp))
        XCTAssertNil(locate(Array(NetOffloadTests.tcpHeaders[0..<40])), "TCP header cut short")
        var badLength = NetOffloadTests.tcpHeaders
        badLength[14] = 0x44   // IHL 4: under 20 bytes
        XCTAssertNil(locate(badLength))
        XCTAssertNil(locate([UInt8](repeating: 0, count: 12) + [0x08, 0x06] + [UInt8](repeating: 0, count: 28)), "ARP")
    }

    func testAVnetHeaderIsTenLittleEndianBytes() {
        var header = VnetHeader()
        header.flags = VnetHeader.needsChecksum
        header.gsoType = VnetHeader.gsoTCPv6
        header.headerLength = 0x0102
        header.gsoSize = 1440
        header.checksumStart = 54
        header.checksumOffset = 16
        var bytes = [UInt8](repeating: 0, count: VnetHeader.size)
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        XCTAssertEqual(bytes, [1, 4, 0x02, 0x01, 0xA0, 0x05, 54, 0, 16, 0])
        XCTAssertEqual(bytes.withUnsafeBytes { VnetHeader($0) }, header)
    }
}
