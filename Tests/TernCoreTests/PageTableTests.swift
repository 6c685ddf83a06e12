import XCTest
@testable import TernCore

final class PageTableTests: XCTestCase {
    private let page: UInt64 = 4096
    private let large: UInt64 = 2 << 20
    /// 64 frames of table memory at 1 MiB: the root, then a bump allocator.
    private var memory: FakePhysicalMemory!
    private let root: UInt64 = 0x10_0000
    private var nextFrame: UInt64 = 0
    private var framesTaken = 0

    override func setUp() {
        super.setUp()
        memory = FakePhysicalMemory(base: root, size: 256 << 10)
        nextFrame = root + page
        framesTaken = 0
    }

    override func tearDown() {
        memory = nil
        super.tearDown()
    }

    /// Hands out the fake memory's frames in order; nil when none are left.
    private func takeFrame() -> UInt64? {
        guard nextFrame < memory.end else { return nil }
        defer { nextFrame += page }
        framesTaken += 1
        return nextFrame
    }

    private func map(_ virtual: UInt64, _ physical: UInt64, _ size: UInt64, _ flags: PageFlags) throws {
        try PageTable.map(root: root, virtual: virtual, physical: physical, size: size, flags: flags,
                          memory: memory, allocateFrame: takeFrame)
    }

    private func translate(_ virtual: UInt64) -> PageTable.Translation? {
        PageTable.translate(root: root, virtual: virtual, memory: memory)
    }

    // MARK: Mapping and translating

    func testEmptyTableTranslatesNothing() {
        XCTAssertNil(translate(0))
        XCTAssertNil(translate(0x20_0000))
        XCTAssertNil(translate(Layout.directMapBase))
    }

    func testFourKiBPages() throws {
        try map(0x40_0000, 0x7654_3000, 3 * page, .data)
        XCTAssertEqual(framesTaken, 3, "PDPT, PD and PT")
        XCTAssertEqual(translate(0x40_0000), PageTable.Translation(physical: 0x7654_3000, flags: .data, pageSize: page))
        XCTAssertEqual(translate(0x40_1234), PageTable.Translation(physical: 0x7654_4234, flags: .data, pageSize: page))
        XCTAssertEqual(translate(0x40_2FFF)?.physical, 0x7654_5FFF)
        XCTAssertNil(translate(0x40_3000))
        XCTAssertNil(translate(0x3F_F000))
    }

    func testTwoMiBPagesWhereAlignedThenFourKiB() throws {
        try map(0x4000_0000, 0x8000_0000, 2 * large + 2 * page, .data)
        XCTAssertEqual(framesTaken, 3, "PDPT, PD and one PT for the tail")
        let inFirst = translate(0x4001_2345)
        XCTAssertEqual(inFirst, PageTable.Translation(physical: 0x8001_2345, flags: PageFlags.data.union(.largePage),
                                                      pageSize: large))
        XCTAssertEqual(translate(0x4000_0000 + large + 0x1F_FFFF)?.physical, 0x8000_0000 + large + 0x1F_FFFF)
        XCTAssertEqual(translate(0x4000_0000 + large)?.pageSize, large)
        XCTAssertEqual(translate(0x4040_1008), PageTable.Translation(physical: 0x8040_1008, flags: .data, pageSize: page))
        XCTAssertNil(translate(0x4040_2000))
    }

    func testNoLargePageWhenThePhysicalAddressIsNotAligned() throws {
        try map(0x20_0000, 0x30_1000, large, .readOnlyData)
        XCTAssertEqual(framesTaken, 3)
        XCTAssertEqual(translate(0x20_0000), PageTable.Translation(physical: 0x30_1000, flags: .readOnlyData, pageSize: page))
        XCTAssertEqual(translate(0x3F_F123)?.physical, 0x50_0123)
        XCTAssertEqual(translate(0x3F_F123)?.pageSize, page)
    }

    func testNoLargePageWhenLessThanTwoMiBRemains() throws {
        try map(0x20_0000, 0x20_0000, large - page, .text)
        XCTAssertEqual(translate(0x20_0000)?.pageSize, page)
        XCTAssertEqual(translate(0x3F_E000)?.pageSize, page)
        XCTAssertNil(translate(0x3F_F000))
    }

