import XCTest
import TernABI
@testable import TernCore

/// Dom0 support: module roles, dom0_mem=, moving modules (allocator),
/// and the memory map Dom0's Linux is given.
final class Dom0SupportTests: XCTestCase {
    private var bitmaps: [UnsafeMutablePointer<UInt64>] = []
    override func tearDown() {
        for b in bitmaps { b.deallocate() }
        bitmaps = []
        super.tearDown()
    }

    private func allocator(frames: Int, usable: PhysicalRange) -> FrameAllocator {
        let words = max(1, FrameAllocator.bitmapBytes(frameCount: frames) / 8)
        let bitmap = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        bitmaps.append(bitmap)
        var a = FrameAllocator(bitmap: bitmap, frameCount: frames)
        a.addUsable(usable)
        return a
    }

    func testModuleRoles() {
        func role(_ line: String) -> ModuleOptions.Role {
            Array(line.utf8).withUnsafeBytes { ModuleOptions(parsing: $0).role }
        }
        XCTAssertEqual(role("/boot/vmlinux role=dom0 -- console=ttyS0"), .dom0Kernel)
        XCTAssertEqual(role("/boot/initrd role=dom0-initrd"), .dom0Initrd)
        XCTAssertEqual(role("/guests/hello.elf"), .guest)
        let bad = Array("x role=king".utf8).withUnsafeBytes { ModuleOptions(parsing: $0) }
        XCTAssertEqual(bad.problems, [BootOptions.Problem(kind: .badValue, offset: 2, length: 9)])
    }

    func testDom0MemoryOption() {
        func parse(_ line: String) -> BootOptions { Array(line.utf8).withUnsafeBytes { BootOptions(parsing: $0) } }
        XCTAssertEqual(parse("tern dom0_mem=1G").dom0Memory, 1 << 30)
        XCTAssertEqual(parse("tern").dom0Memory, 512 << 20)
        XCTAssertEqual(parse("tern dom0_mem=lots").problems.count, 1)
        XCTAssertEqual(parse("tern dom0_mem=4097").problems.count, 1, "not a whole number of pages")
    }

    func testAllocateFromTopAndUnreserve() {
        var a = allocator(frames: 64, usable: PhysicalRange(start: 0, end: 64 * 4096))
        a.reserve(PhysicalRange(start: 8 * 4096, end: 12 * 4096), reason: "boot module")
        XCTAssertEqual(a.freeFrames, 60)
        XCTAssertEqual(a.allocateContiguousFromTop(count: 4), 60 * 4096)
        XCTAssertEqual(a.allocateContiguousFromTop(count: 4), 56 * 4096)
        XCTAssertEqual(a.freeFrames, 52)
        XCTAssertTrue(a.unreserve(PhysicalRange(start: 8 * 4096, end: 12 * 4096)))
        XCTAssertEqual(a.freeFrames, 56)
        XCTAssertTrue(a.isFree(address: 9 * 4096))
        XCTAssertFalse(a.unreserve(PhysicalRange(start: 8 * 4096, end: 12 * 4096)), "no longer reserved")
        XCTAssertNil(a.allocateContiguousFromTop(count: 100))
    }

    func testUnreserveKeepsOtherReservationsAndHoles() {
        var a = allocator(frames: 64, usable: PhysicalRange(start: 16 * 4096, end: 64 * 4096))
        a.reserve(PhysicalRange(start: 10 * 4096, end: 20 * 4096), reason: "module")
        a.reserve(PhysicalRange(start: 18 * 4096, end: 19 * 4096), reason: "image")
        XCTAssertTrue(a.unreserve(PhysicalRange(start: 10 * 4096, end: 20 * 4096)))
        XCTAssertFalse(a.isFree(address: 12 * 4096), "below the usable RAM: stays out")
        XCTAssertTrue(a.isFree(address: 16 * 4096))
        XCTAssertFalse(a.isFree(address: 18 * 4096), "still reserved by the other reservation")
        XCTAssertTrue(a.isFree(address: 19 * 4096))
    }

