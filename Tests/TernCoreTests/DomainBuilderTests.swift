import XCTest
import TernABI
@testable import TernCore

/// DomainBuilder: a PV domain from an ELF image, over a fake host. Checks
/// what the guest finds at its first instruction (image, bss, start-info
/// page, GDT, identity map), the nested table, and that every failure
/// hands back every frame it took.
final class DomainBuilderTests: XCTestCase {
    static let fourMiB: UInt64 = 4 << 20
    static let imageBytes = testPattern(5000, seed: 7)   // crosses a page
    static let bss: UInt64 = 0x2000

    var machine: FakeHostMachine!

    override func setUp() {
        // 16 MiB at 1 MiB, filled with junk: the builder must zero what the guest sees.
        machine = FakeHostMachine(base: 0x10_0000, size: 16 << 20, fill: 0xCC)
    }

    override func tearDown() { machine = nil }

    func image(_ builder: ELFTestBuilder = .simple(payload: imageBytes, bss: bss)) -> [UInt8] { builder.bytes() }

    func build(_ domain: Domain, memory: UInt64 = fourMiB, image file: [UInt8]? = nil, commandLine: [UInt8] = Array("count=5 verbose".utf8),
               on machine: FakeHostMachine? = nil) -> Result<DomainBuilder.StartState, DomainBuilder.Error> {
        let m = machine ?? self.machine!
        let file = file ?? image()
        return file.withUnsafeBytes { img in
            commandLine.withUnsafeBytes { line in
                do throws(DomainBuilder.Error) {
                    return .success(try DomainBuilder.build(domain: domain, memoryBytes: memory, image: img, commandLine: line,
                                                            host: m.memory, frames: &m.frames))
                } catch {
                    return .failure(error)
                }
            }
        }
    }

    /// A machine with no free, aligned 2 MiB run: the first frame of every
    /// 2 MiB is reserved, so guest memory comes frame by frame in short
    /// runs and the nested table needs 4 KiB pages.
    func fragmentedMachine(base: UInt64 = 0x10_0000, size: UInt64 = 16 << 20, usableBytes: UInt64? = nil) -> FakeHostMachine {
        let m = FakeHostMachine(base: base, size: size, usableBytes: usableBytes, fill: 0xCC)
        var at = base.roundedUp(to: 2 << 20)
        while at < base + (usableBytes ?? size) {
            m.frames.reserve(PhysicalRange(start: at, end: at + 4096), reason: "test: break up 2 MiB runs")
            at += 2 << 20
        }
        return m
    }

    func newDomain(id: UInt16 = 3) -> Domain { Domain(id: id, name: Array("hello".utf8), privileged: false) }

    func guestMemory(_ domain: Domain, on m: FakeHostMachine? = nil) -> GuestMemory<FakeHostMemory> {
        GuestMemory(frames: domain.memoryFrames, host: (m ?? machine).memory)
    }

