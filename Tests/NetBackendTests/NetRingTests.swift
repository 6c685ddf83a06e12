import TernABI
import XCTest
@testable import TernNet

/// A netif ring page in test memory, written as a frontend writes it.
final class TestNetRing {
    let memory: UnsafeMutableRawPointer
    var header: UnsafeMutablePointer<tern_ring_header> { memory.bindMemory(to: tern_ring_header.self, capacity: 1) }

    init(start: UInt32 = 0) {
        memory = .allocate(byteCount: Int(TERN_NETIF_PAGE_SIZE), alignment: Int(TERN_NETIF_PAGE_SIZE))
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: Int(TERN_NETIF_PAGE_SIZE))
        header.pointee = tern_ring_header()
        header.pointee.req_prod = start
        header.pointee.rsp_prod = start
        header.pointee.req_event = start &+ 1
        header.pointee.rsp_event = start &+ 1
    }

    deinit { memory.deallocate() }

    func txSlot(_ index: UInt32) -> UnsafeMutablePointer<tern_netif_tx_slot> {
        (memory + 64 + Int(index & 255) * 12).bindMemory(to: tern_netif_tx_slot.self, capacity: 1)
    }

    func rxSlot(_ index: UInt32) -> UnsafeMutablePointer<tern_netif_rx_slot> {
        (memory + 64 + Int(index & 255) * 8).bindMemory(to: tern_netif_rx_slot.self, capacity: 1)
    }

    /// Publishes tx requests after those published.
    func send(_ requests: [tern_netif_tx_request]) {
        for request in requests {
            txSlot(header.pointee.req_prod).pointee.request = request
            header.pointee.req_prod &+= 1
        }
    }

    func post(pages ids: [UInt16]) {
        for id in ids {
            rxSlot(header.pointee.req_prod).pointee.request = tern_netif_rx_request(id: id, reserved: 0, gref: 1000 + UInt32(id))
            header.pointee.req_prod &+= 1
        }
    }
}

final class NetRingTests: XCTestCase {
    func request(id: UInt16, size: UInt16, flags: UInt16 = 0) -> tern_netif_tx_request {
        tern_netif_tx_request(gref: 50 + UInt32(id), offset: 0, flags: flags, id: id, size: size)
    }

    func testTxSlotsAreCopiedOnceTakenByPacketAndAnsweredInOrder() throws {
        let page = TestNetRing()
        var ring = NetTxRing(attaching: page.memory)
        XCTAssertEqual(try ring.published().get(), [])
        page.send([request(id: 1, size: 60), request(id: 2, size: 1514, flags: UInt16(TERN_NETTXF_MORE_DATA)), request(id: 3, size: 500)])
        let slots = try ring.published().get()
        XCTAssertEqual(slots.map(\.request.id), [1, 2, 3])
        // Rewritten after the copy: the copy does not change (XSA-155).
        page.txSlot(0).pointee.request.size = 9999
        XCTAssertEqual(slots[0].request.size, 60)
        guard case .packet(_, let first) = TxPacketParser.parse(slots[...], limits: TxLimits()) else { return XCTFail() }
        ring.consume(first.count)
        XCTAssertTrue(ring.push(id: 1, status: Int16(TERN_NETIF_RSP_OKAY)))
        XCTAssertEqual(try ring.published().get().map(\.request.id), [2, 3], "the rest stays as it was copied")
        ring.consume(2)
        XCTAssertTrue(ring.push(id: 2, status: Int16(TERN_NETIF_RSP_OKAY)))
        XCTAssertTrue(ring.push(id: 3, status: Int16(TERN_NETIF_RSP_OKAY)))
        XCTAssertFalse(ring.push(id: 4, status: 0), "never more responses than slots taken")
        XCTAssertTrue(ring.publishResponses(), "rsp_event 1 asked for a notification")
        XCTAssertEqual(page.header.pointee.rsp_prod, 3)
        XCTAssertEqual(page.txSlot(1).pointee.response.id, 2)
        XCTAssertEqual(page.txSlot(1).pointee.response.status, 0)
        XCTAssertFalse(ring.publishResponses(), "nothing new")
    }

