import XCTest
@testable import TernCore

/// Multiboot2 information (Multiboot2 spec 3.6): header, 8-aligned tags, end tag.
private struct Multiboot2Builder {
    var tags: [UInt8] = []

    mutating func tag(_ type: UInt32, _ payload: [UInt8]) {
        tags.append32(type)
        tags.append32(UInt32(8 + payload.count))
        tags += payload
        tags.padTo(multipleOf: 8)
    }

    mutating func commandLine(_ text: String) { tag(1, LittleEndian.cString(text)) }
    mutating func loaderName(_ text: String) { tag(2, LittleEndian.cString(text)) }

    mutating func module(start: UInt32, end: UInt32, commandLine: String) {
        var payload: [UInt8] = []
        payload.append32(start)
        payload.append32(end)
        tag(3, payload + LittleEndian.cString(commandLine))
    }

    mutating func memoryMap(_ entries: [(base: UInt64, length: UInt64, type: UInt32)], entrySize: UInt32 = 24,
                            trailing: [UInt8] = []) {
        var payload: [UInt8] = []
        payload.append32(entrySize)
        payload.append32(0)  // entry_version
        for entry in entries {
            var bytes: [UInt8] = []
            bytes.append64(entry.base)
            bytes.append64(entry.length)
            bytes.append32(entry.type)
            bytes.append32(0)
            while bytes.count < Int(entrySize) { bytes.append(0) }
            payload += bytes.prefix(Int(entrySize))
        }
        tag(6, payload + trailing)
    }

    func build(endTag: Bool = true) -> [UInt8] {
        var info: [UInt8] = []
        info.append32(0)  // total_size, below
        info.append32(0)  // reserved
        info += tags
        if endTag {
            info.append32(0)
            info.append32(8)
        }
        info.put32(UInt32(info.count), at: 0)
        return info
    }
}

/// A multiboot1 memory map entry: size (of what follows), base, length, type.
private func multiboot1Entry(size: UInt32 = 20, base: UInt64, length: UInt64, type: UInt32) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.append32(size)
    bytes.append64(base)
    bytes.append64(length)
    bytes.append32(type)
    while bytes.count < 4 + Int(size) { bytes.append(0xEE) }
    return bytes
}

private func text(_ string: BootString) -> String { String(decoding: string.bytes, as: UTF8.self) }

final class MultibootTests: XCTestCase {
    private var memory: FakePhysicalMemory!
    private let memoryBase: UInt64 = 0x1_0000
    private let infoAddress: UInt64 = 0x1_1000

    /// A typical PC map: one entry of each multiboot type.
    private let e820: [(base: UInt64, length: UInt64, type: UInt32)] = [
        (0, 0x9_FC00, 1),
        (0x9_FC00, 0x400, 2),
        (0x10_0000, 0x7EE_0000, 1),
        (0x7FE_0000, 0x2_0000, 3),
        (0xFEC0_0000, 0x1000, 4),
        (0x1_0000_0000, 0x1000, 5),
        (0x2_0000_0000, 0x1000, 7),
    ]
    private let e820Regions = [
        MemoryRegion(start: 0, end: 0x9_FC00, kind: .usable),
        MemoryRegion(start: 0x9_FC00, end: 0xA_0000, kind: .reserved),
        MemoryRegion(start: 0x10_0000, end: 0x7FE_0000, kind: .usable),
        MemoryRegion(start: 0x7FE_0000, end: 0x800_0000, kind: .acpiReclaimable),
        MemoryRegion(start: 0xFEC0_0000, end: 0xFEC0_1000, kind: .acpiNVS),
        MemoryRegion(start: 0x1_0000_0000, end: 0x1_0000_1000, kind: .defective),
        MemoryRegion(start: 0x2_0000_0000, end: 0x2_0000_1000, kind: .reserved),
    ]

    override func setUp() {
        super.setUp()
        memory = FakePhysicalMemory(base: memoryBase, size: 0x2_0000)
    }

    override func tearDown() {
        memory = nil
        super.tearDown()
    }