    func read(_ memory: GuestMemory<FakeHostMemory>, _ gpa: UInt64, _ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: count)
        XCTAssertTrue(out.withUnsafeMutableBytes { memory.copyFromGuest(at: gpa, into: $0) })
        return out
    }

    func startInfo(_ memory: GuestMemory<FakeHostMemory>, at gpa: UInt64) -> tern_start_info {
        var info = tern_start_info()
        XCTAssertTrue(withUnsafeMutableBytes(of: &info) { memory.copyFromGuest(at: gpa, into: $0) })
        return info
    }

    /// Every frame of the machine free/used exactly as in `expected`.
    func assertAllocatorUnchanged(_ expected: [Bool], freeFrames: Int, _ m: FakeHostMachine? = nil,
                                  file: StaticString = #filePath, line: UInt = #line) {
        let m = m ?? machine!
        XCTAssertEqual(m.frames.freeFrames, freeFrames, "free frame count", file: file, line: line)
        XCTAssertEqual(freeMap(m), expected, "free frame map", file: file, line: line)
    }

    func freeMap(_ m: FakeHostMachine? = nil) -> [Bool] {
        let m = m ?? machine!
        return (0..<m.frames.frameCount).map { m.frames.isFree(address: UInt64($0) << 12) }
    }

    // MARK: A good build

    func testStartState() throws {
        let start = try build(newDomain()).get()
        let layout = GuestLayout(memoryBytes: Self.fourMiB)!
        XCTAssertEqual(start.entry, 0x10_0000)
        XCTAssertEqual(start.stackTop, layout.stackTop)
        XCTAssertEqual(start.stackTop, 0x3F_E000)
        XCTAssertEqual(start.startInfo, Self.fourMiB - 4096)
        XCTAssertEqual(start.gdtBase, 0x3F_E000)
        XCTAssertEqual(start.gdtLimit, 23)
        // The identity map's PML4 is the first page below the stack, the
        // event page, the grant table and the 8 device control pages.
        XCTAssertEqual(start.pageTableRoot, 0x3E_F000)
        XCTAssertEqual(start.pageTableRoot, layout.pageTablesTop - 4096)
        XCTAssertEqual(layout.eventPage, 0x3F_9000)
        XCTAssertEqual(layout.grantTable, 0x3F_8000)
        XCTAssertEqual(layout.controlPages, 0x3F_0000)
    }

    func testFrameAccounting() throws {
        let before = machine.frames.freeFrames
        XCTAssertEqual(before, 4096)
        let domain = newDomain()
        _ = try build(domain).get()
        XCTAssertEqual(domain.memoryFrames.count, 1024)
        XCTAssertEqual(domain.memoryBytes, Self.fourMiB)
        // Guest memory comes in aligned 2 MiB runs of host frames (the host
        // has them free: 0x200000 and 0x400000), so the nested table is
        // root + PDPT + PD with two 2 MiB leaves; Tern's area above adds
        // the device page and the page table of its 4 KiB leaves.
        for chunk in 0..<2 {
            let first = domain.memoryFrames[chunk * 512]
            XCTAssertEqual(first % (2 << 20), 0)
            for i in 0..<512 { XCTAssertEqual(domain.memoryFrames[chunk * 512 + i], first + UInt64(i) * 4096) }
        }
        XCTAssertEqual(domain.overheadFrames.count, 5)
        // The two runs are adjacent: one extent.
        XCTAssertEqual(domain.memoryExtents, [MemoryExtent(hostBase: 0x20_0000, frames: 1024)])
        XCTAssertEqual(domain.memoryFrameCount, 1024)
        XCTAssertEqual(domain.nestedRoot, domain.overheadFrames[0])
        XCTAssertEqual(machine.frames.freeFrames, before - 1024 - domain.overheadFrames.count)
        // Every frame is distinct, inside the host, and now in use.
        let all = domain.memoryFrames + domain.overheadFrames
        XCTAssertEqual(Set(all).count, all.count)
        for frame in all {
            XCTAssertEqual(frame % 4096, 0)
            XCTAssertNotNil(machine.memory.bytes(at: frame, count: 4096))
            XCTAssertFalse(machine.frames.isFree(address: frame))
        }
    }

    func testImageBytesAndZeroedBSS() throws {
        let domain = newDomain()
        _ = try build(domain).get()
        let memory = guestMemory(domain)
        XCTAssertEqual(read(memory, 0x10_0000, Self.imageBytes.count), Self.imageBytes)
        XCTAssertEqual(read(memory, 0x10_0000 + UInt64(Self.imageBytes.count), Int(Self.bss)),
                       [UInt8](repeating: 0, count: Int(Self.bss)))
        // Nothing of the host's old contents shows anywhere else either.
        XCTAssertEqual(read(memory, 0, 0x10_0000), [UInt8](repeating: 0, count: 0x10_0000))
        XCTAssertEqual(read(memory, 0x20_0000, 0x1E_D000), [UInt8](repeating: 0, count: 0x1E_D000))
    }

    func testStartInfoPage() throws {
        let domain = newDomain(id: 3)
        let start = try build(domain).get()
        let info = startInfo(guestMemory(domain), at: start.startInfo)
        XCTAssertEqual(info.magic, TERN_START_INFO_MAGIC)
        XCTAssertEqual(info.magic, 0x5452_5453_4952_4554)
        XCTAssertEqual(info.abi_version, UInt32(TERN_ABI_VERSION))
        XCTAssertEqual(info.domid, 3)
        XCTAssertEqual(info.memory_bytes, Self.fourMiB)
        XCTAssertEqual(info.page_tables_gpa, 0x3E_D000)
        XCTAssertEqual(info.page_tables_size, 3 * 4096)
        // Image ends at 0x100000 + 5000 + 0x2000 = 0x103388: next page.
        XCTAssertEqual(info.free_gpa, 0x10_4000)
        XCTAssertEqual(info.console, UInt32(TERN_CONSOLE_HYPERCALL | TERN_CONSOLE_DEVICE))
        XCTAssertEqual(info.shared.event_page_gpa, 0x3F_9000)
        XCTAssertEqual(info.shared.grant_table_gpa, 0x3F_8000)
        XCTAssertEqual(info.shared.grant_entries, 512)
        XCTAssertEqual(info.shared.control_pages_gpa, 0x3F_0000)
        XCTAssertEqual(info.shared.device_page_gpa, Self.fourMiB)
        XCTAssertEqual(info.shared.grant_window_gpa, Self.fourMiB + 4096)
        XCTAssertEqual(info.shared.grant_window_frames, 511)
        XCTAssertEqual(info.reserved2.0 | info.reserved2.1, 0)
        XCTAssertEqual(info.reserved0, 0)
        XCTAssertEqual(info.reserved1, 0)
        let cmdline = withUnsafeBytes(of: info.cmdline) { Array($0) }
        XCTAssertEqual(Array(cmdline.prefix(16)), Array("count=5 verbose".utf8) + [0])
        XCTAssertTrue(cmdline.allSatisfy { $0 != 0xCC })
        // The bytes after the struct in that page are zero too.
        XCTAssertEqual(read(guestMemory(domain), start.startInfo + 320, 4096 - 320), [UInt8](repeating: 0, count: 4096 - 320))
    }

    func testLongCommandLineIsCutAndTerminated() throws {
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 300)
        let domain = newDomain()
        let start = try build(domain, commandLine: long).get()
        let info = startInfo(guestMemory(domain), at: start.startInfo)
        let cmdline = withUnsafeBytes(of: info.cmdline) { Array($0) }
        XCTAssertEqual(cmdline.count, 192)
        XCTAssertEqual(Array(cmdline.prefix(191)), [UInt8](repeating: UInt8(ascii: "x"), count: 191))
        XCTAssertEqual(cmdline[191], 0)
    }

    func testEmptyCommandLine() throws {
        let domain = newDomain()
        let start = try build(domain, commandLine: []).get()
        let info = startInfo(guestMemory(domain), at: start.startInfo)
        XCTAssertTrue(withUnsafeBytes(of: info.cmdline) { $0.allSatisfy { $0 == 0 } })
    }

    func testGuestGDT() throws {
        let domain = newDomain()
        let start = try build(domain).get()
        let memory = guestMemory(domain)
        let bytes = read(memory, start.gdtBase, 24)
        let entries = (0..<3).map { i in (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i * 8 + $1]) << (8 * UInt64($1)) } }
        XCTAssertEqual(entries, [0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF])
        XCTAssertEqual(entries, [0, Descriptors.code64, Descriptors.data])
        XCTAssertEqual(read(memory, start.gdtBase + 24, 4096 - 24), [UInt8](repeating: 0, count: 4096 - 24))
    }

    func testGuestIdentityMapWith2MiBPages() throws {
        let domain = newDomain()
        let start = try build(domain).get()
        let memory = guestMemory(domain)
        for x: UInt64 in [0, 1, 0xFFF, 0x10_0000, 0x12_3456, 0x1F_FFFF, 0x20_0000, 0x3F_9000, 0x3F_FFFF] {
            let t = PageTable.translate(root: start.pageTableRoot, virtual: x, memory: memory)
            XCTAssertEqual(t?.physical, x, "x = \(x)")
            XCTAssertEqual(t?.pageSize, 2 << 20, "x = \(x)")
            XCTAssertEqual(t.map { $0.flags.intersection(.permissionMask) }, [.present, .writable], "x = \(x)")
            XCTAssertEqual(t.map { $0.flags.contains(.largePage) }, true)
        }
        // Tern's area (device page, grant window) is mapped too; nothing above.
        XCTAssertEqual(PageTable.translate(root: start.pageTableRoot, virtual: Self.fourMiB + 0x1234, memory: memory)?.physical,
                       Self.fourMiB + 0x1234)
        XCTAssertNil(PageTable.translate(root: start.pageTableRoot, virtual: Self.fourMiB + (2 << 20), memory: memory))
        XCTAssertNil(PageTable.translate(root: start.pageTableRoot, virtual: 1 << 30, memory: memory))
        // The tables themselves are where start-info says.
        let info = startInfo(memory, at: start.startInfo)
        XCTAssertGreaterThanOrEqual(start.pageTableRoot, info.page_tables_gpa)
        XCTAssertLessThan(start.pageTableRoot, info.page_tables_gpa + info.page_tables_size)
    }

    func assertNestedMap(_ domain: Domain, on m: FakeHostMachine, pageSize: UInt64,
                         file: StaticString = #filePath, line: UInt = #line) {
        let host = m.memory
        for gpa: UInt64 in [0, 1, 4095, 4096, 0x10_0000, 0x12_3456, 0x1F_FFFF, 0x20_0000, 0x3F_F000, 0x3F_FFFF] {
            let t = PageTable.translate(root: domain.nestedRoot, virtual: gpa, memory: host)
            XCTAssertEqual(t?.physical, domain.memoryFrames[Int(gpa / 4096)] + gpa % 4096, "gpa \(gpa)", file: file, line: line)
            XCTAssertEqual(t?.pageSize, pageSize, "gpa \(gpa)", file: file, line: line)
            XCTAssertEqual(t.map { $0.flags.intersection(.permissionMask) }, [.present, .writable, .user], "gpa \(gpa)",
                           file: file, line: line)
        }
        // Every guest frame, by its first byte.
        for gfn in 0..<domain.memoryFrames.count {
            let t = PageTable.translate(root: domain.nestedRoot, virtual: UInt64(gfn) * 4096, memory: host)
            if t?.physical != domain.memoryFrames[gfn] {
                XCTFail("gfn \(gfn) maps to \(String(describing: t?.physical))", file: file, line: line)
                break
            }
        }
        // Above guest memory: the device page, read-only; the grant window, empty.
        let device = PageTable.translate(root: domain.nestedRoot, virtual: Self.fourMiB, memory: host)
        XCTAssertEqual(device?.flags.intersection(.permissionMask), [.present, .user], file: file, line: line)
        XCTAssertTrue(device.map { domain.overheadFrames.contains($0.physical) } ?? false, file: file, line: line)
        XCTAssertNil(PageTable.translate(root: domain.nestedRoot, virtual: Self.fourMiB + 4096, memory: host), file: file, line: line)
        XCTAssertNil(PageTable.translate(root: domain.nestedRoot, virtual: 1 << 39, memory: host), file: file, line: line)
        // Nested walks are user accesses: U at every level, not only the leaf.
        let pml4e = host.u64(at: domain.nestedRoot)
        let pdpte = host.u64(at: pml4e & PageTable.addressMask)
        let pde = host.u64(at: pdpte & PageTable.addressMask)
        for entry in [pml4e, pdpte, pde] { XCTAssertEqual(entry & 0x7, 0x7, file: file, line: line) }
        // Every table frame is one of the domain's overhead frames.
        XCTAssertTrue(domain.overheadFrames.contains(pml4e & PageTable.addressMask), file: file, line: line)
        XCTAssertTrue(domain.overheadFrames.contains(pdpte & PageTable.addressMask), file: file, line: line)
        if pageSize == 4096 {
            XCTAssertTrue(domain.overheadFrames.contains(pde & PageTable.addressMask), file: file, line: line)
        }
    }

    func testNestedTableMapsEachGuestFrameToItsHostFrame() throws {
        let domain = newDomain()
        _ = try build(domain).get()
        assertNestedMap(domain, on: machine, pageSize: 2 << 20)
    }

    func testNestedTableOverFragmentedHostMemory() throws {
        let m = fragmentedMachine()
        let before = m.frames.freeFrames
        let domain = newDomain()
        _ = try build(domain, on: m).get()
        // Runs are broken every 2 MiB: no 2 MiB run anywhere.
        XCTAssertFalse(domain.memoryFrames.contains(0x20_0000))
        XCTAssertFalse(domain.memoryFrames.contains(0x40_0000))
        XCTAssertEqual(domain.memoryExtents, [MemoryExtent(hostBase: 0x10_0000, frames: 256),
                                              MemoryExtent(hostBase: 0x20_1000, frames: 511),
                                              MemoryExtent(hostBase: 0x40_1000, frames: 257)])
        assertNestedMap(domain, on: m, pageSize: 4096)
        // Root, PDPT, PD and one page table per 2 MiB of guest memory, then
        // Tern's area: the device page and its page table.
        XCTAssertEqual(domain.overheadFrames.count, 7)
        XCTAssertEqual(m.frames.freeFrames, before - 1024 - 7)
        // The guest still sees its image and an identity map.
        let memory = guestMemory(domain, on: m)
        XCTAssertEqual(read(memory, 0x10_0000, Self.imageBytes.count), Self.imageBytes)
        XCTAssertEqual(read(memory, 0x10_0000 + UInt64(Self.imageBytes.count), Int(Self.bss)),
                       [UInt8](repeating: 0, count: Int(Self.bss)))
        XCTAssertEqual(DomainBuilder.release(domain, allocator: &m.frames), 0)
        XCTAssertEqual(m.frames.freeFrames, before)
    }

    func testAlignedHostFramesGet2MiBNestedPages() throws {
        let aligned = FakeHostMachine(base: 0x20_0000, size: 8 << 20)
        let domain = newDomain()
        _ = try build(domain, on: aligned).get()
        XCTAssertEqual(domain.memoryFrames.first, 0x20_0000)
        XCTAssertEqual(domain.overheadFrames.count, 5)   // root, PDPT, PD; device page and its table
        for gpa: UInt64 in [0, 0x1F_FFFF, 0x20_0000, 0x3F_FFFF] {
            let t = PageTable.translate(root: domain.nestedRoot, virtual: gpa, memory: aligned.memory)
            XCTAssertEqual(t?.physical, 0x20_0000 + gpa)
            XCTAssertEqual(t?.pageSize, 2 << 20)
            XCTAssertEqual(t.map { $0.flags.intersection(.permissionMask) }, [.present, .writable, .user])
        }
        XCTAssertEqual(aligned.frames.freeFrames, 2048 - 1024 - 5)
        XCTAssertEqual(DomainBuilder.release(domain, allocator: &aligned.frames), 0)
        XCTAssertEqual(aligned.frames.freeFrames, 2048)
    }

    func testTwoDomainsGetDisjointFrames() throws {
        let a = newDomain(id: 1), b = newDomain(id: 2)
        _ = try build(a).get()
        _ = try build(b, memory: 2 << 20).get()
        XCTAssertEqual(b.memoryFrames.count, 512)
        XCTAssertTrue(Set(a.memoryFrames + a.overheadFrames).isDisjoint(with: b.memoryFrames + b.overheadFrames))
        XCTAssertEqual(machine.frames.freeFrames, 4096 - 1024 - a.overheadFrames.count - 512 - b.overheadFrames.count)
    }

    func testImageEndingExactlyAtTheReservedTopIsAccepted() throws {
        // 4 MiB: the reserved top starts at 0x3ED000.
        let b = ELFTestBuilder.simple(entry: 0x3E_0000, address: 0x3E_0000, payload: [0x90], bss: 0xD000 - 1)
        XCTAssertNoThrow(try build(newDomain(), image: b.bytes()).get())
    }

    // MARK: release

    func testReleaseReturnsEveryFrame() throws {
        let before = freeMap()
        let domain = newDomain()
        _ = try build(domain).get()
        XCTAssertEqual(DomainBuilder.release(domain, allocator: &machine.frames), 0)
        assertAllocatorUnchanged(before, freeFrames: 4096)
        XCTAssertEqual(domain.memoryFrames, [])
        XCTAssertEqual(domain.overheadFrames, [])
        XCTAssertEqual(domain.state, .dead)
        // Twice is harmless: nothing left to give back.
        XCTAssertEqual(DomainBuilder.release(domain, allocator: &machine.frames), 0)
        XCTAssertEqual(machine.frames.freeFrames, 4096)
    }

    func testReleaseCountsFramesThatWouldNotFree() throws {
        let domain = newDomain()
        _ = try build(domain).get()
        try machine.frames.free(domain.memoryFrames[7])      // someone freed one behind its back
        XCTAssertEqual(DomainBuilder.release(domain, allocator: &machine.frames), 1)
        XCTAssertEqual(machine.frames.freeFrames, 4096)
    }

    // MARK: Errors, and nothing leaked after any of them

    func assertFails(_ expected: DomainBuilder.Error, memory: UInt64 = fourMiB, image file: [UInt8]? = nil,
                     on m: FakeHostMachine? = nil, file sourceFile: StaticString = #filePath, line: UInt = #line) {
        let m = m ?? machine!
        let before = freeMap(m), freeBefore = m.frames.freeFrames
        let domain = newDomain()
        switch build(domain, memory: memory, image: file, on: m) {
        case .success: XCTFail("built, expected \(expected)", file: sourceFile, line: line)
        case .failure(let e): XCTAssertEqual(e, expected, file: sourceFile, line: line)
        }
        assertAllocatorUnchanged(before, freeFrames: freeBefore, m, file: sourceFile, line: line)
        XCTAssertEqual(domain.memoryFrames, [], file: sourceFile, line: line)
        XCTAssertEqual(domain.overheadFrames, [], file: sourceFile, line: line)
    }

    func testBadMemorySize() {
        for size: UInt64 in [0, 1 << 20, 3 << 20, (4 << 20) + 4096, 128 << 30, (64 << 30) + (2 << 20), UInt64.max] {
            assertFails(.badMemorySize(size), memory: size)
        }
    }

    func testBadImage() {
        assertFails(.badImage(.tooSmall(10)), image: [UInt8](repeating: 0x7F, count: 10))
        assertFails(.badImage(.notELF), image: [UInt8](repeating: 0, count: 64))
        var b = ELFTestBuilder.simple(payload: [1, 2, 3])
        b.machine = 40
        assertFails(.badImage(.notX86_64(40)), image: b.bytes())
        b = ELFTestBuilder.simple(payload: [1, 2, 3])
        b.headers[0].fileSize = 1000
        assertFails(.badImage(.segmentOutsideFile(index: 0)), image: b.bytes())
    }

    func testImageOutsideMemory() {
        // Overlapping the reserved top (page tables from 0x3ED000).
        var b = ELFTestBuilder.simple(entry: 0x3E_0000, address: 0x3E_0000, payload: [0x90], bss: 0xDFFF)
        assertFails(.imageOutsideMemory(start: 0x3E_0000, end: 0x3E_E000, limit: 0x3E_D000), image: b.bytes())
        // One byte into it.
        b = ELFTestBuilder.simple(entry: 0x3E_0000, address: 0x3E_0000, payload: [0x90], bss: 0xD000)
        assertFails(.imageOutsideMemory(start: 0x3E_0000, end: 0x3E_D001, limit: 0x3E_D000), image: b.bytes())
        // Wholly above guest memory.
        b = ELFTestBuilder.simple(entry: 0x80_0000, address: 0x80_0000, payload: [0x90], bss: 0)
        assertFails(.imageOutsideMemory(start: 0x80_0000, end: 0x80_0001, limit: 0x3E_D000), image: b.bytes())
        // Same image fits in a bigger domain.
        XCTAssertNoThrow(try build(newDomain(), memory: 10 << 20, image: b.bytes()).get())
    }

    func testOutOfMemoryUpFront() {
        // 4 MiB needs 1024 frames + at most 5 nested table frames.
        let tight = FakeHostMachine(base: 0x10_0000, size: 16 << 20, usableBytes: 1028 * 4096)
        XCTAssertEqual(tight.frames.freeFrames, 1028)
        assertFails(.outOfMemory(neededFrames: 1024, freeFrames: 1028), on: tight)
        let empty = FakeHostMachine(base: 0x10_0000, size: 1 << 20, usableBytes: 0)
        assertFails(.outOfMemory(neededFrames: 1024, freeFrames: 0), on: empty)
    }

    func testExactlyEnoughFramesForTheUpFrontCheck() throws {
        // 1032 frames from 1 MiB (1024 + the estimate of 8 for the nested
        // table and Tern's area): one aligned 2 MiB run (0x200000), the
        // rest frame by frame (0x100000-0x1FFFFF, then from 0x400000).
        let exact = FakeHostMachine(base: 0x10_0000, size: 16 << 20, usableBytes: 1032 * 4096)
        let domain = newDomain()
        _ = try build(domain, on: exact).get()
        XCTAssertEqual(domain.memoryFrames[0], 0x20_0000)
        XCTAssertEqual(domain.memoryFrames[512], 0x10_0000)
        XCTAssertEqual(domain.memoryFrames[768], 0x40_0000)
        // Root, PDPT, PD, one page table for the 4 KiB-mapped upper half,
        // the device page and Tern's area's page table.
        XCTAssertEqual(domain.overheadFrames.count, 6)
        XCTAssertEqual(exact.frames.freeFrames, 1032 - 1024 - 6)
        XCTAssertEqual(PageTable.translate(root: domain.nestedRoot, virtual: 0x1F_F123, memory: exact.memory),
                       PageTable.Translation(physical: 0x3F_F123, flags: [.present, .writable, .user, .largePage], pageSize: 2 << 20))
        XCTAssertEqual(PageTable.translate(root: domain.nestedRoot, virtual: 0x20_0123, memory: exact.memory)?.physical, 0x10_0123)
        XCTAssertEqual(PageTable.translate(root: domain.nestedRoot, virtual: 0x3F_F123, memory: exact.memory)?.physical, 0x4F_F123)
        XCTAssertEqual(DomainBuilder.release(domain, allocator: &exact.frames), 0)
        XCTAssertEqual(exact.frames.freeFrames, 1032)
    }

    /// Failures after frames were taken: the allocator hands out frames the
    /// host window cannot reach (the usable range is larger than the fake
    /// memory), so the build fails part-way and must roll back.
    func testFailureWhilePopulatingReturnsEveryFrame() {
        // The first 2 MiB run (0x200000) is half outside the window.
        let m = FakeHostMachine(base: 0x10_0000, size: 2 << 20, usableBytes: 8 << 20)
        XCTAssertEqual(m.frames.freeFrames, 2048)
        assertFails(.hostMemoryUnreachable, on: m)
        XCTAssertEqual(m.frames.allocate(), 0x10_0000)   // the lowest frame is free again
    }

    func testFailureWhilePopulatingFrameByFrameReturnsEveryFrame() {
        // Fragmented: 299 single frames reachable (0x100000-0x22BFFF less
        // 0x200000), the next one not.
        let m = fragmentedMachine(base: 0x10_0000, size: 0x10_0000 + 44 * 4096, usableBytes: 8 << 20)
        assertFails(.hostMemoryUnreachable, on: m)
    }

    func testFailureAtTheNestedRootReturnsEveryFrame() {
        // Guest memory (0x200000-0x5FFFFF) reachable, the next frame (the
        // nested root, 0x600000) not.
        let m = FakeHostMachine(base: 0x20_0000, size: 4 << 20, usableBytes: 8 << 20)
        assertFails(.hostMemoryUnreachable, on: m)
    }

    func testFailureWhileBuildingTheNestedTableReturnsEveryFrame() {
        // Guest memory and the nested root reachable; the PDPT is not.
        let m = FakeHostMachine(base: 0x20_0000, size: (4 << 20) + 4096, usableBytes: 8 << 20)
        assertFails(.mapping(.tableUnreachable(0x60_1000)), on: m)
    }

    func testFailureOnAPageTableFrameMidWayReturnsEveryFrame() {
        // Fragmented from 2 MiB: guest memory is 0x201000-0x3FFFFF,
        // 0x401000-0x5FFFFF, 0x601000-0x602FFF; then root 0x603000, PDPT,
        // PD, the first page table 0x606000 - and the second, 0x607000, is
        // unreachable: half of guest memory is mapped when it fails.
        let m = fragmentedMachine(base: 0x20_0000, size: 0x40_7000, usableBytes: 8 << 20)
        assertFails(.mapping(.tableUnreachable(0x60_7000)), on: m)
    }
}
