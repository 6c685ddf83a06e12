import XCTest
@testable import TernCore

final class FrameAllocatorTests: XCTestCase {
    private let page = FrameAllocator.frameSize
    private var bitmaps: [UnsafeMutablePointer<UInt64>] = []

    override func tearDown() {
        for bitmap in bitmaps { bitmap.deallocate() }
        bitmaps = []
        super.tearDown()
    }

    /// An allocator over `frameCount` frames whose bitmap starts as garbage
    /// (init must clear it).
    private func makeAllocator(frameCount: Int) -> FrameAllocator {
        let words = max(1, FrameAllocator.bitmapBytes(frameCount: frameCount) / 8)
        let bitmap = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        bitmap.initialize(repeating: UInt64.max, count: words)
        bitmaps.append(bitmap)
        return FrameAllocator(bitmap: bitmap, frameCount: frameCount)
    }

    private func range(_ start: UInt64, _ end: UInt64) -> PhysicalRange { PhysicalRange(start: start, end: end) }

    /// 256 frames (1 MiB); usable from 64 KiB up; 3 frames reserved at 128 KiB.
    private func standardAllocator() -> FrameAllocator {
        var frames = makeAllocator(frameCount: 256)
        frames.addUsable(range(0x1_0000, 0x10_0000))
        frames.reserve(range(0x2_0000, 0x2_3000), reason: "image")
        return frames
    }

    func testBitmapBytesAreWholeWords() {
        XCTAssertEqual(FrameAllocator.bitmapBytes(frameCount: 0), 0)
        XCTAssertEqual(FrameAllocator.bitmapBytes(frameCount: 1), 8)
        XCTAssertEqual(FrameAllocator.bitmapBytes(frameCount: 64), 8)
        XCTAssertEqual(FrameAllocator.bitmapBytes(frameCount: 65), 16)
        XCTAssertEqual(FrameAllocator.bitmapBytes(frameCount: 1000), 128)
        XCTAssertEqual(FrameAllocator.bitmapBytes(frameCount: 1 << 20), 128 << 10)
    }

    func testNewAllocatorHasNoFreeFrames() {
        var frames = makeAllocator(frameCount: 100)
        XCTAssertEqual(frames.freeFrames, 0)
        XCTAssertEqual(frames.bitmapByteCount, 16)
        XCTAssertNil(frames.allocate())
    }

    func testAddUsableThenReserveCountsExactly() {
        var frames = makeAllocator(frameCount: 256)
        frames.addUsable(range(0x1_0000, 0x10_0000))
        XCTAssertEqual(frames.freeFrames, 240)
        frames.reserve(range(0x2_0000, 0x2_3000), reason: "image")
        XCTAssertEqual(frames.freeFrames, 237)
        // Reserving frames that are not free changes no count.
        frames.reserve(range(0, 0x1_0000), reason: "low memory")
        XCTAssertEqual(frames.freeFrames, 237)
        XCTAssertEqual(frames.reservations.count, 2)
        XCTAssertEqual(frames.reservations[0].range, range(0x2_0000, 0x2_3000))
        XCTAssertEqual(frames.reservations[0].reason.text, "image")
    }

    func testReserveThenAddUsableSkipsReservations() {
        var frames = makeAllocator(frameCount: 256)
        frames.reserve(range(0x2_0000, 0x2_3000), reason: "image")
        frames.reserve(range(0x8_0000, 0x8_1000), reason: "module")
        frames.addUsable(range(0x1_0000, 0x10_0000))
        XCTAssertEqual(frames.freeFrames, 236)
        XCTAssertFalse(frames.isFree(address: 0x2_0000))
        XCTAssertFalse(frames.isFree(address: 0x2_2000))
        XCTAssertTrue(frames.isFree(address: 0x2_3000))
        XCTAssertFalse(frames.isFree(address: 0x8_0000))
        XCTAssertTrue(frames.isFree(address: 0x7_F000))
    }

    func testAddUsableBeyondFrameCountIsClamped() {
        var frames = makeAllocator(frameCount: 10)
        frames.addUsable(range(0, 0x100_0000))
        XCTAssertEqual(frames.freeFrames, 10)
        XCTAssertFalse(frames.isFree(address: 10 * page))
    }