    private func parse2(_ info: [UInt8]) throws(BootInfoError) -> BootInfo {
        memory.write(info, at: infoAddress)
        return try BootInfo.parse(magic: BootInfo.multiboot2Magic, address: infoAddress, memory: memory)
    }

    private func minimal2() -> Multiboot2Builder {
        var builder = Multiboot2Builder()
        builder.memoryMap([(0, 0x1000, 1)])
        return builder
    }

    // MARK: Multiboot2, good

    func testMultiboot2FullParse() throws {
        var builder = Multiboot2Builder()
        builder.commandLine("/boot/tern loglvl=debug")
        builder.loaderName("GRUB 2.12")
        builder.tag(8, [1, 2, 3, 4, 5])  // framebuffer: not Tern's business
        builder.memoryMap(e820)
        builder.module(start: 0x20_0000, end: 0x23_4567, commandLine: "/guests/hello.elf name=hello")
        builder.module(start: 0x30_0000, end: 0x30_0000, commandLine: "")
        let info = try parse2(builder.build())

        XCTAssertEqual(info.loader, .multiboot2)
        XCTAssertEqual(text(info.commandLine), "/boot/tern loglvl=debug")
        XCTAssertFalse(info.commandLine.truncated)
        XCTAssertEqual(text(info.loaderName), "GRUB 2.12")
        XCTAssertEqual(info.memoryMap.regions, e820Regions)
        XCTAssertEqual(info.modules.count, 2)
        XCTAssertEqual(info.modules[0].range, PhysicalRange(start: 0x20_0000, end: 0x23_4567))
        XCTAssertEqual(text(info.modules[0].commandLine), "/guests/hello.elf name=hello")
        XCTAssertEqual(info.modules[1].range, PhysicalRange(start: 0x30_0000, end: 0x30_0000))
        XCTAssertEqual(info.modules[1].commandLine.count, 0)
    }

    func testMultiboot2MinimalHasEmptyStrings() throws {
        let info = try parse2(minimal2().build())
        XCTAssertEqual(info.commandLine.count, 0)
        XCTAssertEqual(info.loaderName.count, 0)
        XCTAssertEqual(info.modules, [])
        XCTAssertEqual(info.memoryMap.regions, [MemoryRegion(start: 0, end: 0x1000, kind: .usable)])
    }

    func testMultiboot2LongCommandLineIsCut() throws {
        var builder = minimal2()
        builder.commandLine(String(repeating: "x", count: BootString.capacity + 100))
        let info = try parse2(builder.build())
        XCTAssertEqual(info.commandLine.count, BootString.capacity)
        XCTAssertTrue(info.commandLine.truncated)
    }

    func testMultiboot2MemoryMapWithLargerEntries() throws {
        var builder = Multiboot2Builder()
        builder.memoryMap([(0x1000, 0x2000, 1), (0x5000, 0x1000, 3)], entrySize: 32)
        let info = try parse2(builder.build())
        XCTAssertEqual(info.memoryMap.regions, [
            MemoryRegion(start: 0x1000, end: 0x3000, kind: .usable),
            MemoryRegion(start: 0x5000, end: 0x6000, kind: .acpiReclaimable),
        ])
    }

    func testMultiboot2RegionReachingTheTopIsClamped() throws {
        var builder = Multiboot2Builder()
        builder.memoryMap([(0xFFFF_FFFF_0000_0000, 0x2_0000_0000, 2)])
        let info = try parse2(builder.build())
        XCTAssertEqual(info.memoryMap.regions, [MemoryRegion(start: 0xFFFF_FFFF_0000_0000, end: UInt64.max, kind: .reserved)])
    }

    func testSixteenModulesAreAllowed() throws {
        var builder = minimal2()
        for i in 0..<BootInfo.maxModules { builder.module(start: UInt32(i) << 20, end: UInt32(i + 1) << 20, commandLine: "m\(i)") }
        let info = try parse2(builder.build())
        XCTAssertEqual(info.modules.count, 16)
        XCTAssertEqual(text(info.modules[15].commandLine), "m15")
    }

    // MARK: Multiboot2, malformed

