import XCTest
import TernABI
import TernRing
@testable import TernBlock

/// tern/blkif.h as Swift sees it: Xen's sizes, offsets and numbers, the
/// ring's slots per order, the control page's halves.
final class BlkifLayoutTests: XCTestCase {
    func testRequestAndResponseLayoutsAreXens() {
        XCTAssertEqual(MemoryLayout<tern_blkif_segment>.size, 8)
        XCTAssertEqual(MemoryLayout<tern_blkif_segment>.offset(of: \.first_sect), 4)
        XCTAssertEqual(MemoryLayout<tern_blkif_segment>.offset(of: \.last_sect), 5)
        XCTAssertEqual(MemoryLayout<tern_blkif_request>.size, 112)
        XCTAssertEqual(MemoryLayout<tern_blkif_request>.offset(of: \.nr_segments), 1)
        XCTAssertEqual(MemoryLayout<tern_blkif_request>.offset(of: \.handle), 2)
        XCTAssertEqual(MemoryLayout<tern_blkif_request>.offset(of: \.id), 8)
        XCTAssertEqual(MemoryLayout<tern_blkif_request>.offset(of: \.sector_number), 16)
        XCTAssertEqual(MemoryLayout<tern_blkif_request>.offset(of: \.seg), 24)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_discard>.size, 32)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_discard>.offset(of: \.flag), 1)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_discard>.offset(of: \.id), 8)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_discard>.offset(of: \.sector_number), 16)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_discard>.offset(of: \.nr_sectors), 24)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_indirect>.size, 64)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_indirect>.offset(of: \.indirect_op), 1)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_indirect>.offset(of: \.nr_segments), 2)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_indirect>.offset(of: \.id), 8)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_indirect>.offset(of: \.sector_number), 16)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_indirect>.offset(of: \.handle), 24)
        XCTAssertEqual(MemoryLayout<tern_blkif_request_indirect>.offset(of: \.indirect_grefs), 28)
        XCTAssertEqual(MemoryLayout<tern_blkif_response>.size, 16)
        XCTAssertEqual(MemoryLayout<tern_blkif_response>.offset(of: \.operation), 8)
        XCTAssertEqual(MemoryLayout<tern_blkif_response>.offset(of: \.status), 10)
        XCTAssertEqual(MemoryLayout<tern_blkif_slot>.size, 112)
    }

    func testOperationAndStatusNumbersAreXens() {
        XCTAssertEqual([TERN_BLKIF_OP_READ, TERN_BLKIF_OP_WRITE, TERN_BLKIF_OP_WRITE_BARRIER,
                        TERN_BLKIF_OP_FLUSH_DISKCACHE, TERN_BLKIF_OP_RESERVED_1, TERN_BLKIF_OP_DISCARD,
                        TERN_BLKIF_OP_INDIRECT], [0, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual([TERN_BLKIF_RSP_EOPNOTSUPP, TERN_BLKIF_RSP_ERROR, TERN_BLKIF_RSP_OKAY], [-2, -1, 0])
        XCTAssertEqual([BlockStatus.notSupported, .error, .okay].map(\.rawValue), [-2, -1, 0])
        XCTAssertEqual([TERN_BLKIF_INFO_CDROM, TERN_BLKIF_INFO_REMOVABLE, TERN_BLKIF_INFO_READONLY], [1, 2, 4])
        XCTAssertEqual(TERN_BLKIF_INDIRECT_SEGMENTS_LIMIT, 4096)
        XCTAssertEqual(TERN_DEVICE_BLOCK, 3)
    }

    func testSlotsPerRingOrder() throws {
        XCTAssertEqual(TERN_BLKIF_RING_ENTRIES, 32)
        for order: UInt32 in 0...2 {
            let geometry = try XCTUnwrap(BlockRingGeometry(order: order))
            XCTAssertEqual(geometry.entries, UInt32(TERN_BLKIF_RING_ENTRIES) << order)
            XCTAssertEqual(geometry.pages, 1 << order)
            XCTAssertLessThanOrEqual(geometry.offset(ofSlot: geometry.entries - 1) + 112, geometry.bytes)
        }
        XCTAssertNil(BlockRingGeometry(order: 3), "above TERN_BLKIF_MAX_RING_ORDER")
        let one = try XCTUnwrap(BlockRingGeometry(order: 0))
        XCTAssertEqual(one.offset(ofSlot: 0), 64)
        XCTAssertEqual(one.offset(ofSlot: 33), 64 + 112, "indices wrap at the slot count")
    }

    func testControlPageLayout() {
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.size, 256)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.link), 0)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.version), 16)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.backend_info), 20)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.sectors), 24)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.sector_size), 32)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.physical_sector_size), 36)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.backend_features), 40)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.max_indirect_segments), 44)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.max_ring_order), 48)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.backend_error), 60)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.frontend_version), 128)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.frontend_features), 132)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.ring_order), 136)
        XCTAssertEqual(MemoryLayout<tern_blkif_control>.offset(of: \.extra_ring_refs), 140)
        XCTAssertEqual(TERN_BLKIF_CONTROL_VERSION, 1)
        XCTAssertEqual(TERN_BLKIF_MAX_RING_PAGES, 4)
    }
}
