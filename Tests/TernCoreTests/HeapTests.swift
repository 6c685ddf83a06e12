import XCTest
@testable import TernCore

final class HeapTests: XCTestCase {
    private let size = 64 << 10
    private var area: UnsafeMutableRawPointer!
    private var map: UnsafeMutablePointer<UInt64>!
    private var heap: Heap!

    override func setUp() {
        super.setUp()
        area = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        area.initializeMemory(as: UInt8.self, repeating: 0xCC, count: size)
        map = UnsafeMutablePointer<UInt64>.allocate(capacity: Heap.startMapWords(forSize: size))
        heap = Heap(base: area, size: size, startMap: map)
    }

    override func tearDown() {
        heap = nil
        area.deallocate()
        map.deallocate()
        super.tearDown()
    }

    private func address(_ pointer: UnsafeMutableRawPointer) -> UInt { UInt(bitPattern: pointer) }

    private struct Stats: Equatable {
        var bytesInUse, peak, liveBlocks, largestFree: Int
    }

    private var stats: Stats {
        Stats(bytesInUse: heap.bytesInUse, peak: heap.peakBytesInUse, liveBlocks: heap.liveBlocks,
              largestFree: heap.largestFreeBlock)
    }

    func testFreshHeap() {
        XCTAssertEqual(stats, Stats(bytesInUse: 0, peak: 0, liveBlocks: 0, largestFree: size - Heap.headerSize))
    }

    func testBlocksAreLaidOutWithHeaders() throws {
        let a = try XCTUnwrap(heap.allocate(size: 100, alignment: 8))
        let b = try XCTUnwrap(heap.allocate(size: 1, alignment: 1))
        let c = try XCTUnwrap(heap.allocate(size: 0, alignment: 16))
        XCTAssertEqual(a, area + 16)
        XCTAssertEqual(b, area + 128 + 16, "100 bytes round up to 112, plus the header")
        XCTAssertEqual(c, area + 160 + 16, "1 byte takes a 16-byte payload")
        XCTAssertEqual(stats, Stats(bytesInUse: 192, peak: 192, liveBlocks: 3, largestFree: size - 192 - 16))
    }

    func testStatsFollowFrees() throws {
        let a = try XCTUnwrap(heap.allocate(size: 100, alignment: 16))
        let b = try XCTUnwrap(heap.allocate(size: 1, alignment: 16))
        try heap.free(a)
        XCTAssertEqual(heap.bytesInUse, 32)
        XCTAssertEqual(heap.liveBlocks, 1)
        XCTAssertEqual(heap.peakBytesInUse, 160)
        try heap.free(b)
        XCTAssertEqual(stats, Stats(bytesInUse: 0, peak: 160, liveBlocks: 0, largestFree: size - 16))
    }

    func testAllocationsAreAtLeastSixteenAligned() throws {
        for request in [1, 3, 15, 16, 17, 31, 100, 1000] {
            let p = try XCTUnwrap(heap.allocate(size: request, alignment: 1))
            XCTAssertEqual(address(p) % 16, 0, "size \(request)")
        }
    }

    func testLargerAlignmentsAreHonoured() throws {
        _ = heap.allocate(size: 24, alignment: 16)  // so that nothing is aligned by chance
        for alignment in [32, 64, 256, 4096] {
            let p = try XCTUnwrap(heap.allocate(size: 40, alignment: alignment))
            XCTAssertEqual(address(p) % UInt(alignment), 0, "alignment \(alignment)")
            _ = heap.allocate(size: 8, alignment: 16)
        }
    }

    func testBadRequestsAreRefused() {
        XCTAssertNil(heap.allocate(size: 16, alignment: 3))
        XCTAssertNil(heap.allocate(size: 16, alignment: 0))
        XCTAssertNil(heap.allocate(size: -1, alignment: 16))
        XCTAssertNil(heap.allocate(size: size, alignment: 16), "the header does not fit")
        XCTAssertNil(heap.allocate(size: Int.max, alignment: 16))
        XCTAssertEqual(stats, Stats(bytesInUse: 0, peak: 0, liveBlocks: 0, largestFree: size - 16))
    }