    func testUnknownMagic() {
        memory.write(minimal2().build(), at: infoAddress)
        assertThrowsExactly(BootInfoError.unknownMagic(0x1BAD_B002)) {
            try BootInfo.parse(magic: 0x1BAD_B002, address: infoAddress, memory: memory)
        }
    }

    func testMisalignedInfoIsABadHeader() {
        let address = infoAddress + 4
        memory.write(minimal2().build(), at: address)
        assertThrowsExactly(BootInfoError.badHeader(address: address, size: 0)) {
            try BootInfo.parse(magic: BootInfo.multiboot2Magic, address: address, memory: memory)
        }
    }

    func testTotalSizeTooSmall() {
        var info = minimal2().build()
        info.put32(15, at: 0)
        assertThrowsExactly(BootInfoError.badHeader(address: infoAddress, size: 15)) { try parse2(info) }
        info.put32(0, at: 0)
        assertThrowsExactly(BootInfoError.badHeader(address: infoAddress, size: 0)) { try parse2(info) }
    }

    func testTotalSizeTooBig() {
        var info = minimal2().build()
        info.put32((1 << 20) + 8, at: 0)
        assertThrowsExactly(BootInfoError.badHeader(address: infoAddress, size: (1 << 20) + 8)) { try parse2(info) }
        info.put32(UInt32.max, at: 0)
        assertThrowsExactly(BootInfoError.badHeader(address: infoAddress, size: UInt64(UInt32.max))) { try parse2(info) }
    }

    func testInfoOutsideMemoryIsUnreadable() {
        assertThrowsExactly(BootInfoError.unreadable(address: 0x8000_0000, count: 8)) {
            try BootInfo.parse(magic: BootInfo.multiboot2Magic, address: 0x8000_0000, memory: memory)
        }
        // The header is readable, the declared size runs past the end.
        let address = memory.end - 16
        var info = minimal2().build()
        info.put32(0x100, at: 0)
        memory.write(Array(info.prefix(16)), at: address)
        assertThrowsExactly(BootInfoError.unreadable(address: address, count: 0x100)) {
            try BootInfo.parse(magic: BootInfo.multiboot2Magic, address: address, memory: memory)
        }
    }

    func testTagSmallerThanItsHeader() {
        var info = minimal2().build()
        info.put32(4, at: 12)  // the memory map tag's size
        assertThrowsExactly(BootInfoError.badTag(type: 6, offset: 8, size: 4)) { try parse2(info) }
        info.put32(0, at: 12)
        assertThrowsExactly(BootInfoError.badTag(type: 6, offset: 8, size: 0)) { try parse2(info) }
    }

    func testTagRunningPastTheTotalSize() {
        var builder = minimal2()
        builder.commandLine("abc")
        var info = builder.build()
        // The command line tag is at 8 + 40 = 48; make it claim 0x1000 bytes.
        XCTAssertEqual(info[48], 1)
        info.put32(0x1000, at: 52)
        assertThrowsExactly(BootInfoError.badTag(type: 1, offset: 48, size: 0x1000)) { try parse2(info) }
        info.put32(UInt32.max, at: 52)
        assertThrowsExactly(BootInfoError.badTag(type: 1, offset: 48, size: UInt32.max)) { try parse2(info) }
    }

    func testNoEndTag() {
        var builder = minimal2()
        builder.commandLine("tern")
        assertThrowsExactly(BootInfoError.missingEndTag) { try parse2(builder.build(endTag: false)) }
        // Total size leaving less than a tag header after the last tag.
        var info = builder.build(endTag: false) + [0, 0, 0, 0]
        info.put32(UInt32(info.count), at: 0)
        assertThrowsExactly(BootInfoError.missingEndTag) { try parse2(info) }
    }

    func testNoMemoryMap() {
        var builder = Multiboot2Builder()
        builder.commandLine("tern")
        builder.loaderName("GRUB")
        assertThrowsExactly(BootInfoError.noMemoryMap) { try parse2(builder.build()) }
    }

    func testMemoryMapEntrySize20() {
        var builder = Multiboot2Builder()
        builder.memoryMap([(0, 0x1000, 1), (0x1000, 0x1000, 1)], entrySize: 20)
        assertThrowsExactly(BootInfoError.badMemoryMap(entrySize: 20, length: 48)) { try parse2(builder.build()) }
    }