    func testHighHalfAddresses() throws {
        try map(Layout.directMapBase, 0, 2 * large, .data)
        try map(Layout.fixmapBase, 0xFEE0_0000, page, .device)
        XCTAssertEqual(translate(Layout.directMapBase + 0x12_3456),
                       PageTable.Translation(physical: 0x12_3456, flags: PageFlags.data.union(.largePage), pageSize: large))
        XCTAssertEqual(translate(Layout.directMapBase + 0x3F_FFFF)?.physical, 0x3F_FFFF)
        XCTAssertNil(translate(Layout.directMapBase + 2 * large))
        XCTAssertEqual(translate(Layout.fixmapBase + 0x20),
                       PageTable.Translation(physical: 0xFEE0_0020, flags: .device, pageSize: page))
        // PML4 slots 272 (direct map) and 511 (fixmap); nothing below.
        XCTAssertNotEqual(memory.read64(at: root + 272 * 8) & PageFlags.present.rawValue, 0)
        XCTAssertNotEqual(memory.read64(at: root + 511 * 8) & PageFlags.present.rawValue, 0)
        XCTAssertNil(translate(0x12_3456))
    }

    func testUpperLevelsArePermissiveAndCarryTheUserBit() throws {
        try map(0x1000, 0x1000, page, [.present, .user])
        try map(0x80_0000_0000, 0x1000, page, .readOnlyData)  // PML4 slot 1
        let user = memory.read64(at: root), supervisor = memory.read64(at: root + 8)
        XCTAssertEqual(user & ~PageTable.addressMask, PageFlags([.present, .writable, .user]).rawValue)
        XCTAssertEqual(supervisor & ~PageTable.addressMask, PageFlags([.present, .writable]).rawValue)
        let pdpte = memory.read64(at: user & PageTable.addressMask)
        XCTAssertEqual(pdpte & ~PageTable.addressMask, PageFlags([.present, .writable, .user]).rawValue)
        XCTAssertEqual(translate(0x1000)?.flags, [.present, .user])
        XCTAssertEqual(translate(0x80_0000_0000)?.flags, .readOnlyData)
    }

    /// Core asks the nested table for read-only or read-write pages; the
    /// SVM entries carry U on every leaf, W only for read-write.
    func testNestedPagesByAccess() throws {
        try NestedPageTable.map(root: root, gpa: 0x4000_0000, host: 0x7000_0000, size: page, access: .readOnly,
                                memory: memory, allocateFrame: takeFrame)
        let readOnly = translate(0x4000_0000)
        XCTAssertEqual(readOnly?.physical, 0x7000_0000)
        XCTAssertTrue(readOnly!.flags.contains(.user))
        XCTAssertFalse(readOnly!.flags.contains(.writable))
        XCTAssertTrue(NestedPageTable.replacePage(root: root, gpa: 0x4000_1000, hostFrame: 0x7100_0000, access: .readWrite,
                                                  memory: memory), "a free 4 KiB slot under the same table")
        XCTAssertTrue(translate(0x4000_1000)!.flags.contains(.writable))
        XCTAssertFalse(NestedPageTable.replacePage(root: root, gpa: 0x9000_0000, hostFrame: 0x7100_0000, access: .readWrite,
                                                   memory: memory), "no table there: nothing made")
        NestedPageTable.removePage(root: root, gpa: 0x4000_1000, memory: memory)
        XCTAssertNil(translate(0x4000_1000))
    }

    func testZeroSizeMapsNothing() throws {
        try map(0x1000, 0x1000, 0, .data)
        XCTAssertEqual(framesTaken, 0)
        XCTAssertNil(translate(0x1000))
    }

    // MARK: Errors

