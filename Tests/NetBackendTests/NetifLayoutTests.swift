import TernABI
import XCTest

/// tern/netif.h is Xen's netif byte for byte (sizes and offsets of
/// io/netif.h on x86-64), seen from Swift as the backend sees it.
final class NetifLayoutTests: XCTestCase {
    func testSlotsAreXens() {
        XCTAssertEqual(MemoryLayout<tern_netif_tx_request>.size, 12)
        XCTAssertEqual(MemoryLayout<tern_netif_tx_request>.offset(of: \.offset), 4)
        XCTAssertEqual(MemoryLayout<tern_netif_tx_request>.offset(of: \.flags), 6)
        XCTAssertEqual(MemoryLayout<tern_netif_tx_request>.offset(of: \.id), 8)
        XCTAssertEqual(MemoryLayout<tern_netif_tx_request>.offset(of: \.size), 10)
        XCTAssertEqual(MemoryLayout<tern_netif_tx_response>.size, 4)
        XCTAssertEqual(MemoryLayout<tern_netif_extra_info>.size, 8)
        XCTAssertEqual(MemoryLayout<tern_netif_rx_request>.size, 8)
        XCTAssertEqual(MemoryLayout<tern_netif_rx_request>.offset(of: \.gref), 4)
        XCTAssertEqual(MemoryLayout<tern_netif_rx_response>.size, 8)
        XCTAssertEqual(MemoryLayout<tern_netif_rx_response>.offset(of: \.status), 6)
        XCTAssertEqual(MemoryLayout<tern_netif_tx_slot>.size, 12)
        XCTAssertEqual(MemoryLayout<tern_netif_rx_slot>.size, 8)
    }

    func testTwoHundredFiftySixSlotsAPage() {
        let header = MemoryLayout<tern_ring_header>.size
        XCTAssertLessThanOrEqual(header + Int(TERN_NETIF_RING_ENTRIES) * 12, Int(TERN_NETIF_PAGE_SIZE))
        XCTAssertGreaterThan(header + 2 * Int(TERN_NETIF_RING_ENTRIES) * 12, Int(TERN_NETIF_PAGE_SIZE))
        XCTAssertGreaterThan(header + 2 * Int(TERN_NETIF_RING_ENTRIES) * 8, Int(TERN_NETIF_PAGE_SIZE), "rx: 512 would not fit either")
    }

    func testXensFlagAndStatusValues() {
        XCTAssertEqual([TERN_NETTXF_CSUM_BLANK, TERN_NETTXF_DATA_VALIDATED, TERN_NETTXF_MORE_DATA, TERN_NETTXF_EXTRA_INFO], [1, 2, 4, 8])
        XCTAssertEqual([TERN_NETRXF_DATA_VALIDATED, TERN_NETRXF_CSUM_BLANK, TERN_NETRXF_MORE_DATA, TERN_NETRXF_EXTRA_INFO], [1, 2, 4, 8])
        XCTAssertEqual([TERN_NETIF_RSP_DROPPED, TERN_NETIF_RSP_ERROR, TERN_NETIF_RSP_OKAY, TERN_NETIF_RSP_NULL], [-2, -1, 0, 1])
        XCTAssertEqual(TERN_NETIF_NR_SLOTS_MIN, 18)
        XCTAssertEqual(TERN_NETIF_MAX_TX_SIZE, 0xFFFF)
    }

    func testTheControlPage() {
        XCTAssertEqual(MemoryLayout<tern_netif_control>.size, 256)
        XCTAssertEqual(MemoryLayout<tern_netif_control>.offset(of: \.version), 16)
        XCTAssertEqual(MemoryLayout<tern_netif_control>.offset(of: \.mac), 24)
        XCTAssertEqual(MemoryLayout<tern_netif_control>.offset(of: \.mtu), 30)
        XCTAssertEqual(MemoryLayout<tern_netif_control>.offset(of: \.frontend_version), 108)
        XCTAssertEqual(MemoryLayout<tern_netif_control>.offset(of: \.rx_ring_ref), 116)
    }
}