    func testAllocateReturnsLowestFrameFirstAndNeverAReservedOne() {
        var frames = standardAllocator()
        var handedOut: [UInt64] = []
        while let frame = frames.allocate() { handedOut.append(frame) }
        let expected = stride(from: UInt64(0x1_0000), to: 0x10_0000, by: Int(page)).filter { $0 < 0x2_0000 || $0 >= 0x2_3000 }
        XCTAssertEqual(handedOut, expected)
        XCTAssertEqual(handedOut.count, 237)
    }

    func testAllocateBelowHonoursTheLimit() {
        var frames = standardAllocator()
        XCTAssertNil(frames.allocate(below: 0x1_0000))
        XCTAssertNil(frames.allocate(below: 0x1_0FFF), "the whole page must lie below the limit")
        XCTAssertEqual(frames.freeFrames, 237)
        XCTAssertEqual(frames.allocate(below: 0x1_1000), 0x1_0000)
        XCTAssertNil(frames.allocate(below: 0x1_1000))
        XCTAssertEqual(frames.allocate(below: 0x1_3000), 0x1_1000)
        XCTAssertEqual(frames.allocate(below: 0x1_3000), 0x1_2000)
        XCTAssertNil(frames.allocate(below: 0x1_3000))
        XCTAssertEqual(frames.freeFrames, 234)
        // A refusal below a limit does not hide the frames above it.
        XCTAssertEqual(frames.allocate(), 0x1_3000)
    }

    func testExhaustionReturnsNilAndZeroFree() {
        var frames = makeAllocator(frameCount: 70)
        frames.addUsable(range(0, 70 * page))
        for i in 0..<70 { XCTAssertEqual(frames.allocate(), UInt64(i) * page) }
        XCTAssertEqual(frames.freeFrames, 0)
        XCTAssertNil(frames.allocate())
        XCTAssertNil(frames.allocate(below: UInt64.max))
        XCTAssertEqual(frames.freeFrames, 0)
    }

    func testFreeMisaligned() {
        var frames = standardAllocator()
        let frame = frames.allocate()!
        assertThrowsExactly(FrameAllocator.FreeError.misaligned(frame + 1)) {
            try frames.free(frame + 1)
        }
        XCTAssertEqual(frames.freeFrames, 236)
    }

    func testFreeOutOfRange() {
        var frames = standardAllocator()
        _ = frames.allocate()
        assertThrowsExactly(FrameAllocator.FreeError.outOfRange(0x10_0000)) {
            try frames.free(0x10_0000)
        }
        assertThrowsExactly(FrameAllocator.FreeError.outOfRange(0xFFFF_FFFF_FFFF_F000)) {
            try frames.free(0xFFFF_FFFF_FFFF_F000)
        }
        XCTAssertEqual(frames.freeFrames, 236)
    }

    func testFreeReservedFrame() {
        var frames = standardAllocator()
        assertThrowsExactly(FrameAllocator.FreeError.reserved(0x2_1000)) {
            try frames.free(0x2_1000)
        }
        XCTAssertEqual(frames.freeFrames, 237)
        XCTAssertFalse(frames.isFree(address: 0x2_1000))
    }

    func testFreeOfAFrameThatWasNeverUsable() {
        var frames = standardAllocator()   // usable from 64 KiB: 0x8000 is a hole
        let before = frames.freeFrames
        assertThrowsExactly(FrameAllocator.FreeError.notUsable(0x8000)) { try frames.free(0x8000) }
        XCTAssertEqual(frames.freeFrames, before)
        XCTAssertFalse(frames.isFree(address: 0x8000))
    }

    func testFreeTwice() {
        var frames = standardAllocator()
        let frame = frames.allocate()!
        XCTAssertNoThrow(try frames.free(frame))
        XCTAssertEqual(frames.freeFrames, 237)
        assertThrowsExactly(FrameAllocator.FreeError.doubleFree(frame)) {
            try frames.free(frame)
        }
        assertThrowsExactly(FrameAllocator.FreeError.doubleFree(0x5_0000)) {
            try frames.free(0x5_0000)  // free, never handed out
        }
        XCTAssertEqual(frames.freeFrames, 237)
    }

    func testFreedFrameIsReused() {
        var frames = standardAllocator()
        let a = frames.allocate()!, b = frames.allocate()!, c = frames.allocate()!
        XCTAssertEqual([a, b, c], [0x1_0000, 0x1_1000, 0x1_2000])
        XCTAssertNoThrow(try frames.free(b))
        XCTAssertTrue(frames.isFree(address: b))
        XCTAssertEqual(frames.allocate(), b)
        XCTAssertEqual(frames.allocate(), 0x1_3000)
    }

