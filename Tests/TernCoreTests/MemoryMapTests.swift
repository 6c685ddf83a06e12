import XCTest
@testable import TernCore

final class MemoryMapTests: XCTestCase {
    private func map(_ regions: [MemoryRegion]) -> MemoryMap {
        var map = MemoryMap()
        for region in regions { XCTAssertTrue(map.add(region)) }
        return map
    }

    private func region(_ start: UInt64, _ end: UInt64, _ kind: MemoryKind) -> MemoryRegion {
        MemoryRegion(start: start, end: end, kind: kind)
    }

    func testNormalizedSorts() {
        let raw = map([region(0x5000, 0x6000, .usable), region(0, 0x1000, .reserved), region(0x2000, 0x3000, .usable)])
        XCTAssertEqual(raw.normalized().regions, [
            region(0, 0x1000, .reserved), region(0x2000, 0x3000, .usable), region(0x5000, 0x6000, .usable),
        ])
    }

    func testNormalizedMergesTouchingRegionsOfOneKind() {
        let raw = map([region(0x1000, 0x2000, .usable), region(0, 0x1000, .usable), region(0x2000, 0x8000, .usable)])
        XCTAssertEqual(raw.normalized().regions, [region(0, 0x8000, .usable)])
    }

    func testNormalizedKeepsTouchingRegionsOfDifferentKinds() {
        let raw = map([region(0, 0x1000, .usable), region(0x1000, 0x2000, .acpiReclaimable), region(0x2000, 0x3000, .usable)])
        XCTAssertEqual(raw.normalized().regions, raw.regions)
    }

    func testNormalizedKeepsGapsBetweenRegionsOfOneKind() {
        let raw = map([region(0, 0x1000, .usable), region(0x1001, 0x2000, .usable)])
        XCTAssertEqual(raw.normalized().regions, [region(0, 0x1000, .usable), region(0x1001, 0x2000, .usable)])
    }

    func testOverlapInsideAUsableRegionSplitsIt() {
        let raw = map([region(0, 0x10000, .usable), region(0x4000, 0x5000, .reserved)])
        XCTAssertEqual(raw.normalized().regions, [
            region(0, 0x4000, .usable), region(0x4000, 0x5000, .reserved), region(0x5000, 0x10000, .usable),
        ])
    }

    func testPartialOverlapGoesToTheMoreRestrictiveKind() {
        let raw = map([region(0x3000, 0x8000, .acpiNVS), region(0, 0x5000, .acpiReclaimable)])
        XCTAssertEqual(raw.normalized().regions, [region(0, 0x3000, .acpiReclaimable), region(0x3000, 0x8000, .acpiNVS)])
    }

    /// For every pair of kinds, in both orders of report, the more
    /// restrictive one wins the overlap.
    func testMoreRestrictiveKindWinsForEveryPair() {
        let order: [MemoryKind] = [.usable, .acpiReclaimable, .acpiNVS, .reserved, .defective]
        for (i, weaker) in order.enumerated() {
            for stronger in order[(i + 1)...] {
                XCTAssertLessThan(weaker, stronger)
                let expected = [region(0, 0x1000, weaker), region(0x1000, 0x2000, stronger), region(0x2000, 0x3000, weaker)]
                let a = map([region(0, 0x3000, weaker), region(0x1000, 0x2000, stronger)])
                let b = map([region(0x1000, 0x2000, stronger), region(0, 0x3000, weaker)])
                XCTAssertEqual(a.normalized().regions, expected, "\(weaker) vs \(stronger)")
                XCTAssertEqual(b.normalized().regions, expected, "\(stronger) vs \(weaker)")
            }
        }
    }

    func testDuplicateRegionsCollapse() {
        let raw = map([region(0x1000, 0x2000, .usable), region(0x1000, 0x2000, .usable), region(0x1000, 0x2000, .reserved)])
        XCTAssertEqual(raw.normalized().regions, [region(0x1000, 0x2000, .reserved)])
    }

    func testEmptyRegionsAreDropped() {
        var raw = MemoryMap()
        XCTAssertTrue(raw.add(region(0x5000, 0x5000, .usable)))
        XCTAssertTrue(raw.add(region(0x6000, 0x4000, .reserved)))
        XCTAssertEqual(raw.count, 0)
        XCTAssertEqual(raw.normalized().count, 0)
        XCTAssertFalse(raw.overflowed)
    }

