import TernABI
import XCTest
@testable import TernNet

/// A tx packet as the backend reads it from slots it copied once: what an
/// honest frontend sends is one packet; what a buggy one sends is dropped
/// with its slots answered; what no honest one sends disables the
/// interface (Linux netback's rules; docs/abi.md "Network interfaces").
final class TxPacketParserTests: XCTestCase {
    let more = UInt16(TERN_NETTXF_MORE_DATA), extraFlag = UInt16(TERN_NETTXF_EXTRA_INFO)
    let limits = TxLimits()

    func slot(_ gref: UInt32, offset: UInt16 = 0, flags: UInt16 = 0, id: UInt16, size: UInt16) -> TxSlot {
        TxSlot(gref: gref, offset: offset, flags: flags, id: id, size: size)
    }

    func extra(type: UInt8, flags: UInt8 = 0, id: UInt16) -> TxSlot {
        var request = tern_netif_tx_request()
        request.id = id
        withUnsafeMutableBytes(of: &request) { bytes in
            bytes[0] = type
            bytes[1] = flags
        }
        return TxSlot(request)
    }

    func testOneSlotPacket() {
        let parse = TxPacketParser.parse([slot(9, offset: 100, flags: UInt16(TERN_NETTXF_CSUM_BLANK), id: 4, size: 60)][...], limits: limits)
        guard case .packet(let packet, let slots) = parse else { return XCTFail("\(parse)") }
        XCTAssertEqual(packet.parts, [TxPacket.Part(gref: 9, offset: 100, size: 60)])
        XCTAssertEqual(packet.size, 60)
        XCTAssertTrue(packet.checksumBlank)
        XCTAssertFalse(packet.dataValidated)
        XCTAssertEqual(slots.count, 1)
        XCTAssertEqual(slots.slots[0].id, 4)
    }

    func testThreeSlotsTheFirstCarriesTheTotal() {
        // 1514 bytes: 1000 in the first page, then 400 and 114.
        let slots = [slot(1, offset: 3000, flags: more, id: 1, size: 1514), slot(2, flags: more, id: 2, size: 400),
                     slot(3, offset: 8, id: 3, size: 114)]
        guard case .packet(let packet, let taken) = TxPacketParser.parse(slots[...], limits: limits) else { return XCTFail() }
        XCTAssertEqual(packet.parts.map(\.size), [1000, 400, 114])
        XCTAssertEqual(packet.parts.map(\.gref), [1, 2, 3])
        XCTAssertEqual(packet.size, 1514)
        XCTAssertEqual(taken.slots.map(\.id), [1, 2, 3])
    }

    func testAPacketWhoseSlotsAreNotAllPublishedWaits() {
        XCTAssertEqual(TxPacketParser.parse([slot(1, flags: more, id: 1, size: 100)][...], limits: limits), .incomplete)
        XCTAssertEqual(TxPacketParser.parse([slot(1, flags: extraFlag, id: 1, size: 100)][...], limits: limits), .incomplete)
        XCTAssertEqual(TxPacketParser.parse([][...], limits: limits), .incomplete)
    }

    func testExtraInfoSlotsAreAnsweredNullAndUnofferedOnesDropThePacket() {
        let slots = [slot(1, flags: extraFlag, id: 1, size: 60), extra(type: UInt8(TERN_NETIF_EXTRA_TYPE_GSO), id: 2)]
        guard case .dropped(let taken, let fault) = TxPacketParser.parse(slots[...], limits: limits) else { return XCTFail() }
        XCTAssertEqual(fault, .extraNotOffered(UInt8(TERN_NETIF_EXTRA_TYPE_GSO)))
        XCTAssertTrue(taken.slots[1].isExtra)
        XCTAssertEqual(taken.count, 2)
        let offered = TxLimits(extraTypes: [UInt8(TERN_NETIF_EXTRA_TYPE_MCAST_ADD)])
        let chained = [slot(1, flags: extraFlag | more, id: 1, size: 80),
                       extra(type: UInt8(TERN_NETIF_EXTRA_TYPE_MCAST_ADD), flags: UInt8(TERN_NETIF_EXTRA_FLAG_MORE), id: 2),
                       extra(type: UInt8(TERN_NETIF_EXTRA_TYPE_MCAST_ADD), id: 3), slot(4, id: 4, size: 20)]
        guard case .packet(let packet, let all) = TxPacketParser.parse(chained[...], limits: offered) else { return XCTFail() }
        XCTAssertEqual(packet.parts.map(\.size), [60, 20], "the data slots follow the extras")
        XCTAssertEqual(all.slots.map(\.isExtra), [false, true, true, false])
    }