    func testMisaligned() {
        assertThrowsExactly(PageTable.MapError.misaligned(virtual: 0x1001, physical: 0x2000, size: page)) {
            try map(0x1001, 0x2000, page, .data)
        }
        assertThrowsExactly(PageTable.MapError.misaligned(virtual: 0x1000, physical: 0x2800, size: page)) {
            try map(0x1000, 0x2800, page, .data)
        }
        assertThrowsExactly(PageTable.MapError.misaligned(virtual: 0x1000, physical: 0x2000, size: 0x800)) {
            try map(0x1000, 0x2000, 0x800, .data)
        }
        XCTAssertEqual(framesTaken, 0)
    }

    func testNonCanonical() {
        assertThrowsExactly(PageTable.MapError.nonCanonical(0x0000_8000_0000_0000)) {
            try map(0x0000_8000_0000_0000, 0, page, .data)
        }
        assertThrowsExactly(PageTable.MapError.nonCanonical(0xFFFF_7FFF_FFFF_F000)) {
            try map(0xFFFF_7FFF_FFFF_F000, 0, page, .data)
        }
        // Starts canonical, runs off the low half.
        assertThrowsExactly(PageTable.MapError.nonCanonical(0x0000_7FFF_FFFF_F000)) {
            try map(0x0000_7FFF_FFFF_F000, 0, 2 * page, .data)
        }
        // Wraps from the top of the high half to address 0.
        assertThrowsExactly(PageTable.MapError.nonCanonical(0xFFFF_FFFF_FFFF_F000)) {
            try map(0xFFFF_FFFF_FFFF_F000, 0, 2 * page, .data)
        }
        XCTAssertEqual(framesTaken, 0)
    }

    func testRemappingAFourKiBPage() throws {
        try map(0x1000, 0x5000, page, .data)
        assertThrowsExactly(PageTable.MapError.alreadyMapped(virtual: 0x1000)) { try map(0x1000, 0x9000, page, .data) }
        XCTAssertEqual(translate(0x1000)?.physical, 0x5000, "the first mapping stays")
    }

    func testMappingInsideATwoMiBPage() throws {
        try map(0x20_0000, 0x20_0000, large, .data)
        assertThrowsExactly(PageTable.MapError.alreadyMapped(virtual: 0x20_1000)) { try map(0x20_1000, 0x9000, page, .data) }
        assertThrowsExactly(PageTable.MapError.alreadyMapped(virtual: 0x20_0000)) {
            try map(0x20_0000, 0x40_0000, large, .data)
        }
        XCTAssertEqual(translate(0x20_1000)?.physical, 0x20_1000)
        XCTAssertEqual(translate(0x20_1000)?.pageSize, large)
    }

    func testTwoMiBPageOverExistingFourKiBPages() throws {
        try map(0x20_5000, 0x5000, page, .data)
        assertThrowsExactly(PageTable.MapError.alreadyMapped(virtual: 0x20_0000)) {
            try map(0x20_0000, 0x40_0000, large, .data)
        }
        XCTAssertEqual(translate(0x20_5000)?.physical, 0x5000)
        XCTAssertNil(translate(0x20_4000))
    }

    func testOutOfFrames() {
        assertThrowsExactly(PageTable.MapError.outOfFrames) {
            try PageTable.map(root: root, virtual: 0x1000, physical: 0x1000, size: page, flags: .data,
                              memory: memory, allocateFrame: { nil })
        }
        // Running out part way: 63 frames make 1 PDPT + 1 PD + 61 PTs.
        assertThrowsExactly(PageTable.MapError.outOfFrames) {
            try map(0, 0x1000, 62 * large, .data)
        }
        XCTAssertEqual(framesTaken, 63)
    }

    func testTableOutsideMemoryIsUnreachable() {
        assertThrowsExactly(PageTable.MapError.tableUnreachable(0x8000_0000)) {
            try PageTable.map(root: 0x8000_0000, virtual: 0x1000, physical: 0x1000, size: page, flags: .data,
                              memory: memory, allocateFrame: takeFrame)
        }
        XCTAssertNil(PageTable.translate(root: 0x8000_0000, virtual: 0x1000, memory: memory))
    }