    func testTotalBytesAndUsableEnd() {
        let normalized = map([
            region(0, 0x9_FC00, .usable),
            region(0x9_FC00, 0xA_0000, .reserved),
            region(0x10_0000, 0x800_0000, .usable),
            region(0x7F0_0000, 0x800_0000, .acpiReclaimable),
            region(0xFEC0_0000, 0xFEC0_1000, .reserved),
        ]).normalized()
        XCTAssertEqual(normalized.totalBytes(of: .usable), 0x9_FC00 + 0x7E0_0000)
        XCTAssertEqual(normalized.totalBytes(of: .acpiReclaimable), 0x10_0000)
        XCTAssertEqual(normalized.totalBytes(of: .reserved), 0x400 + 0x1000)
        XCTAssertEqual(normalized.totalBytes(of: .defective), 0)
        XCTAssertEqual(normalized.usableEnd, 0x7F0_0000)
    }

    func testUsableEndWithoutUsableMemoryIsZero() {
        XCTAssertEqual(map([region(0x1000, 0x2000, .reserved)]).usableEnd, 0)
        XCTAssertEqual(MemoryMap().usableEnd, 0)
    }

    func testAddingPastCapacitySetsOverflowed() {
        var raw = MemoryMap()
        for i in 0..<UInt64(MemoryMap.capacity) {
            XCTAssertTrue(raw.add(region(i * 0x2000, i * 0x2000 + 0x1000, .usable)))
        }
        XCTAssertFalse(raw.overflowed)
        XCTAssertFalse(raw.add(region(0x100_0000, 0x100_1000, .usable)))
        XCTAssertTrue(raw.overflowed)
        XCTAssertEqual(raw.count, MemoryMap.capacity)
        XCTAssertEqual(raw[MemoryMap.capacity - 1], region(127 * 0x2000, 127 * 0x2000 + 0x1000, .usable))
    }

    /// 127 holes punched into one region make 255 pieces: normalized()
    /// keeps the lowest 128 and says it overflowed.
    func testNormalizingIntoMoreThanCapacityOverflowsAtTheTop() {
        var raw = MemoryMap()
        raw.add(region(0, 0x100_0000, .usable))
        for i in 1...UInt64(127) { raw.add(region(i * 0x2000, i * 0x2000 + 0x1000, .reserved)) }
        XCTAssertFalse(raw.overflowed)
        let normalized = raw.normalized()
        XCTAssertTrue(normalized.overflowed)
        XCTAssertEqual(normalized.count, MemoryMap.capacity)
        XCTAssertEqual(normalized[0], region(0, 0x2000, .usable))
        XCTAssertEqual(normalized[1], region(0x2000, 0x3000, .reserved))
        XCTAssertEqual(normalized[127], region(64 * 0x2000, 64 * 0x2000 + 0x1000, .reserved))
        XCTAssertEqual(normalized.usableEnd, 64 * 0x2000)
    }

    func testKindFromMultibootType() {
        XCTAssertEqual(MemoryKind(multibootType: 1), .usable)
        XCTAssertEqual(MemoryKind(multibootType: 2), .reserved)
        XCTAssertEqual(MemoryKind(multibootType: 3), .acpiReclaimable)
        XCTAssertEqual(MemoryKind(multibootType: 4), .acpiNVS)
        XCTAssertEqual(MemoryKind(multibootType: 5), .defective)
        XCTAssertEqual(MemoryKind(multibootType: 0), .reserved)
        XCTAssertEqual(MemoryKind(multibootType: 6), .reserved)
        XCTAssertEqual(MemoryKind(multibootType: UInt32.max), .reserved)
    }

    func testKindNames() {
        XCTAssertEqual(MemoryKind.usable.name.text, "usable")
        XCTAssertEqual(MemoryKind.acpiReclaimable.name.text, "ACPI data")
        XCTAssertEqual(MemoryKind.acpiNVS.name.text, "ACPI NVS")
        XCTAssertEqual(MemoryKind.reserved.name.text, "reserved")
        XCTAssertEqual(MemoryKind.defective.name.text, "defective")
    }
}