    func testBadExtrasAreFatal() {
        for type: UInt8 in [0, UInt8(TERN_NETIF_EXTRA_TYPE_MAX), 200] {
            let slots = [slot(1, flags: extraFlag, id: 1, size: 60), extra(type: type, id: 2)]
            XCTAssertEqual(TxPacketParser.parse(slots[...], limits: limits), .fatal(.extraType(type)))
        }
        let endless = [slot(1, flags: extraFlag, id: 1, size: 60)]
            + (0..<8).map { extra(type: 2, flags: UInt8(TERN_NETIF_EXTRA_FLAG_MORE), id: UInt16(2 + $0)) }
        XCTAssertEqual(TxPacketParser.parse(endless[...], limits: TxLimits(extraTypes: [2])), .fatal(.extraChainTooLong(5)))
    }

    func testNineteenSlotsAreDroppedTwentyOneDisableTheInterface() {
        func packet(_ n: Int) -> [TxSlot] {
            (0..<n).map { slot(UInt32($0), flags: $0 < n - 1 ? more : 0, id: UInt16($0), size: $0 == 0 ? UInt16(n * 60) : 60) }
        }
        guard case .packet = TxPacketParser.parse(packet(18)[...], limits: limits) else { return XCTFail("18 slots: a packet") }
        guard case .dropped(let taken, .tooManySlots(19, limit: 18)) = TxPacketParser.parse(packet(19)[...], limits: limits) else {
            return XCTFail("19: dropped")
        }
        XCTAssertEqual(taken.count, 19, "every slot is answered")
        guard case .dropped = TxPacketParser.parse(packet(20)[...], limits: limits) else { return XCTFail("20: dropped") }
        XCTAssertEqual(TxPacketParser.parse(packet(21)[...], limits: limits), .fatal(.tooManySlots(21, limit: 18)))
        XCTAssertEqual(TxPacketParser.parse(packet(200)[...], limits: limits), .fatal(.tooManySlots(21, limit: 18)),
                       "found at the 21st slot, without reading on")
    }

    func testAPartPastItsPageIsFatal() {
        XCTAssertEqual(TxPacketParser.parse([slot(1, offset: 4000, id: 1, size: 100)][...], limits: limits),
                       .fatal(.crossesPage(slot: 0, offset: 4000, size: 100)))
        let second = [slot(1, flags: more, id: 1, size: 200), slot(2, offset: 4095, id: 2, size: 2)]
        XCTAssertEqual(TxPacketParser.parse(second[...], limits: limits), .fatal(.crossesPage(slot: 1, offset: 4095, size: 2)))
    }

    func testSizesABuggyFrontendGetsWrongAreDropped() {
        // The first slot's size is the packet's: later slots holding more is a lie.
        let lying = [slot(1, flags: more, id: 1, size: 100), slot(2, id: 2, size: 300)]
        guard case .dropped(_, .partsExceedPacket(packet: 100, parts: 300)) = TxPacketParser.parse(lying[...], limits: limits) else {
            return XCTFail()
        }
        guard case .dropped(_, .tooShort(13)) = TxPacketParser.parse([slot(1, id: 1, size: 13)][...], limits: limits) else {
            return XCTFail()
        }
        guard case .dropped(_, .tooLong(1519, limit: 1518)) = TxPacketParser.parse(
            [slot(1, flags: more, id: 1, size: 1519), slot(2, id: 2, size: 1000)][...], limits: limits) else { return XCTFail() }
        guard case .packet = TxPacketParser.parse([slot(1, id: 1, size: 14)][...], limits: limits) else {
            return XCTFail("an Ethernet header alone is a packet")
        }
    }

    func testHeadersSpreadOverOneByteSlotsAreAPacket() {
        // XSA-423: the headers over many tiny slots is legal; the backend
        // must cope (it copies the packet into its own buffer).
        let tiny = [slot(0, flags: more, id: 0, size: 60)] + (1..<17).map { slot(UInt32($0), flags: more, id: UInt16($0), size: 1) }
            + [slot(17, id: 17, size: 1)]
        guard case .packet(let packet, _) = TxPacketParser.parse(tiny[...], limits: limits) else { return XCTFail() }
        XCTAssertEqual(packet.parts.count, 18)
        XCTAssertEqual(packet.parts[0].size, 43)
        XCTAssertEqual(packet.parts.reduce(0) { $0 + Int($1.size) }, 60)
    }

    func testOnlyThisPacketsSlotsAreRead() {
        let slots = [slot(1, id: 1, size: 60), slot(2, offset: 5000, id: 2, size: 60)]   // the next one is bad
        guard case .packet(_, let taken) = TxPacketParser.parse(slots[...], limits: limits) else { return XCTFail() }
        XCTAssertEqual(taken.count, 1)
        XCTAssertEqual(TxPacketParser.parse(slots[1...], limits: limits), .fatal(.crossesPage(slot: 0, offset: 5000, size: 60)))
    }
}
