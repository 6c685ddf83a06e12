import XCTest
import TernABI
@testable import TernBlock

/// The control page handshake's backend half: publish with the version
/// last, copy the frontend's half once, refuse each bad setting.
final class BlockControlPageTests: XCTestCase {
    let disk = BlockDiskProperties(sectors: 4096, sectorSize: 4096, readOnly: true, features: [.persistent],
                                   maxIndirectSegments: 256, maxRingOrder: 2)!

    func frontend(version: UInt32 = 1, features: UInt32 = 0, order: UInt32 = 0,
                  refs: [UInt32] = [8, 9, 10, 11]) -> tern_blkif_control {
        var control = tern_blkif_control()
        control.frontend_version = version
        control.frontend_features = features
        control.ring_order = order
        control.link.ring_ref = refs[0]
        control.extra_ring_refs = (refs[1], refs[2], refs[3])
        return control
    }

    func testPublishWritesTheDiskThenTheVersion() {
        let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { page.deallocate() }
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        BlockControlPage.publish(disk, to: page)
        let copy = BlockControlPage.copy(from: page)
        XCTAssertEqual(copy.version, 1)
        XCTAssertEqual(copy.sectors, 4096)
        XCTAssertEqual(copy.sector_size, 4096)
        XCTAssertEqual(copy.physical_sector_size, 4096)
        XCTAssertEqual(copy.backend_info, UInt32(TERN_BLKIF_INFO_READONLY))
        XCTAssertEqual(copy.backend_features, UInt32(TERN_BLKIF_FEATURE_PERSISTENT))
        XCTAssertEqual(copy.max_indirect_segments, 256)
        XCTAssertEqual(copy.max_ring_order, 2)
        XCTAssertEqual(copy.link.frontend_state, 0, "the frontend's half untouched")
    }

    func testAGoodFrontendHalf() throws {
        let settings = try XCTUnwrap(BlockControlPage.frontendSettings(
            frontend(features: UInt32(TERN_BLKIF_FEATURE_PERSISTENT), order: 1), offering: disk).success)
        XCTAssertEqual(settings.ringRefs, [8, 9], "two pages: ring_ref and extra_ring_refs[0]")
        XCTAssertEqual(settings.geometry.entries, 64)
        XCTAssertEqual(settings.features, .persistent)
    }

    func testEachRefusalAndItsErrorCode() {
        func refusal(_ control: tern_blkif_control) -> ControlPageRefusal? {
            BlockControlPage.frontendSettings(control, offering: disk).failure
        }
        XCTAssertEqual(refusal(frontend(version: 0)), .version(0))
        XCTAssertEqual(refusal(frontend(version: 2)), .version(2))
        XCTAssertEqual(refusal(frontend(order: 3)), .ringOrder(3, max: 2))
        XCTAssertEqual(refusal(frontend(features: UInt32(TERN_BLKIF_FEATURE_FLUSH))),
                       .features(UInt32(TERN_BLKIF_FEATURE_FLUSH)), "the backend's to offer, not the frontend's to ask")
        XCTAssertEqual(refusal(frontend(refs: [7, 9, 10, 11])), .ringRef(7), "a reserved control-page ref")
        XCTAssertEqual(refusal(frontend(order: 2, refs: [8, 9, 8, 11])), .ringRef(8), "repeated")
        XCTAssertEqual(refusal(frontend(order: 1, refs: [8, TERN_GRANT_REF_INVALID, 0, 0])),
                       .ringRef(TERN_GRANT_REF_INVALID))
        XCTAssertNotNil(BlockControlPage.frontendSettings(frontend(order: 1, refs: [8, 9, 0, 0]), offering: disk).success,
                        "refs past the ring's pages are not read")
        var reserved = frontend()
        reserved.frontend_reserved.25 = 1
        XCTAssertEqual(refusal(reserved), .reservedNotZero)
        let oneOrder = BlockDiskProperties(sectors: 8, readOnly: false)!
        XCTAssertEqual(BlockControlPage.frontendSettings(frontend(order: 1), offering: oneOrder).failure,
                       .ringOrder(1, max: 0))
        XCTAssertEqual(ControlPageRefusal.version(0).errorCode, UInt32(TERN_BLKIF_ERROR_VERSION))
        XCTAssertEqual(ControlPageRefusal.ringOrder(3, max: 2).errorCode, UInt32(TERN_BLKIF_ERROR_RING_ORDER))
        XCTAssertEqual(ControlPageRefusal.ringRef(7).errorCode, UInt32(TERN_BLKIF_ERROR_RING_REF))
        XCTAssertEqual(ControlPageRefusal.features(1).errorCode, UInt32(TERN_BLKIF_ERROR_FEATURES))
    }
}