    func testMemoryMapLengthNotAMultipleOfTheEntrySize() {
        var builder = Multiboot2Builder()
        builder.memoryMap([(0, 0x1000, 1), (0x1000, 0x1000, 1)], trailing: [0, 0, 0, 0, 0, 0, 0, 0])
        assertThrowsExactly(BootInfoError.badMemoryMap(entrySize: 24, length: 64)) { try parse2(builder.build()) }
        var odd = Multiboot2Builder()
        odd.memoryMap([(0, 0x1000, 1)], entrySize: 28)
        assertThrowsExactly(BootInfoError.badMemoryMap(entrySize: 28, length: 36)) { try parse2(odd.build()) }
    }

    func testMemoryMapTagTooShortForItsHeader() {
        var builder = Multiboot2Builder()
        builder.tag(6, [24, 0, 0, 0])
        assertThrowsExactly(BootInfoError.badMemoryMap(entrySize: 24, length: 4)) { try parse2(builder.build()) }
        var empty = Multiboot2Builder()
        empty.tag(6, [])
        assertThrowsExactly(BootInfoError.badMemoryMap(entrySize: 0, length: 0)) { try parse2(empty.build()) }
    }

    func testModuleEndingBeforeItStarts() {
        var builder = minimal2()
        builder.module(start: 0x20_0000, end: 0x21_0000, commandLine: "a")
        builder.module(start: 0x30_0000, end: 0x2F_FFFF, commandLine: "b")
        assertThrowsExactly(BootInfoError.badModule(index: 1, start: 0x30_0000, end: 0x2F_FFFF)) { try parse2(builder.build()) }
    }

    func testModuleTagTooShort() {
        var builder = minimal2()
        builder.tag(3, [0, 0, 0x20, 0])
        // The memory map tag takes 8..48, so the module tag is at 48.
        assertThrowsExactly(BootInfoError.badTag(type: 3, offset: 48, size: 12)) { try parse2(builder.build()) }
    }

    func testCommandLineWithoutNUL() {
        var builder = minimal2()
        builder.tag(1, Array("tern".utf8))
        // Tag at offset 48, its string 8 bytes further.
        assertThrowsExactly(BootInfoError.unterminatedString(address: infoAddress + 56)) { try parse2(builder.build()) }
    }

    func testModuleNameWithoutNUL() {
        var builder = minimal2()
        var payload: [UInt8] = []
        payload.append32(0x20_0000)
        payload.append32(0x21_0000)
        builder.tag(3, payload + Array("hello".utf8))
        assertThrowsExactly(BootInfoError.unterminatedString(address: infoAddress + 48 + 16)) { try parse2(builder.build()) }
    }

    func testTooManyModules() {
        var builder = minimal2()
        for i in 0...BootInfo.maxModules { builder.module(start: UInt32(i) << 20, end: UInt32(i + 1) << 20, commandLine: "m") }
        assertThrowsExactly(BootInfoError.tooManyModules) { try parse2(builder.build()) }
    }

    /// The structure cut short by the end of reachable memory, at every length.
    func testEveryTruncationOfMemoryIsUnreadable() {
        var builder = Multiboot2Builder()
        builder.commandLine("tern loglvl=info")
        builder.memoryMap(e820)
        builder.module(start: 0x20_0000, end: 0x21_0000, commandLine: "guest")
        let info = builder.build()
        for length in 0...info.count {
            let cut = FakePhysicalMemory(base: infoAddress, size: length)
            cut.write(Array(info.prefix(length)), at: infoAddress)
            do {
                let parsed = try BootInfo.parse(magic: BootInfo.multiboot2Magic, address: infoAddress, memory: cut)
                XCTAssertEqual(length, info.count, "parsed a structure cut at \(length)")
                XCTAssertEqual(parsed.modules.count, 1)
            } catch {
                let expected = BootInfoError.unreadable(address: infoAddress, count: length < 8 ? 8 : info.count)
                XCTAssertEqual(error, expected, "cut at \(length)")
            }
        }
    }