    func testFreeingAfterExhaustionMakesTheFrameAvailable() {
        var frames = makeAllocator(frameCount: 128)
        frames.addUsable(range(0, 128 * page))
        while frames.allocate() != nil {}
        XCTAssertNoThrow(try frames.free(5 * page))
        XCTAssertEqual(frames.freeFrames, 1)
        XCTAssertEqual(frames.allocate(), 5 * page)
        XCTAssertNil(frames.allocate())
    }

    func testAddUsableWithUnalignedRangeFreesOnlyWholeFramesInside() {
        var frames = makeAllocator(frameCount: 64)
        frames.addUsable(range(0x1_0800, 0x1_4800))
        XCTAssertEqual(frames.freeFrames, 3)
        XCTAssertFalse(frames.isFree(address: 0x1_0000))
        XCTAssertTrue(frames.isFree(address: 0x1_1000))
        XCTAssertTrue(frames.isFree(address: 0x1_3000))
        XCTAssertFalse(frames.isFree(address: 0x1_4000))
        // Less than a frame inside: nothing.
        frames.addUsable(range(0x2_0001, 0x2_0FFF))
        frames.addUsable(range(0x3_0800, 0x3_1800))
        XCTAssertEqual(frames.freeFrames, 3)
    }

    func testReserveWithUnalignedRangeTakesEveryTouchedFrame() {
        var frames = makeAllocator(frameCount: 64)
        frames.addUsable(range(0, 64 * page))
        frames.reserve(range(0x1_0FFF, 0x1_2001), reason: "module")
        XCTAssertEqual(frames.freeFrames, 61)
        XCTAssertFalse(frames.isFree(address: 0x1_0000))
        XCTAssertFalse(frames.isFree(address: 0x1_1000))
        XCTAssertFalse(frames.isFree(address: 0x1_2000))
        XCTAssertTrue(frames.isFree(address: 0x1_3000))
        XCTAssertTrue(frames.isFree(address: 0x0_F000))
        XCTAssertEqual(frames.reservations[0].range, range(0x1_0000, 0x1_3000))
        // An empty reservation records nothing.
        frames.reserve(range(0x5_0000, 0x5_0000), reason: "empty")
        XCTAssertEqual(frames.reservations.count, 1)
        XCTAssertEqual(frames.freeFrames, 61)
    }

    func testAllocateContiguousFindsAnAlignedRun() {
        var frames = makeAllocator(frameCount: 64)
        frames.addUsable(range(0, 64 * page))
        frames.reserve(range(1 * page, 2 * page), reason: "hole")
        XCTAssertEqual(frames.allocateContiguous(count: 3), 2 * page)
        XCTAssertEqual(frames.freeFrames, 60)
        XCTAssertEqual(frames.allocateContiguous(count: 2, alignmentFrames: 4), 8 * page)
        XCTAssertEqual(frames.allocateContiguous(count: 64), nil)
        XCTAssertEqual(frames.allocateContiguous(count: 0), nil)
        XCTAssertEqual(frames.freeFrames, 58)
    }

    // MARK: Bitmap placement

    private func map(_ regions: [MemoryRegion]) -> MemoryMap {
        var map = MemoryMap()
        for region in regions { map.add(region) }
        return map
    }

    func testBitmapPlacementTakesTheLowestUsableSpot() {
        let memory = map([MemoryRegion(start: 0x1000, end: 0x9_F000, kind: .usable)])
        XCTAssertEqual(FrameAllocator.bitmapPlacement(frameCount: 100, map: memory, avoid: []), 0x1000)
    }

    func testBitmapPlacementSkipsAvoidedRanges() {
        let memory = map([
            MemoryRegion(start: 0, end: 0x9_FC00, kind: .usable),
            MemoryRegion(start: 0xF_0000, end: 0x10_0000, kind: .reserved),
            MemoryRegion(start: 0x10_0000, end: 0x800_0000, kind: .usable),
        ])
        let avoid = [range(0, 0x10_0000), range(0x20_0000, 0x23_4567), range(0x10_0000, 0x20_0800)]
        // 1 Mi frames: a 128 KiB bitmap; below 1 MiB and the image are out,
        // and the first spot past the avoided ranges is page-rounded.
        XCTAssertEqual(FrameAllocator.bitmapPlacement(frameCount: 1 << 20, map: memory, avoid: avoid), 0x23_5000)
    }