    func testARunawayOrBackwardsProducerBreaksTheRingForGood() {
        let page = TestNetRing()
        var ring = NetTxRing(attaching: page.memory)
        page.header.pointee.req_prod = 257
        guard case .failure(let broken) = ring.published() else { return XCTFail() }
        XCTAssertEqual(broken.description, "tx ring broken: req_prod claims 257 new slots, at most 256 possible (256 slots)")
        page.header.pointee.req_prod = 1
        XCTAssertEqual(ring.published(), .failure(broken), "broken for good")
        XCTAssertFalse(ring.push(id: 0, status: 0))

        let back = TestNetRing(start: 10)
        var other = NetTxRing(attaching: back.memory)
        back.header.pointee.req_prod = 9
        guard case .failure = other.published() else { return XCTFail("backwards") }
        let full = TestNetRing()
        var exact = NetTxRing(attaching: full.memory)
        full.header.pointee.req_prod = 256
        XCTAssertEqual(try exact.published().get().count, 256, "a full ring is fine")
    }

    func testIndicesWrapAndARestartedBackendTakesTheUnansweredAgain() throws {
        let page = TestNetRing(start: UInt32.max - 1)
        page.send([request(id: 1, size: 60), request(id: 2, size: 60), request(id: 3, size: 60)])
        var ring = NetTxRing(attaching: page.memory)
        XCTAssertEqual(try ring.published().get().map(\.request.id), [1, 2, 3])
        ring.consume(1)
        XCTAssertTrue(ring.push(id: 1, status: 0))
        _ = ring.publishResponses()
        var again = NetTxRing(attaching: page.memory)
        XCTAssertEqual(try again.published().get().map(\.request.id), [2, 3], "taken again after the answered one")
        XCTAssertEqual(page.header.pointee.rsp_prod, UInt32.max)
    }

    func testTheFinalCheckAsksForTheRestOfAPacket() throws {
        let page = TestNetRing()
        var ring = NetTxRing(attaching: page.memory)
        XCTAssertFalse(ring.finalCheck())
        XCTAssertEqual(page.header.pointee.req_event, 1)
        page.send([request(id: 1, size: 200, flags: UInt16(TERN_NETTXF_MORE_DATA))])
        XCTAssertTrue(ring.finalCheck())
        XCTAssertEqual(try ring.published().get().count, 1, "half a packet, copied and kept")
        XCTAssertFalse(ring.finalCheck(), "wait for its second slot")
        XCTAssertEqual(page.header.pointee.req_event, 2)
        page.send([request(id: 2, size: 100)])
        XCTAssertEqual(try ring.published().get().map(\.request.id), [1, 2])
    }

    func testRxPagesAreAnsweredInTheirOwnSlots() throws {
        let page = TestNetRing(start: 254)
        var ring = NetRxRing(attaching: page.memory)
        XCTAssertNil(try ring.takeRequest().get(), "no page posted: nothing to copy into")
        XCTAssertFalse(ring.finalCheckForPages())
        XCTAssertEqual(page.header.pointee.req_event, 255)
        page.post(pages: [7, 8, 9])
        XCTAssertTrue(ring.finalCheckForPages())
        let first = try XCTUnwrap(ring.takeRequest().get())
        XCTAssertEqual(first.id, 7)
        XCTAssertEqual(first.gref, 1007)
        let second = try XCTUnwrap(ring.takeRequest().get())
        XCTAssertTrue(ring.respond(id: first.id, offset: 0, flags: 0, status: 60))
        XCTAssertTrue(ring.respond(id: second.id, offset: 16, flags: 0, status: Int16(TERN_NETIF_RSP_ERROR)))
        XCTAssertFalse(ring.respond(id: 9, offset: 0, flags: 0, status: 1), "page 9 was not taken")
        XCTAssertTrue(ring.publishResponses())
        XCTAssertEqual(page.rxSlot(254).pointee.response.id, 7, "in the slot its request was in")
        XCTAssertEqual(page.rxSlot(254).pointee.response.status, 60)
        XCTAssertEqual(page.rxSlot(255).pointee.response.offset, 16)
        XCTAssertEqual(page.header.pointee.rsp_prod, 256)
        page.header.pointee.req_prod = 256 + 300
        guard case .failure(let broken) = ring.takeRequest() else { return XCTFail() }
        XCTAssertEqual(broken.ring, "rx")
    }
}