    /// The structure cut short, its total size saying so, at every length.
    func testEveryTruncationOfTheTotalSizeThrows() {
        var builder = Multiboot2Builder()
        builder.commandLine("tern loglvl=info")
        builder.loaderName("GRUB")
        builder.memoryMap(e820)
        builder.module(start: 0x20_0000, end: 0x21_0000, commandLine: "guest")
        let full = builder.build()
        for length in 0..<full.count {
            var info = full
            info.put32(UInt32(length), at: 0)
            memory.write(full.map { _ in 0xA5 }, at: infoAddress)  // what lies past the cut is junk
            do {
                _ = try parse2(Array(info.prefix(max(length, 8))))
                XCTFail("parsed a structure cut at \(length)")
            } catch {
                if length < 16 {
                    XCTAssertEqual(error, .badHeader(address: infoAddress, size: UInt64(length)))
                }
            }
        }
        XCTAssertNoThrow(try parse2(full))
    }

    // MARK: Multiboot1

    // Where the tests put the multiboot1 structures.
    private let commandLineAddress: UInt64 = 0x1_0100
    private let loaderNameAddress: UInt64 = 0x1_0180
    private let moduleTable: UInt64 = 0x1_0200
    private let moduleStrings: UInt64 = 0x1_0400
    private let mmapAddress: UInt64 = 0x1_0800

    private let flagMemory: UInt32 = 1 << 0
    private let flagCommandLine: UInt32 = 1 << 2
    private let flagModules: UInt32 = 1 << 3
    private let flagMemoryMap: UInt32 = 1 << 6
    private let flagLoaderName: UInt32 = 1 << 9

    /// Writes a multiboot1 info structure at `infoAddress` with the given
    /// flags; every field's data is in memory whether flagged or not.
    private func writeMultiboot1(
        flags: UInt32, memLower: UInt32 = 639, memUpper: UInt32 = 0x1_FC00,
        modules: [(start: UInt32, end: UInt32, name: String)] = [], mmap: [UInt8] = []
    ) {
        memory.write32(flags, at: infoAddress)
        memory.write32(memLower, at: infoAddress + 4)
        memory.write32(memUpper, at: infoAddress + 8)
        memory.write32(UInt32(commandLineAddress), at: infoAddress + 16)
        memory.write(LittleEndian.cString("tern loglvl=warn"), at: commandLineAddress)
        memory.write32(UInt32(modules.count), at: infoAddress + 20)
        memory.write32(UInt32(moduleTable), at: infoAddress + 24)
        for (i, module) in modules.enumerated() {
            let entry = moduleTable + UInt64(16 * i)
            let name = moduleStrings + UInt64(0x40 * i)
            memory.write32(module.start, at: entry)
            memory.write32(module.end, at: entry + 4)
            memory.write32(UInt32(name), at: entry + 8)
            memory.write(LittleEndian.cString(module.name), at: name)
        }
        memory.write32(UInt32(mmap.count), at: infoAddress + 44)
        memory.write32(UInt32(mmapAddress), at: infoAddress + 48)
        memory.write(mmap, at: mmapAddress)
        memory.write32(UInt32(loaderNameAddress), at: infoAddress + 64)
        memory.write(LittleEndian.cString("QEMU"), at: loaderNameAddress)
    }

    private func parse1() throws(BootInfoError) -> BootInfo {
        try BootInfo.parse(magic: BootInfo.multiboot1Magic, address: infoAddress, memory: memory)
    }

    private let allFlags: UInt32 = 1 << 0 | 1 << 2 | 1 << 3 | 1 << 6 | 1 << 9

