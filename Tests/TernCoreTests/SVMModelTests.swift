import XCTest
import TernABI
@testable import TernCore

/// The pure SVM model: VMCB field offsets and bits (AMD APM vol. 2,
/// appendix B), the CPUID policy, the I/O and MSR permission maps, and
/// the user bit in intermediate page-table entries (nested paging).
final class SVMModelTests: VMCBPageTestCase {
    func u8(_ offset: Int) -> UInt8 { page.load(fromByteOffset: offset, as: UInt8.self) }
    func u16(_ offset: Int) -> UInt16 { UInt16(u8(offset)) | UInt16(u8(offset + 1)) << 8 }
    func u32(_ offset: Int) -> UInt32 { UInt32(u16(offset)) | UInt32(u16(offset + 2)) << 16 }
    func u64(_ offset: Int) -> UInt64 { UInt64(u32(offset)) | UInt64(u32(offset + 4)) << 32 }
    func setU64(_ value: UInt64, _ offset: Int) {
        for i in 0..<8 { page.storeBytes(of: UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))), toByteOffset: offset + i, as: UInt8.self) }
    }

    /// Offsets of the non-zero bytes of the page.
    func nonZeroBytes() -> [Int] { (0..<4096).filter { u8($0) != 0 } }

    // MARK: VMCB offsets

    func assertU64Field(_ offset: Int, _ set: (UInt64) -> Void, _ get: () -> UInt64, file: StaticString = #filePath, line: UInt = #line) {
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        let value: UInt64 = 0x1122_3344_5566_7788
        set(value)
        XCTAssertEqual(u64(offset), value, "offset \(String(offset, radix: 16))", file: file, line: line)
        XCTAssertEqual(u8(offset), 0x88, "little-endian", file: file, line: line)
        XCTAssertEqual(nonZeroBytes(), Array(offset..<(offset + 8)), "only those 8 bytes", file: file, line: line)
        XCTAssertEqual(get(), value, file: file, line: line)
    }

    func testStateSaveAreaOffsets() {
        let v = vmcb
        assertU64Field(0x578, { v.rip = $0 }, { v.rip })
        assertU64Field(0x5F8, { v.rax = $0 }, { v.rax })
        assertU64Field(0x5D8, { v.rsp = $0 }, { v.rsp })
        assertU64Field(0x570, { v.rflags = $0 }, { v.rflags })
        assertU64Field(0x558, { v.cr0 = $0 }, { v.cr0 })
        assertU64Field(0x550, { v.cr3 = $0 }, { v.cr3 })
        assertU64Field(0x548, { v.cr4 = $0 }, { v.cr4 })
        assertU64Field(0x4D0, { v.efer = $0 }, { v.efer })
        assertU64Field(0x568, { v.dr6 = $0 }, { v.dr6 })
        assertU64Field(0x560, { v.dr7 = $0 }, { v.dr7 })
        assertU64Field(0x668, { v.guestPAT = $0 }, { v.guestPAT })
        setU64(0xCAFE, 0x640)
        XCTAssertEqual(v.cr2, 0xCAFE)
    }

    func testControlAreaOffsets() {
        let v = vmcb
        assertU64Field(0x0B0, { v.nestedCR3 = $0 }, { v.nestedCR3 })
        assertU64Field(0x040, { v.iopmBase = $0 }, { v.iopmBase })
        assertU64Field(0x048, { v.msrpmBase = $0 }, { v.msrpmBase })
        assertU64Field(0x060, { v.virtualInterrupt = $0 }, { v.virtualInterrupt })
        assertU64Field(0x0A8, { v.eventInjection = $0 }, { v.eventInjection })
    }

    func testExitInformationIsReadFromTheAPMOffsets() {
        setU64(SVMExit.vmmcall, 0x70)
        setU64(0x1111, 0x78)
        setU64(0x2222, 0x80)
        setU64(0x3333, 0x88)
        setU64(1, 0x68)
        XCTAssertEqual(vmcb.exitCode, 0x81)
        XCTAssertEqual(vmcb.exitInfo1, 0x1111)
        XCTAssertEqual(vmcb.exitInfo2, 0x2222)
        XCTAssertEqual(vmcb.exitInterruptInfo, 0x3333)
        XCTAssertEqual(vmcb.interruptShadow, 1)
        setU64(UInt64.max, 0x70)
        XCTAssertEqual(vmcb.exitCode, SVMExit.invalid)
    }

    func testNarrowControlFields() {
        let v = vmcb
        v.asid = 0xA1B2_C3D4
        XCTAssertEqual(u32(0x58), 0xA1B2_C3D4)
        v.tlbControl = VMCB.tlbFlushGuest
        XCTAssertEqual(u8(0x5C), 3)
        XCTAssertEqual(u32(0x58), 0xA1B2_C3D4)     // the ASID is untouched
        v.cpl = 3
        XCTAssertEqual(u8(0x4CB), 3)
        v.interceptedExceptions = 1 << 14 | 1 << 17
        XCTAssertEqual(u32(0x08), 0x24000)
        v.nestedPaging = true
        XCTAssertEqual(u64(0x90), 1)
        XCTAssertTrue(v.nestedPaging)
        v.nestedPaging = false
        XCTAssertEqual(u64(0x90), 0)
        setU64(0xFFFF_FFFF_FFFF_FFFF, 0xC0)
        v.markAllDirty()
        XCTAssertEqual(u32(0xC0), 0)                // VMCB clean bits
        XCTAssertEqual(u32(0xC4), 0xFFFF_FFFF)      // only those 32 bits
        XCTAssertEqual(v.asid, 0xA1B2_C3D4)
        XCTAssertEqual(v.tlbControl, 3)
        XCTAssertEqual(v.cpl, 3)
    }

    func testInterceptVectors() {
        let v = vmcb
        v.misc1 = [.intr, .cpuid, .hlt, .shutdown]
        XCTAssertEqual(u32(0x0C), 1 << 0 | 1 << 18 | 1 << 24 | 1 << 31)
        v.misc2 = [.vmrun, .vmmcall]
        XCTAssertEqual(u32(0x10), 0b11)
        XCTAssertEqual(v.misc1, [.intr, .cpuid, .hlt, .shutdown])
        XCTAssertEqual(v.misc2, [.vmrun, .vmmcall])
        XCTAssertEqual(nonZeroBytes(), [0x0C, 0x0E, 0x0F, 0x10])
    }

    func testInterceptBitValues() {
        XCTAssertEqual(VMCB.Misc1.intr.rawValue, 1 << 0)
        XCTAssertEqual(VMCB.Misc1.nmi.rawValue, 1 << 1)
        XCTAssertEqual(VMCB.Misc1.vintr.rawValue, 1 << 4)
        XCTAssertEqual(VMCB.Misc1.cpuid.rawValue, 1 << 18)
        XCTAssertEqual(VMCB.Misc1.invd.rawValue, 1 << 22)
        XCTAssertEqual(VMCB.Misc1.hlt.rawValue, 1 << 24)
        XCTAssertEqual(VMCB.Misc1.ioio.rawValue, 1 << 27)
        XCTAssertEqual(VMCB.Misc1.msr.rawValue, 1 << 28)
        XCTAssertEqual(VMCB.Misc1.shutdown.rawValue, 0x8000_0000)
        XCTAssertEqual(VMCB.Misc2.vmrun.rawValue, 1 << 0)
        XCTAssertEqual(VMCB.Misc2.vmmcall.rawValue, 1 << 1)
        XCTAssertEqual(VMCB.Misc2.vmload.rawValue, 1 << 2)
        XCTAssertEqual(VMCB.Misc2.vmsave.rawValue, 1 << 3)
        XCTAssertEqual(VMCB.Misc2.stgi.rawValue, 1 << 4)
        XCTAssertEqual(VMCB.Misc2.clgi.rawValue, 1 << 5)
        XCTAssertEqual(VMCB.Misc2.skinit.rawValue, 1 << 6)
        XCTAssertEqual(VMCB.Misc2.xsetbv.rawValue, 1 << 13)
    }

    func testExitCodes() {
        XCTAssertEqual(SVMExit.cpuid, 0x72)
        XCTAssertEqual(SVMExit.hlt, 0x78)
        XCTAssertEqual(SVMExit.ioio, 0x7B)
        XCTAssertEqual(SVMExit.msr, 0x7C)
        XCTAssertEqual(SVMExit.shutdown, 0x7F)
        XCTAssertEqual(SVMExit.vmmcall, 0x81)
        XCTAssertEqual(SVMExit.nestedPageFault, 0x400)
        XCTAssertEqual(SVMExit.name(0x81).description, "VMMCALL")
        XCTAssertEqual(SVMExit.name(0x40 + 14).description, "exception")
        XCTAssertEqual(SVMExit.name(0x40 + 31).description, "exception")
        XCTAssertEqual(SVMExit.name(0x40 + 32).description, "INTR")
        XCTAssertEqual(SVMExit.name(0x99).description, "other")
        XCTAssertEqual(SVMExit.name(UInt64.max).description, "INVALID")
    }

    func testSegmentLayout() {
        let v = vmcb
        let cs = VMCB.Segment(selector: 0x08, attributes: SegmentAttributes.code64, limit: 0xFFFF_FFFF, base: 0x1234_5678_9ABC)
        v.setSegment(.cs, cs)
        XCTAssertEqual(u16(0x410), 0x08)
        XCTAssertEqual(u16(0x412), 0xA9B)
        XCTAssertEqual(u32(0x414), 0xFFFF_FFFF)
        XCTAssertEqual(u64(0x418), 0x1234_5678_9ABC)
        XCTAssertEqual(v.segment(.cs), cs)
        XCTAssertTrue(nonZeroBytes().allSatisfy { (0x410..<0x420).contains($0) })
    }

    func testEverySegmentRegisterOffset() {
        let v = vmcb
        let registers: [(VMCB.SegmentRegister, Int)] = [(.es, 0x400), (.cs, 0x410), (.ss, 0x420), (.ds, 0x430), (.fs, 0x440),
                                                        (.gs, 0x450), (.gdtr, 0x460), (.ldtr, 0x470), (.idtr, 0x480), (.tr, 0x490)]
        for (i, (register, offset)) in registers.enumerated() {
            let s = VMCB.Segment(selector: UInt16(i + 1), attributes: UInt16(0x100 + i), limit: UInt32(0x1000 + i), base: UInt64(0x10_0000 + i))
            v.setSegment(register, s)
            XCTAssertEqual(u16(offset), UInt16(i + 1))
            XCTAssertEqual(u16(offset + 2), UInt16(0x100 + i))
            XCTAssertEqual(u32(offset + 4), UInt32(0x1000 + i))
            XCTAssertEqual(u64(offset + 8), UInt64(0x10_0000 + i))
        }
        // No two overlap: each still reads back what was written.
        for (i, (register, _)) in registers.enumerated() {
            XCTAssertEqual(v.segment(register).selector, UInt16(i + 1))
            XCTAssertEqual(v.segment(register).base, UInt64(0x10_0000 + i))
        }
    }

    func testSegmentAttributes() {
        XCTAssertEqual(SegmentAttributes.code64, 0xA9B)
        XCTAssertEqual(SegmentAttributes.data, 0xC93)
        XCTAssertEqual(SegmentAttributes.tss64Busy, 0x8B)
        XCTAssertEqual(SegmentAttributes.ldt, 0x82)
        // The same bits as the GDT descriptors (bits 40-47 and 52-55),
        // with the accessed bit set as the CPU would.
        func packed(_ descriptor: UInt64) -> UInt16 {
            UInt16((descriptor >> 40) & 0xFF) | UInt16((descriptor >> 52) & 0xF) << 8
        }
        XCTAssertEqual(packed(Descriptors.code64) | 1, SegmentAttributes.code64)
        XCTAssertEqual(packed(Descriptors.data) | 1, SegmentAttributes.data)
    }

    // MARK: CPUID policy

    let host = CPUIDPolicy.Registers(eax: 0x1234_5678, ebx: 0x9ABC_DEF0, ecx: 0x7FFF_FFFF, edx: 0xFFFF_FFFF)

    func testLeaf1HidesFeaturesAndAnnouncesAHypervisor() {
        let r = CPUIDPolicy.filter(leaf: 1, subleaf: 0, host: host)
        XCTAssertEqual(r.ecx, 0x7FFF_FFFF & ~(1 << 3 | 1 << 5 | 1 << 21 | 1 << 24) | 1 << 31)
        XCTAssertEqual(r.ecx & (1 << 24), 0)       // TSC-deadline: only with Emulation.tscDeadlineTimer
        XCTAssertEqual(r.ecx & (1 << 31), 1 << 31)
        XCTAssertEqual(r.ecx & (1 << 3), 0)        // MONITOR
        XCTAssertEqual(r.ecx & (1 << 5), 0)        // VMX
        XCTAssertEqual(r.ecx & (1 << 21), 0)       // x2APIC
        XCTAssertEqual(r.eax, host.eax)
        XCTAssertEqual(r.ebx, host.ebx)
        XCTAssertEqual(r.edx, host.edx)
        // Hypervisor bit set even if the host's is clear; nothing else appears.
        let bare = CPUIDPolicy.filter(leaf: 1, subleaf: 0, host: .init(eax: 0, ebx: 0, ecx: 0, edx: 0))
        XCTAssertEqual(bare, .init(eax: 0, ebx: 0, ecx: 0x8000_0000, edx: 0))
    }

    func testExtendedLeafHidesSVM() {
        let r = CPUIDPolicy.filter(leaf: 0x8000_0001, subleaf: 0, host: host)
        XCTAssertEqual(r, .init(eax: host.eax, ebx: host.ebx, ecx: 0x7FFF_FFFB, edx: host.edx))
        XCTAssertEqual(CPUIDPolicy.filter(leaf: 0x8000_000A, subleaf: 0, host: host), .init(eax: 0, ebx: 0, ecx: 0, edx: 0))
    }

    func testTernLeaves() {
        let base = CPUIDPolicy.filter(leaf: 0x4000_0000, subleaf: 0, host: host)
        XCTAssertEqual(base.eax, 0x4000_0001)
        XCTAssertEqual(base.ebx, 0x6E72_6554)
        XCTAssertEqual(base.ecx, 0x6E72_6554)
        XCTAssertEqual(base.edx, 0x6E72_6554)
        let signature = [base.ebx, base.ecx, base.edx].flatMap { r in (0..<4).map { UInt8(truncatingIfNeeded: r >> (8 * $0)) } }
        XCTAssertEqual(String(decoding: signature, as: UTF8.self), "TernTernTern")
        let version = CPUIDPolicy.filter(leaf: 0x4000_0001, subleaf: 0, host: host)
        XCTAssertEqual(version, .init(eax: UInt32(TERN_ABI_VERSION), ebx: 0, ecx: 0, edx: 0))
        // The rest of the hypervisor range is empty (hides anything below Tern).
        for leaf: UInt32 in [0x4000_0002, 0x4000_0100, 0x4000_FFFF] {
            XCTAssertEqual(CPUIDPolicy.filter(leaf: leaf, subleaf: 0, host: host), .init(eax: 0, ebx: 0, ecx: 0, edx: 0))
        }
    }

    func testOtherLeavesPassThrough() {
        for leaf: UInt32 in [0, 2, 4, 7, 0xB, 0xD, 0x3FFF_FFFF, 0x4001_0000, 0x8000_0000, 0x8000_0008, 0x8000_000B, 0xFFFF_FFFF] {
            for subleaf: UInt32 in [0, 1] {
                XCTAssertEqual(CPUIDPolicy.filter(leaf: leaf, subleaf: subleaf, host: host), host, "leaf \(String(leaf, radix: 16))")
            }
        }
    }

    // MARK: Permission maps

    func testMSRBitPositions() {
        func bit(_ msr: UInt32) -> [Int]? { PermissionMaps.msrBit(msr).map { [$0.byte, $0.bit] } }
        XCTAssertEqual(bit(0x0), [0, 0])
        XCTAssertEqual(bit(0x1), [0, 2])
        XCTAssertEqual(bit(0x4), [1, 0])
        XCTAssertEqual(bit(0x10), [4, 0])                   // TSC
        XCTAssertEqual(bit(0x1FFF), [0x7FF, 6])
        XCTAssertEqual(bit(0xC000_0000), [0x800, 0])
        XCTAssertEqual(bit(0xC000_0080), [0x800 + 0x20, 0])  // EFER
        XCTAssertEqual(bit(0xC000_0101), [0x800 + 0x40, 2])  // GS base
        XCTAssertEqual(bit(0xC000_1FFF), [0xFFF, 6])
        XCTAssertEqual(bit(0xC001_0000), [0x1000, 0])
        XCTAssertEqual(bit(0xC001_0114), [0x1045, 0])        // VM_CR
        XCTAssertEqual(bit(0xC001_1FFF), [0x17FF, 6])
        XCTAssertNil(bit(0x2000))
        XCTAssertNil(bit(0xBFFF_FFFF))
        XCTAssertNil(bit(0xC000_2000))
        XCTAssertNil(bit(0xC000_FFFF))
        XCTAssertNil(bit(0xC001_2000))
        XCTAssertNil(bit(0xFFFF_FFFF))
    }

    func withMap(bytes: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) {
        let map = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 4096)
        map.initializeMemory(as: UInt8.self, repeating: 0xFF)   // intercept everything
        body(map)
        map.deallocate()
    }

    func testAllowMSRClearsBothBitsAndNothingElse() {
        withMap(bytes: PermissionMaps.msrPages * 4096) { map in
            XCTAssertEqual(map.count, 8192)
            for msr in GuestMSRs.passThrough { PermissionMaps.allow(msr: msr, in: map) }
            PermissionMaps.allow(msr: 0xC001_0114, in: map)
            let ro = UnsafeRawBufferPointer(map)
            for msr in GuestMSRs.passThrough + [0xC001_0114] {
                XCTAssertFalse(PermissionMaps.isIntercepted(msr: msr, write: false, in: ro))
                XCTAssertFalse(PermissionMaps.isIntercepted(msr: msr, write: true, in: ro))
            }
            // FS/GS/KERNEL_GS base = 0xC0000100...102: byte 0x840, bits 0-5.
            XCTAssertEqual(map[0x840], 0b1100_0000)
            XCTAssertEqual(map[0x1045], 0b1111_1100)
            // Everything else still intercepted, both ways.
            for msr: UInt32 in [GuestMSRs.efer, GuestMSRs.pat, GuestMSRs.tsc, GuestMSRs.apicBase, 0xC000_0103, 0xC001_0115] {
                XCTAssertTrue(PermissionMaps.isIntercepted(msr: msr, write: false, in: ro), "msr \(String(msr, radix: 16))")
                XCTAssertTrue(PermissionMaps.isIntercepted(msr: msr, write: true, in: ro))
            }
            // STAR, LSTAR, CSTAR (0xC0000081-83): byte 0x820 bits 2-7;
            // SFMASK (0xC0000084): byte 0x821 bits 0-1; SYSENTER_CS/ESP/EIP
            // (0x174-0x176): byte 0x5D bits 0-5.
            XCTAssertEqual(map[0x820], 0b0000_0011)
            XCTAssertEqual(map[0x821], 0b1111_1100)
            XCTAssertEqual(map[0x5D], 0b1100_0000)
            let cleared = (0..<map.count).filter { map[$0] != 0xFF }
            XCTAssertEqual(cleared, [0x5D, 0x820, 0x821, 0x840, 0x1045])
        }
    }

    func testMSRsOutsideTheMapStayIntercepted() {
        withMap(bytes: 8192) { map in
            PermissionMaps.allow(msr: 0xC000_2000, in: map)
            PermissionMaps.allow(msr: 0x4000_0000, in: map)
            XCTAssertTrue(map.allSatisfy { $0 == 0xFF })
            XCTAssertTrue(PermissionMaps.isIntercepted(msr: 0xC000_2000, write: false, in: UnsafeRawBufferPointer(map)))
            XCTAssertTrue(PermissionMaps.isIntercepted(msr: 0x4000_0000, write: true, in: UnsafeRawBufferPointer(map)))
        }
        // A map too short for the bit: no write past it, and intercepted.
        withMap(bytes: 0x800) { map in
            PermissionMaps.allow(msr: 0xC000_0080, in: map)
            XCTAssertTrue(map.allSatisfy { $0 == 0xFF })
            XCTAssertTrue(PermissionMaps.isIntercepted(msr: 0xC000_0080, write: false, in: UnsafeRawBufferPointer(map)))
        }
    }

    func testReadAndWriteBitsAreSeparate() {
        withMap(bytes: 8192) { map in
            map[0x820] = 0b0000_0010     // EFER: reads pass, writes exit
            let ro = UnsafeRawBufferPointer(map)
            XCTAssertFalse(PermissionMaps.isIntercepted(msr: 0xC000_0080, write: false, in: ro))
            XCTAssertTrue(PermissionMaps.isIntercepted(msr: 0xC000_0080, write: true, in: ro))
        }
    }

    func testIOPorts() {
        withMap(bytes: PermissionMaps.ioPages * 4096) { map in
            XCTAssertEqual(map.count, 12288)
            PermissionMaps.allow(port: 0x3F8, in: map)
            PermissionMaps.allow(port: 0xFFFF, in: map)
            PermissionMaps.allow(port: 0, in: map)
            let ro = UnsafeRawBufferPointer(map)
            XCTAssertFalse(PermissionMaps.isIntercepted(port: 0x3F8, in: ro))
            XCTAssertTrue(PermissionMaps.isIntercepted(port: 0x3F9, in: ro))
            XCTAssertTrue(PermissionMaps.isIntercepted(port: 0x3F7, in: ro))
            XCTAssertFalse(PermissionMaps.isIntercepted(port: 0xFFFF, in: ro))
            XCTAssertFalse(PermissionMaps.isIntercepted(port: 0, in: ro))
            XCTAssertEqual(map[0x7F], 0xFE)           // 0x3F8 = byte 0x7F, bit 0
            XCTAssertEqual(map[0x1FFF], 0x7F)         // 0xFFFF = byte 0x1FFF, bit 7
            XCTAssertEqual(map[0], 0xFE)
            XCTAssertEqual((0..<map.count).filter { map[$0] != 0xFF }, [0, 0x7F, 0x1FFF])
        }
    }

    // MARK: Page tables: the user bit in upper levels

    var tableMemory: FakeHostMemory!
    var nextFrame: UInt64 = 0

    func makeTables() -> (root: UInt64, allocate: () -> UInt64?) {
        tableMemory = FakeHostMemory.allocate(base: 0x40_0000, size: 64 * 4096, fill: 0xA5)
        nextFrame = 0x40_1000
        tableMemory.mutableBytes(at: 0x40_0000, count: 4096)!.initializeMemory(as: UInt8.self, repeating: 0)
        return (0x40_0000, { [unowned self] in
            guard self.nextFrame < self.tableMemory.end else { return nil }
            defer { self.nextFrame += 4096 }
            return self.nextFrame
        })
    }

    /// The raw entries of the walk for `virtual`, top level first.
    func walk(_ root: UInt64, _ virtual: UInt64) -> [UInt64] {
        var table = root
        var entries: [UInt64] = []
        for level in stride(from: 3, through: 0, by: -1) {
            let entry = tableMemory.u64(at: table + 8 * UInt64((virtual >> (12 + 9 * UInt64(level))) & 0x1FF))
            entries.append(entry)
            if entry & 1 == 0 || (level > 0 && entry & PageFlags.largePage.rawValue != 0) { break }
            table = entry & PageTable.addressMask
        }
        return entries
    }

    func testUserLeafMakesEveryUpperEntryUser() throws {
        let (root, allocate) = makeTables()
        defer { tableMemory.deallocate() }
        let v: UInt64 = 0x0000_7F12_3456_7000
        try PageTable.map(root: root, virtual: v, physical: 0x9000_0000, size: 4096, flags: [.present, .writable, .user],
                          memory: tableMemory, allocateFrame: allocate)
        let entries = walk(root, v)
        XCTAssertEqual(entries.count, 4)
        for e in entries.dropLast() {
            XCTAssertEqual(e & 0x7, 0x7, "upper entries: present, writable, user")
            XCTAssertEqual(e & PageFlags.noExecute.rawValue, 0)
        }
        XCTAssertEqual(entries[3], 0x9000_0000 | 0x7)
        XCTAssertEqual(PageTable.translate(root: root, virtual: v + 0x123, memory: tableMemory)?.physical, 0x9000_0123)
    }

    func testSupervisorLeafLeavesUpperEntriesSupervisor() throws {
        let (root, allocate) = makeTables()
        defer { tableMemory.deallocate() }
        let v: UInt64 = 0x0000_0040_0020_0000
        try PageTable.map(root: root, virtual: v, physical: 0x20_0000, size: 2 << 20, flags: [.present, .writable, .noExecute],
                          memory: tableMemory, allocateFrame: allocate)
        let entries = walk(root, v)
        XCTAssertEqual(entries.count, 3)            // PML4E, PDPTE, 2 MiB PDE
        for e in entries.dropLast() {
            XCTAssertEqual(e & 0x7, 0x3)
            XCTAssertEqual(e & PageFlags.noExecute.rawValue, 0, "no NX above the leaf")
        }
        XCTAssertEqual(entries[2], 0x20_0000 | PageFlags([.present, .writable, .noExecute, .largePage]).rawValue)
    }

    func testUserLeafUpgradesSharedSupervisorTables() throws {
        let (root, allocate) = makeTables()
        defer { tableMemory.deallocate() }
        let v: UInt64 = 0x0000_0000_8000_0000
        try PageTable.map(root: root, virtual: v, physical: 0x1000, size: 4096, flags: [.present, .writable],
                          memory: tableMemory, allocateFrame: allocate)
        XCTAssertTrue(walk(root, v).allSatisfy { $0 & 0x4 == 0 })
        // A user page in the same page table: the shared upper entries gain U.
        try PageTable.map(root: root, virtual: v + 4096, physical: 0x2000, size: 4096, flags: [.present, .user],
                          memory: tableMemory, allocateFrame: allocate)
        let user = walk(root, v + 4096)
        for e in user.dropLast() { XCTAssertEqual(e & 0x7, 0x7) }
        XCTAssertEqual(user[3] & 0x7, 0x5)          // leaf: user, read-only
        // The first leaf stays supervisor: the leaf decides.
        let first = walk(root, v)
        XCTAssertEqual(first[3] & 0x7, 0x3)
        XCTAssertEqual(PageTable.translate(root: root, virtual: v, memory: tableMemory)?.flags.intersection(.permissionMask),
                       [.present, .writable])
        XCTAssertEqual(nextFrame, 0x40_4000)        // PDPT, PD, PT: the second map allocated nothing
    }
}