    func testAllocationsDoNotOverlap() throws {
        var blocks: [(pointer: UnsafeMutableRawPointer, size: Int)] = []
        for i in 0..<40 {
            let request = 1 + (i * 37) % 700
            let p = try XCTUnwrap(heap.allocate(size: request, alignment: i % 5 == 0 ? 64 : 16))
            p.initializeMemory(as: UInt8.self, repeating: UInt8(i), count: request)
            blocks.append((p, request))
        }
        for (i, block) in blocks.enumerated() {
            let bytes = UnsafeRawBufferPointer(start: block.pointer, count: block.size)
            XCTAssertTrue(bytes.allSatisfy { $0 == UInt8(i) }, "block \(i) was overwritten")
        }
    }

    func testExhaustionReturnsNil() throws {
        var count = 0
        while heap.allocate(size: 1024, alignment: 16) != nil { count += 1 }
        XCTAssertEqual(count, 63)  // 63 * (1024 + 16) <= 65536 < 64 * 1040
        XCTAssertEqual(stats, Stats(bytesInUse: size, peak: size, liveBlocks: 63, largestFree: 0))
        XCTAssertNil(heap.allocate(size: 0, alignment: 16))
    }

    func testNeighboursCoalesce() throws {
        let quarter = size / 4 - Heap.headerSize
        let blocks = try (0..<4).map { _ in try XCTUnwrap(heap.allocate(size: quarter, alignment: 16)) }
        XCTAssertNil(heap.allocate(size: 0, alignment: 16))
        try heap.free(blocks[1])
        try heap.free(blocks[2])  // merges with the previous free block
        XCTAssertEqual(heap.largestFreeBlock, size / 2 - 16)
        try heap.free(blocks[0])  // merges with the next free block
        XCTAssertEqual(heap.largestFreeBlock, 3 * size / 4 - 16)
        XCTAssertEqual(heap.allocate(size: 3 * size / 4 - 16, alignment: 16), area + 16)
        try heap.free(area + 16)
        try heap.free(blocks[3])
        XCTAssertEqual(heap.largestFreeBlock, size - 16)
    }

    func testFreeingEverythingInRandomOrderRestoresOneBlock() throws {
        var random = SeededRandom(seed: 0x4845_4150)
        var blocks: [UnsafeMutableRawPointer] = []
        while let p = heap.allocate(size: Int(random.next() % 900), alignment: [16, 64, 256][Int(random.next() % 3)]) {
            blocks.append(p)
        }
        XCTAssertGreaterThan(blocks.count, 50)
        XCTAssertNil(heap.allocate(size: size - 16, alignment: 16))
        blocks.shuffle(using: &random)
        for p in blocks { try heap.free(p) }
        XCTAssertEqual(heap.bytesInUse, 0)
        XCTAssertEqual(heap.liveBlocks, 0)
        XCTAssertEqual(heap.largestFreeBlock, size - 16)
        XCTAssertEqual(heap.allocate(size: size - 16, alignment: 16), area + 16)
    }

    // MARK: Bad frees

    func testFreeOfForeignPointer() throws {
        _ = try XCTUnwrap(heap.allocate(size: 64, alignment: 16))
        let before = stats
        let foreign = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
        defer { foreign.deallocate() }
        assertThrowsExactly(Heap.FreeError.notFromHeap(address(foreign))) { try heap.free(foreign) }
        assertThrowsExactly(Heap.FreeError.notFromHeap(address(area))) { try heap.free(area) }
        assertThrowsExactly(Heap.FreeError.notFromHeap(address(area + size))) { try heap.free(area + size) }
        XCTAssertEqual(stats, before)
    }

    func testFreeOfInteriorPointer() throws {
        let a = try XCTUnwrap(heap.allocate(size: 256, alignment: 16))
        let before = stats
        assertThrowsExactly(Heap.FreeError.notABlock(address(a + 16))) { try heap.free(a + 16) }
        assertThrowsExactly(Heap.FreeError.notABlock(address(a + 1))) { try heap.free(a + 1) }
        XCTAssertEqual(stats, before)
        try heap.free(a)
        XCTAssertEqual(heap.liveBlocks, 0)
    }

    func testForgedHeaderInsideAPayloadIsNotABlock() throws {
        let a = try XCTUnwrap(heap.allocate(size: 256, alignment: 16))
        // A payload that looks like a used block header at a + 64.
        a.storeBytes(of: UInt64(64), toByteOffset: 64, as: UInt64.self)
        a.storeBytes(of: Heap.usedTag, toByteOffset: 72, as: UInt64.self)
        let before = stats
        assertThrowsExactly(Heap.FreeError.notABlock(address(a + 80))) { try heap.free(a + 80) }
        XCTAssertEqual(stats, before)
    }

