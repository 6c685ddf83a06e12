import XCTest
@testable import TernCore

/// GuestMemory: guest-physical -> host frames, every access bounded by the
/// guest's size. The guest's frames here are deliberately scattered (in
/// reverse order, with a gap), so a copy that assumed contiguity would
/// land in the wrong place.
final class GuestMemoryTests: XCTestCase {
    static let hostBase: UInt64 = 0x10_0000
    static let page: UInt64 = 4096
    var host: FakeHostMemory!
    var frames: [UInt64] = []
    var memory: GuestMemory<FakeHostMemory>!

    override func setUp() {
        // 8 host frames filled with 0xEE; the guest gets 4 of them:
        // guest frame 0 -> host frame 6, 1 -> 4, 2 -> 2, 3 -> 0.
        host = FakeHostMemory.allocate(base: Self.hostBase, size: 8 * Self.page, fill: 0xEE)
        frames = [6, 4, 2, 0].map { Self.hostBase + $0 * Self.page }
        memory = GuestMemory(frames: frames, host: host)
    }

    override func tearDown() {
        host.deallocate()
        host = nil
        memory = nil
    }

    /// Host address of guest-physical `gpa`, computed independently.
    func hostAddress(_ gpa: UInt64) -> UInt64 { frames[Int(gpa / Self.page)] + gpa % Self.page }

