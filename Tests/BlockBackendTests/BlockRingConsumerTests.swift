import XCTest
import TernABI
@testable import TernBlock

/// The backend's end of the ring against a hostile frontend: each request
/// read once (double fetch), responses with no stale bytes, req_prod read
/// once per batch and refused when it runs away or goes backwards.
final class BlockRingConsumerTests: XCTestCase {
    let disk = BlockDiskProperties(sectors: 2048, readOnly: true, maxIndirectSegments: 1024)!

    func testABatchCopiesEveryPublishedRequestOnce() throws {
        let ring = TestRing()
        var consumer = BlockRingConsumer(attaching: ring.memory, geometry: ring.geometry)
        XCTAssertEqual(consumer.takeBatch(), .requests([]))
        let requests = (0..<5).map { Make.request(TERN_BLKIF_OP_READ, id: UInt64($0), sector: UInt64($0) * 8,
                                                  segments: [Make.segment()]) }
        ring.publish(requests)
        let batch = try XCTUnwrap(consumer.takeBatch().requests)
        XCTAssertEqual(batch.map(\.id), [0, 1, 2, 3, 4])
        XCTAssertEqual(batch, requests.map(BlockRequestCopy.init))
        XCTAssertEqual(consumer.takeBatch(), .requests([]), "nothing new: nothing read again")
        XCTAssertEqual(consumer.outstanding, 5)
    }

    /// XSA-155: the frontend rewrites a request after publishing it; what
    /// was copied, and so what is validated and done, does not change.
    func testARequestRewrittenAfterTheCopyChangesNothing() throws {
        let ring = TestRing()
        var consumer = BlockRingConsumer(attaching: ring.memory, geometry: ring.geometry)
        let honest = Make.request(TERN_BLKIF_OP_READ, id: 1, sector: 8, segments: [Make.segment(100, 0, 7)])
        ring.publish([honest])
        let copy = try XCTUnwrap(consumer.takeBatch().requests?.first)
        // The flip: a write (to a read-only disk), 200 segments, past the disk.
        var hostile = Make.request(TERN_BLKIF_OP_WRITE, id: 2, sector: UInt64.max - 1, segments: [Make.segment(666, 7, 0)])
        hostile.nr_segments = 200
        ring.write(hostile, at: 0)
        let command = RequestValidator(disk: disk).validate(copy)
        XCTAssertEqual(command.success, .transfer(BlockTransfer(direction: .read, startSector: 8,
                                                                segments: [Make.segment(100, 0, 7)],
                                                                sectorCount: 8, durable: false)))
        XCTAssertEqual(copy.id, 1)
        XCTAssertEqual(BlockResponse(answering: copy, status: .okay).id, 1, "the response answers what was copied")
        XCTAssertEqual(consumer.takeBatch(), .requests([]), "the slot is not read again")
    }