    func testAlignmentIsOfAddressesWhenTheBaseIsOnlySixteenAligned() throws {
        var offsetHeap = Heap(base: area + 16, size: size - 16, startMap: map)
        for alignment in [64, 256, 4096] {
            let p = try XCTUnwrap(offsetHeap.allocate(size: 24, alignment: alignment))
            XCTAssertEqual(address(p) % UInt(alignment), 0, "alignment \(alignment)")
        }
    }

    func testDoubleFree() throws {
        let a = try XCTUnwrap(heap.allocate(size: 48, alignment: 16))
        let b = try XCTUnwrap(heap.allocate(size: 48, alignment: 16))
        try heap.free(a)
        let before = stats
        assertThrowsExactly(Heap.FreeError.doubleFree(address(a))) { try heap.free(a) }
        XCTAssertEqual(stats, before)
        try heap.free(b)
        assertThrowsExactly(Heap.FreeError.doubleFree(address(a))) { try heap.free(a) }
        XCTAssertEqual(heap.liveBlocks, 0)
        XCTAssertEqual(heap.largestFreeBlock, size - 16)
    }

    // MARK: Randomized

    /// Random allocations and frees against a model: alignment, no
    /// overlap, contents kept, first fit (a refusal only when no free
    /// block is large enough), counts in step, bad frees refused.
    func testRandomOperationsMatchAModel() throws {
        struct Live { var pointer: UnsafeMutableRawPointer; var size: Int; var fill: UInt8 }
        var random = SeededRandom(seed: 0xA110_C8ED)
        var live: [Live] = []
        var freed: [UnsafeMutableRawPointer] = []
        let alignments = [1, 2, 8, 16, 32, 64, 256, 4096]
        for step in 0..<4000 {
            let choice = random.next() % 100
            if choice < 55 {
                let request = Int(random.next() % 3000)
                let alignment = alignments[Int(random.next() % UInt64(alignments.count))]
                let largest = heap.largestFreeBlock
                guard let p = heap.allocate(size: request, alignment: alignment) else {
                    if alignment <= 16 { XCTAssertLessThan(largest, max(16, (request + 15) & ~15), "step \(step)") }
                    continue
                }
                XCTAssertEqual(address(p) % UInt(max(alignment, 16)), 0)
                for other in live {
                    let disjoint = p + max(request, 1) <= other.pointer || other.pointer + max(other.size, 1) <= p
                    XCTAssertTrue(disjoint, "step \(step): overlap")
                }
                let fill = UInt8(truncatingIfNeeded: step)
                p.initializeMemory(as: UInt8.self, repeating: fill, count: request)
                live.append(Live(pointer: p, size: request, fill: fill))
                freed.removeAll { $0 == p }
            } else if choice < 95, !live.isEmpty {
                let block = live.remove(at: Int(random.next() % UInt64(live.count)))
                let contents = UnsafeRawBufferPointer(start: block.pointer, count: block.size)
                XCTAssertTrue(contents.allSatisfy { $0 == block.fill }, "step \(step): block overwritten")
                try heap.free(block.pointer)
                freed.append(block.pointer)
            } else if let stale = freed.last, !live.contains(where: { $0.pointer == stale }) {
                let before = stats
                XCTAssertThrowsError(try heap.free(stale))
                XCTAssertEqual(stats, before)
            }
            XCTAssertEqual(heap.liveBlocks, live.count)
            XCTAssertTrue(heap.isConsistent(), "step \(step): blocks, map and free chain disagree")
            let payloads = live.reduce(0) { $0 + max(16, ($1.size + 15) & ~15) + Heap.headerSize }
            XCTAssertGreaterThanOrEqual(heap.bytesInUse, payloads)
            XCTAssertLessThanOrEqual(heap.bytesInUse, size)
            XCTAssertGreaterThanOrEqual(heap.peakBytesInUse, heap.bytesInUse)
        }
        for block in live { try heap.free(block.pointer) }
        XCTAssertEqual(heap.bytesInUse, 0)
        XCTAssertEqual(heap.largestFreeBlock, size - 16)
    }
}