    func testMultiboot1FullParse() throws {
        let mmap = multiboot1Entry(base: 0, length: 0x9_FC00, type: 1)
            + multiboot1Entry(size: 24, base: 0x10_0000, length: 0x7F0_0000, type: 1)
            + multiboot1Entry(base: 0xFFFC_0000, length: 0x4_0000, type: 2)
            + multiboot1Entry(size: 28, base: 0x1_0000_0000, length: 0x1000, type: 3)
        writeMultiboot1(flags: allFlags, modules: [(0x20_0000, 0x22_0000, "hello.elf mem=4M"), (0x30_0000, 0x30_1000, "b")],
                        mmap: mmap)
        let info = try parse1()
        XCTAssertEqual(info.loader, .multiboot1)
        XCTAssertEqual(text(info.commandLine), "tern loglvl=warn")
        XCTAssertEqual(text(info.loaderName), "QEMU")
        XCTAssertEqual(info.modules.count, 2)
        XCTAssertEqual(info.modules[0].range, PhysicalRange(start: 0x20_0000, end: 0x22_0000))
        XCTAssertEqual(text(info.modules[0].commandLine), "hello.elf mem=4M")
        XCTAssertEqual(info.modules[1].range, PhysicalRange(start: 0x30_0000, end: 0x30_1000))
        XCTAssertEqual(text(info.modules[1].commandLine), "b")
        // With a map, mem_lower/mem_upper are not used.
        XCTAssertEqual(info.memoryMap.regions, [
            MemoryRegion(start: 0, end: 0x9_FC00, kind: .usable),
            MemoryRegion(start: 0x10_0000, end: 0x800_0000, kind: .usable),
            MemoryRegion(start: 0xFFFC_0000, end: 0x1_0000_0000, kind: .reserved),
            MemoryRegion(start: 0x1_0000_0000, end: 0x1_0000_1000, kind: .acpiReclaimable),
        ])
    }

    func testMultiboot1FieldsWithoutTheirFlagAreIgnored() throws {
        writeMultiboot1(flags: flagMemoryMap, modules: [(0x20_0000, 0x22_0000, "x")],
                        mmap: multiboot1Entry(base: 0, length: 0x1000, type: 1))
        // Pointers of unflagged fields are garbage: they must not be read.
        memory.write32(0xDEAD_0000, at: infoAddress + 16)
        memory.write32(0xDEAD_0000, at: infoAddress + 24)
        memory.write32(0xDEAD_0000, at: infoAddress + 64)
        let info = try parse1()
        XCTAssertEqual(info.commandLine.count, 0)
        XCTAssertEqual(info.loaderName.count, 0)
        XCTAssertEqual(info.modules, [])
        XCTAssertEqual(info.memoryMap.regions, [MemoryRegion(start: 0, end: 0x1000, kind: .usable)])
    }

    func testMultiboot1FallsBackToMemLowerAndUpper() throws {
        writeMultiboot1(flags: flagMemory, memLower: 639, memUpper: 0x1_FC00)
        let info = try parse1()
        XCTAssertEqual(info.memoryMap.regions, [
            MemoryRegion(start: 0, end: 639 << 10, kind: .usable),
            MemoryRegion(start: 1 << 20, end: (1 << 20) + (0x1_FC00 << 10), kind: .usable),
        ])
    }

    func testMultiboot1MemLowerIsCappedAt640KiB() throws {
        writeMultiboot1(flags: flagMemory, memLower: 1000, memUpper: 0)
        let info = try parse1()
        XCTAssertEqual(info.memoryMap.regions, [MemoryRegion(start: 0, end: 640 << 10, kind: .usable)])
    }

    func testMultiboot1WithNeitherMapNorSizes() {
        writeMultiboot1(flags: flagCommandLine | flagLoaderName)
        assertThrowsExactly(BootInfoError.noMemoryMap) { try parse1() }
    }

    func testMultiboot1InfoOutsideMemory() {
        let address = memory.end - 60
        assertThrowsExactly(BootInfoError.unreadable(address: address, count: 68)) {
            try BootInfo.parse(magic: BootInfo.multiboot1Magic, address: address, memory: memory)
        }
    }

    func testMultiboot1ModuleTableOutsideMemory() {
        writeMultiboot1(flags: flagModules | flagMemory, modules: [(0x20_0000, 0x22_0000, "x")])
        memory.write32(0x8000_0000, at: infoAddress + 24)
        assertThrowsExactly(BootInfoError.unreadable(address: 0x8000_0000, count: 16)) { try parse1() }
    }