    /// The same for indirect pages (Linux's "read from indirect descriptors only once").
    func testIndirectSegmentsRewrittenAfterTheCopyChangeNothing() throws {
        let validator = RequestValidator(disk: BlockDiskProperties(sectors: 1 << 20, readOnly: false,
                                                                   maxIndirectSegments: 1024)!)
        guard case .indirect(let header)? = validator.validate(Make.indirect(TERN_BLKIF_OP_WRITE, segments: 600)).success
        else { return XCTFail("valid header") }
        let pages = (0..<2).map { _ in UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096) }
        defer { pages.forEach { $0.deallocate() } }
        for (p, page) in pages.enumerated() {
            for i in 0..<512 {
                page.storeBytes(of: Make.segment(UInt32(p * 512 + i), 0, 7).raw, toByteOffset: i * 8,
                                as: tern_blkif_segment.self)
            }
        }
        XCTAssertNil(IndirectSegments.copy(for: header, from: [UnsafeRawPointer(pages[0])]), "one page is not enough")
        let segments = try XCTUnwrap(IndirectSegments.copy(for: header, from: pages.map(UnsafeRawPointer.init)))
        XCTAssertEqual(segments.count, 600)
        XCTAssertEqual(segments[599], Make.segment(599, 0, 7))
        for page in pages { page.storeBytes(of: Make.segment(9, 7, 0).raw, toByteOffset: 8, as: tern_blkif_segment.self) }
        XCTAssertEqual(segments[1], Make.segment(1, 0, 7))
        XCTAssertEqual(validator.validate(header, segments: segments).success?.sectorCount, 4800)
    }

    /// XSA-216: every byte of a response is written; the reserved ones zero.
    func testResponsesHaveNoStaleBytes() throws {
        let ring = TestRing()
        var consumer = BlockRingConsumer(attaching: ring.memory, geometry: ring.geometry)
        ring.publish([Make.request(TERN_BLKIF_OP_READ, id: 0x1122_3344_5566_7788, segments: [Make.segment()])])
        let copy = try XCTUnwrap(consumer.takeBatch().requests?.first)
        ring.slot(0).initializeMemory(as: UInt8.self, repeating: 0xAA, count: BlockRingGeometry.slotSize)
        XCTAssertTrue(consumer.push(BlockResponse(answering: copy, status: .notSupported)))
        XCTAssertEqual(ring.bytes(ofSlot: 0, count: 16),
                       [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,   // id
                        UInt8(TERN_BLKIF_OP_READ), 0,                      // operation, reserved0
                        0xFE, 0xFF,                                        // status -2
                        0, 0, 0, 0])                                       // reserved1
        XCTAssertEqual(ring.header.pointee.rsp_prod, 0, "not visible before publishing")
        XCTAssertFalse(consumer.publishResponses(), "rsp_event 0: the frontend did not ask")
        XCTAssertEqual(ring.header.pointee.rsp_prod, 1)
    }

    func testIndirectResponsesCarryTheInnerOperation() {
        let copy = Make.indirect(TERN_BLKIF_OP_WRITE, segments: 3, id: 5)
        XCTAssertEqual(BlockResponse(answering: copy, status: .okay),
                       BlockResponse(id: 5, operation: UInt8(TERN_BLKIF_OP_WRITE), status: .okay))
    }

    func testNeverMoreResponsesThanRequests() throws {
        let ring = TestRing()
        var consumer = BlockRingConsumer(attaching: ring.memory, geometry: ring.geometry)
        let response = BlockResponse(id: 1, operation: 0, status: .okay)
        XCTAssertFalse(consumer.push(response), "nothing taken")
        ring.publish([Make.request(TERN_BLKIF_OP_READ, id: 1, segments: [Make.segment()])])
        XCTAssertEqual(consumer.takeBatch().requests?.count, 1)
        XCTAssertTrue(consumer.push(response))
        XCTAssertFalse(consumer.push(response), "answered already")
        XCTAssertEqual(consumer.responsesProduced, 1)
    }

    /// A producer index more than the ring's size ahead: refused at once,
    /// no slot read, and the consumer stays broken.
    func testARunawayProducerIndexBreaksTheRing() {
        let ring = TestRing()
        var consumer = BlockRingConsumer(attaching: ring.memory, geometry: ring.geometry)
        ring.header.pointee.req_prod = 33
        let broken = RingBroken(producer: 33, consumed: 0, answered: 0, entries: 32)
        XCTAssertEqual(consumer.takeBatch(), .ringBroken(broken))
        ring.header.pointee.req_prod = 1
        XCTAssertEqual(consumer.takeBatch(), .ringBroken(broken), "broken stays broken")
        XCTAssertTrue(consumer.finalCheckForRequests(), "wake up and see it")
        XCTAssertFalse(consumer.push(BlockResponse(id: 0, operation: 0, status: .error)))
        XCTAssertEqual(consumer.requestsConsumed, 0)
        XCTAssertEqual(broken.description, "ring broken: req_prod 33 with 0 requests taken, 0 answered, 32 slots")

        ring.header.pointee.req_prod = UInt32.max
        var huge = BlockRingConsumer(attaching: ring.memory, geometry: ring.geometry)
        XCTAssertNotNil(huge.takeBatch().broken, "rsp_prod 0, req_prod 2^32 - 1")
    }

    /// Unanswered requests still hold their slots: a frontend may not
    /// publish past them.
    func testTheLimitCountsUnansweredRequests() throws {
        let ring = TestRing()
        var consumer = BlockRingConsumer(attaching: ring.memory, geometry: ring.geometry)
        let full = (0..<32).map { Make.request(TERN_BLKIF_OP_READ, id: UInt64($0), segments: [Make.segment()]) }
        ring.publish(full)
        XCTAssertEqual(consumer.takeBatch().requests?.count, 32)
        ring.header.pointee.req_prod = 33
        XCTAssertEqual(consumer.takeBatch().broken, RingBroken(producer: 33, consumed: 32, answered: 0, entries: 32))

        let ring2 = TestRing()
        ring2.header.pointee.rsp_event = 1
        var answering = BlockRingConsumer(attaching: ring2.memory, geometry: ring2.geometry)
        ring2.publish(full)
        let batch = try XCTUnwrap(answering.takeBatch().requests)
        XCTAssertTrue(answering.push(BlockResponse(answering: batch[0], status: .okay)))
        XCTAssertTrue(answering.publishResponses())
        ring2.publish([Make.request(TERN_BLKIF_OP_READ, id: 32, segments: [Make.segment()])], from: 32)
        XCTAssertEqual(answering.takeBatch().requests?.map(\.id), [32], "one answered: one slot free")
    }

    func testAProducerIndexGoingBackwardsBreaksTheRing() throws {
        let ring = TestRing()
        var consumer = BlockRingConsumer(attaching: ring.memory, geometry: ring.geometry)
        ring.publish((0..<5).map { Make.request(TERN_BLKIF_OP_READ, id: UInt64($0), segments: [Make.segment()]) })
        XCTAssertEqual(consumer.takeBatch().requests?.count, 5)
        ring.header.pointee.req_prod = 3
        XCTAssertEqual(consumer.takeBatch().broken, RingBroken(producer: 3, consumed: 5, answered: 0, entries: 32))
    }

    /// Indices are free-running: across 2^32, and a restarted backend
    /// (attach) takes again the requests published and not answered.
    func testWrapAndAttachAfterARestart() throws {
        let ring = TestRing(order: 1)
        let start = UInt32.max - 2
        ring.header.pointee.rsp_prod = start
        ring.publish((0..<6).map { Make.request(TERN_BLKIF_OP_READ, id: UInt64($0), segments: [Make.segment()]) },
                     from: start)
        var consumer = BlockRingConsumer(attaching: ring.memory, geometry: ring.geometry)
        let batch = try XCTUnwrap(consumer.takeBatch().requests)
        XCTAssertEqual(batch.map(\.id), [0, 1, 2, 3, 4, 5])
        for request in batch.prefix(4) { XCTAssertTrue(consumer.push(BlockResponse(answering: request, status: .okay))) }
        _ = consumer.publishResponses()
        XCTAssertEqual(ring.header.pointee.rsp_prod, start &+ 4)
        var restarted = BlockRingConsumer(attaching: ring.memory, geometry: ring.geometry)
        XCTAssertEqual(restarted.takeBatch().requests?.map(\.id), [4, 5], "in flight when the backend died")
    }

    func testNotificationOnlyWhenAsked() throws {
        let ring = TestRing()
        var consumer = BlockRingConsumer(attaching: ring.memory, geometry: ring.geometry)
        ring.header.pointee.rsp_event = 1
        ring.publish((0..<3).map { Make.request(TERN_BLKIF_OP_READ, id: UInt64($0), segments: [Make.segment()]) })
        let batch = try XCTUnwrap(consumer.takeBatch().requests)
        XCTAssertFalse(consumer.publishResponses(), "nothing pushed: nothing to publish")
        XCTAssertTrue(consumer.push(BlockResponse(answering: batch[0], status: .okay)))
        XCTAssertTrue(consumer.publishResponses(), "rsp_prod passed rsp_event 1")
        XCTAssertTrue(consumer.push(BlockResponse(answering: batch[1], status: .okay)))
        XCTAssertFalse(consumer.publishResponses(), "the frontend has not asked again")
        XCTAssertFalse(consumer.finalCheckForRequests(), "nothing new: it may sleep")
        XCTAssertEqual(ring.header.pointee.req_event, 4)
        ring.publish([Make.request(TERN_BLKIF_OP_READ, id: 3, segments: [Make.segment()])], from: 3)
        XCTAssertTrue(consumer.finalCheckForRequests())
    }
}
