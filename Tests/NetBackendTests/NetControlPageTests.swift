import TernABI
import XCTest
@testable import TernNet

/// The netif handshake's backend steps on a page in test memory: its
/// half written with `version` last, the frontend's half copied once and
/// refused with the error the frontend reads.
final class NetControlPageTests: XCTestCase {
    let mac: [UInt8] = [0x02, 0x54, 0, 1, 2, 3]

    func page() -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        return p
    }

    func testTheBackendsHalf() {
        let control = page()
        defer { control.deallocate() }
        NetControlPage.publish(NetInterfaceProperties(mac: mac)!, carrier: true, to: control)
        let copy = NetControlPage.copy(from: control)
        XCTAssertEqual(copy.version, UInt32(TERN_NETIF_CONTROL_VERSION))
        XCTAssertEqual([copy.mac.0, copy.mac.1, copy.mac.2, copy.mac.3, copy.mac.4, copy.mac.5], mac)
        XCTAssertEqual(copy.mtu, 1500)
        XCTAssertEqual(copy.max_tx_slots, 18)
        XCTAssertEqual(copy.carrier, 1)
        XCTAssertEqual(copy.backend_features, UInt32(TERN_NETIF_FEATURES), "SG, checksum and segmentation offload, rx-notify, persistent grants")
        XCTAssertNil(NetInterfaceProperties(mac: [1, 2, 3]))
        XCTAssertNil(NetInterfaceProperties(mac: mac, features: 1 << 20))
        XCTAssertNil(NetInterfaceProperties(mac: mac, maxTxSlots: 17))
    }

    func testTheFrontendsHalfIsCheckedAsACopy() {
        let offered = NetInterfaceProperties(mac: mac)!
        var copy = tern_netif_control()
        copy.frontend_version = 1
        copy.frontend_features = UInt32(TERN_NETIF_FEATURE_PERSISTENT)
        copy.link.ring_ref = 20
        copy.rx_ring_ref = 21
        guard case .success(let settings) = NetControlPage.frontendSettings(copy, offering: offered) else { return XCTFail() }
        XCTAssertTrue(settings.persistent)
        XCTAssertEqual([settings.txRingRef, settings.rxRingRef], [20, 21])

        func refusal(_ change: (inout tern_netif_control) -> Void) -> NetControlRefusal? {
            var bad = copy
            change(&bad)
            if case .failure(let r) = NetControlPage.frontendSettings(bad, offering: offered) { return r }
            return nil
        }
        XCTAssertEqual(refusal { $0.frontend_version = 0 }, .version(0))
        XCTAssertEqual(refusal { $0.frontend_version = 3 }?.errorCode, UInt32(TERN_NETIF_ERROR_VERSION))
        XCTAssertNil(refusal { $0.frontend_version = 2 }, "version 2 (GSO) is spoken")
        let gsoAlone = UInt32(TERN_NETIF_FEATURE_GSO | TERN_NETIF_FEATURE_SG)
        XCTAssertEqual(refusal { $0.frontend_features = gsoAlone }, .features(gsoAlone), "GSO needs SG and CSUM")
        XCTAssertNil(refusal { $0.frontend_features = UInt32(TERN_NETIF_FEATURES) })
        let fewer = NetInterfaceProperties(mac: mac, features: UInt32(TERN_NETIF_FEATURE_PERSISTENT))!
        var checksum = copy
        checksum.frontend_features = UInt32(TERN_NETIF_FEATURE_CSUM)
        guard case .failure(.features) = NetControlPage.frontendSettings(checksum, offering: fewer) else {
            return XCTFail("a feature not offered is refused")
        }
        XCTAssertEqual(refusal { $0.frontend_reserved.5 = 1 }, .reservedNotZero)
        XCTAssertEqual(refusal { $0.rx_ring_ref = 20 }, .ringRef(20))
        XCTAssertEqual(refusal { $0.link.ring_ref = 0 }, .ringRef(0))
        XCTAssertEqual(refusal { $0.rx_ring_ref = TERN_GRANT_REF_INVALID }?.errorCode, UInt32(TERN_NETIF_ERROR_RING_REF))
    }
}