    func testCanonicalAddresses() {
        XCTAssertTrue(PageTable.isCanonical(0))
        XCTAssertTrue(PageTable.isCanonical(0x0000_7FFF_FFFF_FFFF))
        XCTAssertFalse(PageTable.isCanonical(0x0000_8000_0000_0000))
        XCTAssertFalse(PageTable.isCanonical(0xFFFF_7FFF_FFFF_FFFF))
        XCTAssertTrue(PageTable.isCanonical(0xFFFF_8000_0000_0000))
        XCTAssertTrue(PageTable.isCanonical(UInt64.max))
    }

    // MARK: W^X

    /// Every present leaf reachable from `table` (level 3 = PML4).
    private func leaves(of table: UInt64, level: Int, base: UInt64 = 0) -> [(virtual: UInt64, entry: UInt64)] {
        var found: [(UInt64, UInt64)] = []
        for i in 0..<PageTable.entriesPerTable {
            let entry = memory.read64(at: table + UInt64(i) * 8)
            guard entry & PageFlags.present.rawValue != 0 else { continue }
            var virtual = base | UInt64(i) << (12 + 9 * UInt64(level))
            if virtual & (1 << 47) != 0 { virtual |= 0xFFFF_0000_0000_0000 }
            if level == 0 || entry & PageFlags.largePage.rawValue != 0 {
                found.append((virtual, entry))
            } else {
                found += leaves(of: entry & PageTable.addressMask, level: level - 1, base: virtual)
            }
        }
        return found
    }

    /// Maps an image the way the hypervisor maps itself, then checks that
    /// no page anywhere in the tables is both writable and executable.
    func testKernelImageMappingIsWriteXorExecute() throws {
        let text = (start: UInt64(0x20_0000), end: UInt64(0x20_7000))
        let rodata = (start: UInt64(0x20_7000), end: UInt64(0x20_A000))
        let data = (start: UInt64(0x20_A000), end: UInt64(0x21_0000))
        try map(text.start, text.start, text.end - text.start, .text)
        try map(rodata.start, rodata.start, rodata.end - rodata.start, .readOnlyData)
        try map(data.start, data.start, data.end - data.start, .data)
        try map(Layout.directMapBase, 0, 4 * large, .data)
        try map(Layout.lapicVirtual, 0xFEE0_0000, page, .device)

        for (range, flags) in [(text, PageFlags.text), (rodata, .readOnlyData), (data, .data)] {
            for virtual in stride(from: range.start, to: range.end, by: Int(page)) {
                let translation = try XCTUnwrap(translate(virtual))
                XCTAssertEqual(translation.flags, flags, "page \(virtual)")
                XCTAssertEqual(translation.physical, virtual)
            }
        }
        let all = leaves(of: root, level: 3)
        XCTAssertEqual(all.count, 7 + 3 + 6 + 4 + 1)
        for leaf in all {
            let writable = leaf.entry & PageFlags.writable.rawValue != 0
            let executable = leaf.entry & PageFlags.noExecute.rawValue == 0
            XCTAssertFalse(writable && executable, "W+X page at \(String(leaf.virtual, radix: 16))")
        }
        XCTAssertEqual(all.filter { $0.entry & PageFlags.noExecute.rawValue == 0 }.map(\.virtual),
                       Array(stride(from: text.start, to: text.end, by: Int(page))), "only text executes")
    }

    func testPhysicalRangesThatWrapOrExceedFiftyTwoBitsAreRefused() {
        let memory = FakePhysicalMemory(base: 0x10_0000, size: 64 << 10)
        let root: UInt64 = 0x10_0000
        var next: UInt64 = 0x10_1000
        let frames: () -> UInt64? = { defer { next += 0x1000 }; return next }
        assertThrowsExactly(PageTable.MapError.physicalOutOfRange(UInt64.max - 0xFFF)) {
            try PageTable.map(root: root, virtual: 0x40_0000, physical: UInt64.max - 0xFFF, size: 0x2000,
                              flags: .data, memory: memory, allocateFrame: frames)
        }
        assertThrowsExactly(PageTable.MapError.physicalOutOfRange(1 << 52)) {
            try PageTable.map(root: root, virtual: 0x40_0000, physical: 1 << 52, size: 0x1000,
                              flags: .data, memory: memory, allocateFrame: frames)
        }
    }
}