    func hostBytes(_ gpa: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).map { host.byte(at: hostAddress(gpa + UInt64($0))) }
    }

    /// Every host byte, to prove a refused call changed nothing.
    func snapshot() -> [UInt8] { Array(UnsafeRawBufferPointer(start: host.buffer, count: Int(host.size))) }

    func testSize() {
        XCTAssertEqual(memory.size, 16384)
        XCTAssertEqual(GuestMemory(frames: [], host: host).size, 0)
    }

    func testCopyInAcrossPageBoundaryLandsInTheRightHostFrames() {
        let data = testPattern(10)
        XCTAssertTrue(data.withUnsafeBytes { memory.copyToGuest(at: 4090, from: $0) })
        // 6 bytes at the end of host frame 6, 4 at the start of host frame 4.
        for i in 0..<6 { XCTAssertEqual(host.byte(at: Self.hostBase + 6 * Self.page + 4090 + UInt64(i)), data[i]) }
        for i in 0..<4 { XCTAssertEqual(host.byte(at: Self.hostBase + 4 * Self.page + UInt64(i)), data[6 + i]) }
        // Neighbours untouched.
        XCTAssertEqual(host.byte(at: Self.hostBase + 6 * Self.page + 4089), 0xEE)
        XCTAssertEqual(host.byte(at: Self.hostBase + 4 * Self.page + 4), 0xEE)
        XCTAssertEqual(host.byte(at: Self.hostBase + 7 * Self.page), 0xEE)   // the frame after 6
        XCTAssertEqual(host.byte(at: Self.hostBase + 5 * Self.page), 0xEE)   // the frame before 4
    }

    func testCopyInOfAllGuestMemory() {
        let data = testPattern(16384, seed: 3)
        XCTAssertTrue(data.withUnsafeBytes { memory.copyToGuest(at: 0, from: $0) })
        for gfn in 0..<4 {
            let hostFrame = frames[gfn]
            for i in stride(from: 0, to: 4096, by: 97) {
                XCTAssertEqual(host.byte(at: hostFrame + UInt64(i)), data[gfn * 4096 + i])
            }
            XCTAssertEqual(host.byte(at: hostFrame + 4095), data[gfn * 4096 + 4095])
        }
        // The host frames that are not the guest's are untouched.
        for hostFrame in [1, 3, 5, 7] as [UInt64] {
            let start = Self.hostBase + hostFrame * Self.page
            XCTAssertTrue((0..<4096).allSatisfy { host.byte(at: start + UInt64($0)) == 0xEE })
        }
    }

    func testCopyOutAcrossPageBoundaries() {
        // Write through the host, read back through the guest's view.
        let data = testPattern(3 * 4096 + 100, seed: 9)
        for (i, byte) in data.enumerated() { host.setByte(byte, at: hostAddress(50 + UInt64(i))) }
        var out = [UInt8](repeating: 0, count: data.count)
        XCTAssertTrue(out.withUnsafeMutableBytes { memory.copyFromGuest(at: 50, into: $0) })
        XCTAssertEqual(out, data)
        // A short read straddling frames 2|3.
        var small = [UInt8](repeating: 0, count: 8)
        XCTAssertTrue(small.withUnsafeMutableBytes { memory.copyFromGuest(at: 2 * 4096 - 4, into: $0) })
        XCTAssertEqual(small, hostBytes(2 * 4096 - 4, 8))
    }

    func testCopyRoundTrip() {
        let data = testPattern(5000, seed: 5)
        XCTAssertTrue(data.withUnsafeBytes { memory.copyToGuest(at: 7000, from: $0) })
        var out = [UInt8](repeating: 0, count: 5000)
        XCTAssertTrue(out.withUnsafeMutableBytes { memory.copyFromGuest(at: 7000, into: $0) })
        XCTAssertEqual(out, data)
        XCTAssertEqual(hostBytes(7000, 5000), data)
    }

    func testZeroLengthCopiesSucceedAnywhereInside() {
        let empty: [UInt8] = []
        XCTAssertTrue(empty.withUnsafeBytes { memory.copyToGuest(at: 0, from: $0) })
        XCTAssertTrue(empty.withUnsafeBytes { memory.copyToGuest(at: 16384, from: $0) })
        XCTAssertFalse(empty.withUnsafeBytes { memory.copyToGuest(at: 16385, from: $0) })
    }

    // MARK: Bounds

    func testContains() {
        XCTAssertTrue(memory.contains(0, count: 16384))          // all of it
        XCTAssertTrue(memory.contains(16383, count: 1))          // last byte
        XCTAssertTrue(memory.contains(16384, count: 0))          // empty, at the end
        XCTAssertTrue(memory.contains(4000, count: 12384))       // ends exactly at the end
        XCTAssertFalse(memory.contains(4000, count: 12385))      // one past
        XCTAssertFalse(memory.contains(16383, count: 2))
        XCTAssertFalse(memory.contains(16384, count: 1))
        XCTAssertFalse(memory.contains(0, count: 16385))
        XCTAssertFalse(memory.contains(1 << 40, count: 0))
    }

    func testContainsRejectsWrapAround() {
        XCTAssertFalse(memory.contains(UInt64.max, count: 1))
        XCTAssertFalse(memory.contains(UInt64.max, count: 2))            // end wraps to 0
        XCTAssertFalse(memory.contains(UInt64.max - 10, count: 20))      // end wraps to 9
        XCTAssertFalse(memory.contains(UInt64.max - 4095, count: 4096))  // end is exactly 2^64
        XCTAssertFalse(memory.contains(1, count: UInt64.max))            // end wraps to 0
        XCTAssertFalse(memory.contains(16, count: UInt64.max - 15))      // end wraps to 0
        XCTAssertFalse(memory.contains(0, count: UInt64.max))
    }

    func testRefusedCopiesChangeNothing() {
        let before = snapshot()
        let data = testPattern(64)
        for gpa in [16384 - 63, 16384, UInt64.max - 31, UInt64.max] as [UInt64] {
            XCTAssertFalse(data.withUnsafeBytes { memory.copyToGuest(at: gpa, from: $0) }, "gpa \(gpa)")
            XCTAssertFalse(memory.zero(at: gpa, count: 64), "gpa \(gpa)")
        }
        XCTAssertFalse(memory.zero(at: 8, count: UInt64.max - 4))   // wraps
        XCTAssertEqual(snapshot(), before)
        var out = [UInt8](repeating: 0x55, count: 64)
        XCTAssertFalse(out.withUnsafeMutableBytes { memory.copyFromGuest(at: 16384 - 32, into: $0) })
        XCTAssertFalse(out.withUnsafeMutableBytes { memory.copyFromGuest(at: UInt64.max - 8, into: $0) })
    }

    func testBytesStayWithinOnePage() {
        XCTAssertNil(memory.bytes(at: 4095, count: 2))           // crosses 0|1
        XCTAssertNil(memory.bytes(at: 100, count: 4097))
        XCTAssertNil(memory.mutableBytes(at: 3 * 4096 + 1, count: 4096))
        XCTAssertNil(memory.bytes(at: 0, count: -1))
        XCTAssertNil(memory.bytes(at: 16384, count: 1))
        XCTAssertNil(memory.bytes(at: UInt64.max, count: 1))
        // A whole page, and a last byte: the right host addresses.
        let page1 = memory.bytes(at: 4096, count: 4096)
        XCTAssertEqual(page1?.count, 4096)
        XCTAssertEqual(page1?.baseAddress, UnsafeRawPointer(host.buffer + Int(frames[1] - Self.hostBase)))
        let last = memory.mutableBytes(at: 16383, count: 1)
        XCTAssertEqual(last.map { UnsafeRawPointer($0.baseAddress!) },
                       UnsafeRawPointer(host.buffer + Int(frames[3] - Self.hostBase) + 4095))
        last?[0] = 0x42
        XCTAssertEqual(host.byte(at: Self.hostBase + 4095), 0x42)   // guest frame 3 is host frame 0
    }

    func testEmptyAccessAtTheEndIsNotATrap() {
        // [size, size) is inside by `contains`, but no frame backs it: it
        // must be refused (or empty), never index past `frames`.
        XCTAssertNil(memory.bytes(at: 16384, count: 0))
        XCTAssertNil(memory.mutableBytes(at: 16384, count: 0))
        XCTAssertNil(GuestMemory(frames: [], host: host).bytes(at: 0, count: 0))
        // Inside, an empty access is fine.
        XCTAssertEqual(memory.bytes(at: 4096, count: 0)?.count, 0)
    }

    func testUnreachableHostFrameIsAnErrorNotATrap() {
        // A frame list naming a host frame the window cannot reach.
        let bad = GuestMemory(frames: [frames[0], 0xDEAD_0000], host: host)
        XCTAssertNotNil(bad.bytes(at: 0, count: 4096))
        XCTAssertNil(bad.bytes(at: 4096, count: 1))
        let data = testPattern(100)
        XCTAssertFalse(data.withUnsafeBytes { bad.copyToGuest(at: 4050, from: $0) })
        XCTAssertFalse(bad.zero(at: 4096, count: 1))
    }

    // MARK: zero

    func testZeroAcrossPagesTouchesOnlyTheRange() {
        XCTAssertTrue(memory.zero(at: 4000, count: 200))
        XCTAssertEqual(hostBytes(4000, 200), [UInt8](repeating: 0, count: 200))
        XCTAssertEqual(hostBytes(3999, 1), [0xEE])
        XCTAssertEqual(hostBytes(4200, 1), [0xEE])
        // In host terms: end of host frame 6 and start of host frame 4.
        XCTAssertEqual(host.byte(at: Self.hostBase + 6 * Self.page + 4000), 0)
        XCTAssertEqual(host.byte(at: Self.hostBase + 4 * Self.page + 103), 0)
        XCTAssertEqual(host.byte(at: Self.hostBase + 4 * Self.page + 104), 0xEE)
    }

    func testZeroAll() {
        XCTAssertTrue(memory.zero(at: 0, count: 16384))
        XCTAssertEqual(hostBytes(0, 16384), [UInt8](repeating: 0, count: 16384))
        XCTAssertEqual(host.byte(at: Self.hostBase + 1 * Self.page), 0xEE)   // not the guest's
        XCTAssertTrue(memory.zero(at: 16384, count: 0))
    }

    // MARK: Extents (runs of contiguous host frames)

    func testExtentsMapGuestFramesInOrder() {
        // Guest frames 0-1 in host frames 6-7, guest frame 2 in host frame 0;
        // an empty extent in between counts for nothing.
        let m = GuestMemory(extents: [MemoryExtent(hostBase: Self.hostBase + 6 * Self.page, frames: 2),
                                      MemoryExtent(hostBase: Self.hostBase + 3 * Self.page, frames: 0),
                                      MemoryExtent(hostBase: Self.hostBase, frames: 1)], host: host)
        XCTAssertEqual(m.frameCount, 3)
        XCTAssertEqual(m.size, 3 * 4096)
        XCTAssertEqual(m.hostAddress(of: 0 * 4096), Self.hostBase + 6 * Self.page)
        XCTAssertEqual(m.hostAddress(of: 1 * 4096), Self.hostBase + 7 * Self.page)
        XCTAssertEqual(m.hostAddress(of: 2 * 4096), Self.hostBase)
        // A copy across both boundaries (inside the run, then to the next run).
        let data = testPattern(4096 + 200, seed: 11)
        XCTAssertTrue(data.withUnsafeBytes { m.copyToGuest(at: 4096 - 100, from: $0) })
        for (i, byte) in data.enumerated() {
            let gpa = 4096 - 100 + UInt64(i)
            let hostFrame: UInt64 = gpa < 8192 ? 6 + gpa / 4096 : 0
            XCTAssertEqual(host.byte(at: Self.hostBase + hostFrame * Self.page + gpa % 4096), byte, "gpa \(gpa)")
        }
        XCTAssertEqual(host.byte(at: Self.hostBase + 3 * Self.page), 0xEE)   // the empty extent's frame
        XCTAssertFalse(m.contains(3 * 4096, count: 1))
        XCTAssertNil(m.bytes(at: 3 * 4096, count: 0))
    }

    func testDomainMemoryRunsMerge() {
        let d = Domain(id: 1, name: Array("d".utf8), privileged: false)
        d.addMemoryFrame(0x10_0000)
        d.addMemoryFrame(0x10_1000)                       // continues the run
        d.addMemory(hostBase: 0x10_2000, frames: 3)       // so does this
        d.addMemoryFrame(0x20_0000)                       // a new run
        d.addMemoryFrame(0x10_5000)                       // not merged backwards
        XCTAssertEqual(d.memoryExtents, [MemoryExtent(hostBase: 0x10_0000, frames: 5),
                                         MemoryExtent(hostBase: 0x20_0000, frames: 1),
                                         MemoryExtent(hostBase: 0x10_5000, frames: 1)])
        XCTAssertEqual(d.memoryFrameCount, 7)
        XCTAssertEqual(d.memoryBytes, 7 * 4096)
        XCTAssertEqual(d.memoryFrames, [0x10_0000, 0x10_1000, 0x10_2000, 0x10_3000, 0x10_4000, 0x20_0000, 0x10_5000])
        // The domain's view and the one-frame-per-extent view agree.
        let a = GuestMemory(of: d, host: host), b = GuestMemory(frames: d.memoryFrames, host: host)
        XCTAssertEqual(a.size, b.size)
        for gfn in 0..<7 { XCTAssertEqual(a.hostAddress(of: UInt64(gfn) * 4096), b.hostAddress(of: UInt64(gfn) * 4096)) }
        XCTAssertNil(a.hostAddress(of: 7 * 4096))
        let taken = d.takeAllFrames()
        XCTAssertEqual(taken.memory.count, 3)
        XCTAssertEqual(d.memoryFrameCount, 0)
        XCTAssertEqual(d.memoryExtents, [])
    }

    /// Dom0-style memory: identity runs with a hole between them.
    func testIdentityExtentsWithAHole() {
        let d = Domain(id: 0, name: Array("dom0".utf8), privileged: true)
        d.addMemory(hostBase: Self.hostBase, frames: 2, identity: true)
        d.addMemory(hostBase: Self.hostBase + 5 * Self.page, frames: 2, identity: true)
        let m = GuestMemory(of: d, host: host)
        XCTAssertEqual(m.hostAddress(of: Self.hostBase + 10), Self.hostBase + 10)
        XCTAssertEqual(m.hostAddress(of: Self.hostBase + 5 * Self.page), Self.hostBase + 5 * Self.page)
        XCTAssertNil(m.hostAddress(of: Self.hostBase + 3 * Self.page), "the hole is not Dom0's")
        XCTAssertNil(m.hostAddress(of: 0))
        XCTAssertTrue(m.contains(Self.hostBase, count: 2 * Self.page))
        XCTAssertFalse(m.contains(Self.hostBase, count: 3 * Self.page), "a range into the hole")
        XCTAssertFalse(m.contains(Self.hostBase + 4 * Self.page, count: 2 * Self.page))
        XCTAssertTrue(m.contains(Self.hostBase + 5 * Self.page, count: 2 * Self.page))
        XCTAssertEqual(m.size, Self.hostBase + 7 * Self.page)
    }
}