    func testDom0MemoryMap() {
        let dom0 = Domain(id: 0, name: Array("dom0".utf8), privileged: true)
        dom0.addMemory(hostBase: 0x40_0000, frames: 0x400, identity: true)       // 4 MiB - 8 MiB
        dom0.addMemory(hostBase: 0x100_0000, frames: 0x800, identity: true)      // 16 MiB - 24 MiB
        var host = MemoryMap()
        host.add(MemoryRegion(start: 0, end: 0x9_FC00, kind: .usable))
        host.add(MemoryRegion(start: 0x9_FC00, end: 0xA_0000, kind: .reserved))
        host.add(MemoryRegion(start: 0x10_0000, end: 0x2000_0000, kind: .usable))
        host.add(MemoryRegion(start: 0x2000_0000, end: 0x2001_0000, kind: .acpiReclaimable))
        let map = Dom0Builder.memoryMap(dom0, hostMap: host.normalized())
        let expected: [PVHStartInfo.MapEntry] = [
            .init(address: 0, size: 0x9_FC00, type: .ram),
            .init(address: 0x9_FC00, size: 0x400, type: .reserved),
            // (a hole from 640 KiB to 1 MiB, as in the host's map)
            .init(address: 0x10_0000, size: 0x30_0000, type: .reserved),              // Tern's memory
            .init(address: 0x40_0000, size: 0x40_0000, type: .ram),
            .init(address: 0x80_0000, size: 0x80_0000, type: .reserved),               // not Dom0's
            .init(address: 0x100_0000, size: 0x80_0000, type: .ram),
            .init(address: 0x180_0000, size: 0x2000_0000 - 0x180_0000, type: .reserved),
            .init(address: 0x2000_0000, size: 0x1_0000, type: .acpi),
        ]
        XCTAssertEqual(map, expected)
    }
}

/// The 256-vector set: a vCPU's pending device vectors, a LAPIC's IRR/ISR/TMR.
final class VectorSetTests: XCTestCase {
    func testHighestFirstAndEmpty() {
        var set = VectorSet()
        XCTAssertTrue(set.isEmpty)
        for v: UInt8 in [0x30, 0xF3, 0x34, 0x41, 0x80, 0x00] { set.insert(v) }
        set.insert(0x34)   // twice is once
        XCTAssertFalse(set.isEmpty)
        var order: [UInt8] = []
        while let v = set.popHighest() { order.append(v) }
        XCTAssertEqual(order, [0xF3, 0x80, 0x41, 0x34, 0x30, 0x00])
        XCTAssertTrue(set.isEmpty)
    }

    func testContainsRemoveAndTheLAPICsRegisters() {
        var set = VectorSet()
        for v: UInt8 in [0x00, 0x1F, 0x20, 0x3F, 0x40, 0xFF] { set.insert(v) }
        XCTAssertTrue(set.contains(0x3F))
        XCTAssertFalse(set.contains(0x3E))
        XCTAssertEqual(set.register(0), 0x8000_0001, "vectors 0-31")
        XCTAssertEqual(set.register(1), 0x8000_0001, "vectors 32-63")
        XCTAssertEqual(set.register(2), 1, "vectors 64-95")
        XCTAssertEqual(set.register(7), 0x8000_0000, "vectors 224-255")
        XCTAssertEqual(set.highest, 0xFF)
        set.remove(0xFF)
        set.remove(0xFE)   // absent: nothing
        XCTAssertEqual(set.highest, 0x40)
        XCTAssertEqual(set.register(7), 0)
    }

    func testAReadyInterruptControllerWakesAVCPU() {
        let vcpu = VCPU(domainID: 0, index: 0)
        XCTAssertFalse(vcpu.hasPendingEvent)
        vcpu.interruptControllerReady = true
        XCTAssertTrue(vcpu.hasPendingEvent)
        vcpu.interruptControllerReady = false
        vcpu.upcallPending = true
        XCTAssertTrue(vcpu.hasPendingEvent)
    }

    /// Interrupts from the 8259 (ExtINT) wait in a set, each taken once,
    /// highest first, whether or not the LAPIC is enabled (the 8259 mode a
    /// Linux boots in); two lines up at once are both delivered.
    func testThe8259sInterruptsQueueInTheVirtualLAPIC() {
        var lapic = VirtualLAPIC()
        XCTAssertFalse(lapic.isEnabled)
        lapic.acceptExternal(0x30)
        lapic.acceptExternal(0x34)
        XCTAssertEqual(lapic.deliverable, 0x34)
        lapic.acknowledge(0x34)
        XCTAssertEqual(lapic.deliverable, 0x30, "the other line was not lost")
        lapic.acknowledge(0x30)
        XCTAssertNil(lapic.deliverable)
        XCTAssertTrue(lapic.isr.isEmpty, "never in service")
    }
}