    func testBitmapPlacementIgnoresNonUsableRegionsAndUnalignedEdges() {
        let memory = map([
            MemoryRegion(start: 0, end: 0x10_0000, kind: .reserved),
            MemoryRegion(start: 0x10_0800, end: 0x10_2800, kind: .usable),
            MemoryRegion(start: 0x20_0000, end: 0x30_0000, kind: .acpiNVS),
            MemoryRegion(start: 0x40_0000, end: 0x50_0000, kind: .usable),
        ])
        let frameCount = 64 * 1024  // an 8 KiB bitmap: two pages
        // The first usable region holds [0x101000, 0x102000): one page, too small.
        XCTAssertEqual(FrameAllocator.bitmapPlacement(frameCount: frameCount, map: memory, avoid: []), 0x40_0000)
    }

    func testBitmapPlacementReturnsNilWhenNothingFits() {
        let memory = map([
            MemoryRegion(start: 0x10_0000, end: 0x10_3000, kind: .usable),
            MemoryRegion(start: 0x20_0000, end: 0x40_0000, kind: .reserved),
        ])
        XCTAssertNil(FrameAllocator.bitmapPlacement(frameCount: 1 << 20, map: memory, avoid: []))
        XCTAssertNil(FrameAllocator.bitmapPlacement(frameCount: 64, map: memory, avoid: [range(0x10_0000, 0x10_3000)]))
        XCTAssertNil(FrameAllocator.bitmapPlacement(frameCount: 64, map: MemoryMap(), avoid: []))
    }

    // MARK: Randomized

    /// Thousands of random allocations and frees, checked against a model:
    /// no frame twice, always the lowest free frame, counts in step, bad
    /// frees refused without effect.
    func testRandomOperationsMatchAModel() {
        let frameCount = 300
        var frames = makeAllocator(frameCount: frameCount)
        frames.addUsable(range(0x3000, UInt64(frameCount) * page))
        frames.reserve(range(0x4_0000, 0x4_8000), reason: "image")
        frames.reserve(range(0x10_0800, 0x10_1800), reason: "module")

        var reserved = Set<UInt64>()
        for frame in stride(from: UInt64(0x4_0000), to: 0x4_8000, by: Int(page)) { reserved.insert(frame) }
        reserved.insert(0x10_0000)
        reserved.insert(0x10_1000)
        var free = Set<UInt64>()
        for frame in stride(from: UInt64(0x3000), to: UInt64(frameCount) * page, by: Int(page)) where !reserved.contains(frame) {
            free.insert(frame)
        }
        var allocated = Set<UInt64>()
        var allocatedList: [UInt64] = []
        XCTAssertEqual(frames.freeFrames, free.count)

        var random = SeededRandom(seed: 0x7E24_0001)
        for step in 0..<6000 {
            let choice = random.next() % 10
            if choice < 5 {
                let limit: UInt64 = random.next() % 4 == 0 ? (random.next() % UInt64(frameCount + 10)) * page : UInt64.max
                let expected = free.filter { $0 + page <= limit }.min()
                let got = limit == UInt64.max ? frames.allocate() : frames.allocate(below: limit)
                XCTAssertEqual(got, expected, "step \(step)")
                if let got {
                    XCTAssertFalse(allocated.contains(got), "frame \(got) handed out twice")
                    XCTAssertFalse(reserved.contains(got))
                    free.remove(got)
                    allocated.insert(got)
                    allocatedList.append(got)
                }
            } else if choice < 9, !allocatedList.isEmpty {
                let index = Int(random.next() % UInt64(allocatedList.count))
                let frame = allocatedList.remove(at: index)
                XCTAssertNoThrow(try frames.free(frame))
                allocated.remove(frame)
                free.insert(frame)
            } else {
                let frame = (random.next() % UInt64(frameCount)) * page
                let error: FrameAllocator.FreeError? = reserved.contains(frame) ? .reserved(frame)
                    : free.contains(frame) ? .doubleFree(frame) : nil
                if let error {
                    assertThrowsExactly(error) { try frames.free(frame) }
                }
            }
            XCTAssertEqual(frames.freeFrames, free.count, "step \(step)")
            if frames.freeFrames != free.count { return }
        }
        XCTAssertEqual(allocated.count + free.count, frameCount - 3 - reserved.count)
    }
}