    func testMultiboot1SecondModuleEntryPastTheEnd() {
        writeMultiboot1(flags: flagModules | flagMemory, modules: [(0x20_0000, 0x22_0000, "x")])
        let table = memory.end - 24  // entry 0 fits, entry 1 does not
        memory.write(memory.bytes(at: moduleTable, count: 16).map { Array($0) }!, at: table)
        memory.write32(UInt32(table), at: infoAddress + 24)
        memory.write32(2, at: infoAddress + 20)
        assertThrowsExactly(BootInfoError.unreadable(address: table + 16, count: 16)) { try parse1() }
    }

    func testMultiboot1MemoryMapOutsideMemory() {
        writeMultiboot1(flags: flagMemoryMap, mmap: multiboot1Entry(base: 0, length: 0x1000, type: 1))
        memory.write32(0x8000_0000, at: infoAddress + 48)
        assertThrowsExactly(BootInfoError.unreadable(address: 0x8000_0000, count: 24)) { try parse1() }
        // In memory but running past its end.
        memory.write32(UInt32(memory.end - 16), at: infoAddress + 48)
        assertThrowsExactly(BootInfoError.unreadable(address: memory.end - 16, count: 24)) { try parse1() }
    }

    func testMultiboot1MemoryMapEntryTooSmall() {
        let mmap = multiboot1Entry(base: 0, length: 0x1000, type: 1) + multiboot1Entry(size: 16, base: 0x1000, length: 0, type: 1)
        writeMultiboot1(flags: flagMemoryMap, mmap: mmap)
        assertThrowsExactly(BootInfoError.badMemoryMap(entrySize: 16, length: 48)) { try parse1() }
    }

    func testMultiboot1MemoryMapEntryPastTheLength() {
        writeMultiboot1(flags: flagMemoryMap, mmap: multiboot1Entry(size: 24, base: 0, length: 0x1000, type: 1))
        memory.write32(24, at: infoAddress + 44)  // the entry needs 28
        assertThrowsExactly(BootInfoError.badMemoryMap(entrySize: 24, length: 24)) { try parse1() }
        // Too short for even a size field after the first entry.
        writeMultiboot1(flags: flagMemoryMap, mmap: multiboot1Entry(base: 0, length: 0x1000, type: 1) + [20, 0])
        assertThrowsExactly(BootInfoError.badMemoryMap(entrySize: 0, length: 26)) { try parse1() }
    }

    func testMultiboot1ModuleEndingBeforeItStarts() {
        writeMultiboot1(flags: flagModules | flagMemory, modules: [(0x20_0000, 0x1F_F000, "x")])
        assertThrowsExactly(BootInfoError.badModule(index: 0, start: 0x20_0000, end: 0x1F_F000)) { try parse1() }
    }

    func testMultiboot1TooManyModules() {
        writeMultiboot1(flags: flagModules | flagMemory)
        memory.write32(UInt32(BootInfo.maxModules + 1), at: infoAddress + 20)
        assertThrowsExactly(BootInfoError.tooManyModules) { try parse1() }
    }

    func testMultiboot1StringRunningOffMemory() {
        writeMultiboot1(flags: flagCommandLine | flagMemory)
        let address = memory.end - 10
        memory.write(Array(repeating: UInt8(ascii: "A"), count: 10), at: address)
        memory.write32(UInt32(address), at: infoAddress + 16)
        assertThrowsExactly(BootInfoError.unreadable(address: memory.end, count: 1)) { try parse1() }
    }

    func testMultiboot1StringWithoutNUL() throws {
        writeMultiboot1(flags: flagCommandLine | flagMemory)
        let address: UInt64 = 0x2_0000
        memory.write(Array(repeating: UInt8(ascii: "A"), count: 4096), at: address)
        memory.write32(UInt32(address), at: infoAddress + 16)
        assertThrowsExactly(BootInfoError.unterminatedString(address: address)) { try parse1() }
        // 4095 characters and the NUL: the longest string read, then cut.
        memory.write([0], at: address + 4095)
        let info = try parse1()
        XCTAssertEqual(info.commandLine.count, BootString.capacity)
        XCTAssertTrue(info.commandLine.truncated)
    }
}
