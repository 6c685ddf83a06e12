import XCTest
@testable import TernCore

/// A Linux kernel as an unprivileged guest (docs/porting.md, "Linux
/// guests"): the module roles, the builder (packed memory, ACPI tables,
/// start info), the ACPI tables themselves, and what its devices add: the
/// TSC-deadline LAPIC timer, the virtual 8259 pair, CPUID and MSRs.
final class LinuxGuestTests: XCTestCase {
    typealias R = VirtualLAPIC.Register

    func options(_ line: String) -> ModuleOptions {
        Array(line.utf8).withUnsafeBytes { ModuleOptions(parsing: $0) }
    }

    // MARK: Module options

    func testLinuxRolesAndTheGuestCommandLine() {
        let kernel = options("/boot/vmlinux role=linux mem=128M name=web -- console=ttyS0 quiet")
        XCTAssertEqual(kernel.role, .linuxKernel)
        XCTAssertEqual(kernel.memoryBytes, 128 << 20)
        XCTAssertEqual(kernel.name, Array("web".utf8))
        XCTAssertEqual(kernel.guestCommandLine, Array("console=ttyS0 quiet".utf8))
        XCTAssertTrue(kernel.problems.isEmpty)
        XCTAssertEqual(options("/boot/initrd.lz4 role=linux-initrd").role, .linuxInitrd)
        XCTAssertEqual(options("/boot/vmlinux role=linuxx").problems.count, 1, "a typo is refused, not a PV guest")
    }

    // MARK: ACPI tables

    func sum(_ bytes: ArraySlice<UInt8>) -> UInt8 { bytes.reduce(0, &+) }
    func u32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << UInt32(8 * $1) } }
    func u64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << UInt64(8 * $1) } }

    func testACPITablesRSDPToXSDTToAMADTWithOneLAPIC() {
        let base: UInt64 = 0xE_0000
        let t = ACPITables.build(base: base, localAPICAddress: 0xFEE0_0000, apicIDs: [0])
        // RSDP (ACPI 6.5, 5.2.5.3): signature, both checksums, revision 2.
        XCTAssertEqual(Array(t[0..<8]), Array("RSD PTR ".utf8))
        XCTAssertEqual(sum(t[0..<20]), 0, "ACPI 1.0 checksum")
        XCTAssertEqual(sum(t[0..<36]), 0, "extended checksum")
        XCTAssertEqual(t[15], 2)
        XCTAssertEqual(u32(t, 20), 36)
        let xsdt = Int(u64(t, 24) - base)
        XCTAssertEqual(xsdt % 16, 0)
        // XSDT: one entry, the MADT.
        XCTAssertEqual(Array(t[xsdt..<(xsdt + 4)]), Array("XSDT".utf8))
        let xsdtLength = Int(u32(t, xsdt + 4))
        XCTAssertEqual(xsdtLength, 36 + 8)
        XCTAssertEqual(sum(t[xsdt..<(xsdt + xsdtLength)]), 0)
        let madt = Int(u64(t, xsdt + 36) - base)
        // MADT: the LAPIC address, PCAT_COMPAT, one enabled LAPIC with ID 0, no IOAPIC.
        XCTAssertEqual(Array(t[madt..<(madt + 4)]), Array("APIC".utf8))
        let madtLength = Int(u32(t, madt + 4))
        XCTAssertEqual(madtLength, 36 + 8 + 8)
        XCTAssertEqual(madt + madtLength, t.count)
        XCTAssertEqual(sum(t[madt..<(madt + madtLength)]), 0)
        XCTAssertEqual(u32(t, madt + 36), 0xFEE0_0000)
        XCTAssertEqual(u32(t, madt + 40), 1, "PCAT_COMPAT: the virtual 8259 pair")
        XCTAssertEqual(Array(t[(madt + 44)..<(madt + 48)]), [0, 8, 0, 0], "type 0, length 8, UID 0, APIC ID 0")
        XCTAssertEqual(u32(t, madt + 48), 1, "enabled")
        XCTAssertLessThanOrEqual(t.count, Int(LinuxGuestBuilder.acpiTables.length))
    }

    func testACPITablesForSeveralCPUs() {
        let t = ACPITables.build(base: 0x10_0000, localAPICAddress: 0xFEE0_0000, apicIDs: [0, 2])
        let xsdt = Int(u64(t, 24) - 0x10_0000)
        let madt = Int(u64(t, xsdt + 36) - 0x10_0000)
        XCTAssertEqual(u32(t, madt + 4), 36 + 8 + 16)
        XCTAssertEqual(Array(t[(madt + 52)..<(madt + 56)]), [0, 8, 1, 2])
        XCTAssertEqual(sum(t[madt...]), 0)
    }

    // MARK: The builder

    func pvhKernel(at address: UInt64, payload: [UInt8]) -> [UInt8] {
        var note: [UInt8] = []
        note.storeAppend32(4)        // namesz ("Xen\0")
        note.storeAppend32(4)        // descsz
        note.storeAppend32(18)       // XEN_ELFNOTE_PHYS32_ENTRY
        note += Array("Xen".utf8) + [0]
        note.storeAppend32(UInt32(address))
        var b = ELFTestBuilder.simple(entry: address, address: address, payload: payload)
        b.headers.append(.init(type: 4, offset: 0, paddr: 0, fileSize: UInt64(note.count), memorySize: 0))
        b.headers[0].offset = b.payloadOffset
        b.headers[1].offset = b.payloadOffset + UInt64(payload.count)
        b.payload += note
        return b.bytes()
    }

    func testBuildPacksMemoryFromZeroWithTablesAndTheirMapEntry() throws {
        let machine = FakeHostMachine(base: 0x10_0000, size: 32 << 20)
        let domain = Domain(id: 3, name: Array("linux".utf8), privileged: false)
        let kernel = pvhKernel(at: 0x20_0000, payload: [0xC3, 1, 2, 3])
        let initrd = [UInt8](repeating: 0x5A, count: 5000)
        let freeBefore = machine.frames.freeFrames
        let start = try kernel.withUnsafeBytes { k in
            try initrd.withUnsafeBytes { i in
                try LinuxGuestBuilder.build(domain: domain, memoryBytes: 8 << 20, kernel: k, initrd: i,
                                            commandLine: Array("console=ttyS0".utf8), localAPICAddress: 0xFEE0_0000,
                                            host: machine.memory, frames: &machine.frames)
            }
        }
        XCTAssertEqual(start.entry, 0x20_0000)
        XCTAssertEqual(domain.memoryBytes, 8 << 20)
        let memory = GuestMemory(of: domain, host: machine.memory)
        func guest(_ gpa: UInt64, _ count: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            XCTAssertTrue(bytes.withUnsafeMutableBytes { memory.copyFromGuest(at: gpa, into: $0) })
            return bytes
        }
        XCTAssertEqual(guest(0x20_0000, 4), [0xC3, 1, 2, 3])
        XCTAssertEqual(guest(LinuxGuestBuilder.acpiTables.start, 8), Array("RSD PTR ".utf8))
        let info = guest(start.startInfo, 56)
        XCTAssertEqual(u64(info, 32), LinuxGuestBuilder.acpiTables.start, "rsdp_paddr")
        XCTAssertEqual(u32(info, 48), 3, "RAM, the tables (ACPI), RAM")
        let map = guest(u64(info, 40), 3 * 24)
        XCTAssertEqual(u64(map, 0), 0)
        XCTAssertEqual(u64(map, 8), LinuxGuestBuilder.acpiTables.start)
        XCTAssertEqual(u32(map, 16), PVHStartInfo.MemoryType.ram.rawValue)
        XCTAssertEqual(u64(map, 24), LinuxGuestBuilder.acpiTables.start)
        XCTAssertEqual(u32(map, 40), PVHStartInfo.MemoryType.acpi.rawValue)
        XCTAssertEqual(u64(map, 48) + u64(map, 56), 8 << 20, "RAM to the end of its memory")
        XCTAssertEqual(u32(info, 12), 1, "the initrd as a module")
        let module = guest(u64(info, 16), 16)
        XCTAssertEqual(guest(u64(module, 0), 4), [0x5A, 0x5A, 0x5A, 0x5A])
        XCTAssertEqual(u64(module, 8), 5000)
        XCTAssertEqual(DomainBuilder.release(domain, allocator: &machine.frames), 0)
        XCTAssertEqual(machine.frames.freeFrames, freeBefore, "every frame back")
    }

    func testBuildRefusalsTakeNoFrames() {
        let machine = FakeHostMachine(base: 0x10_0000, size: 16 << 20)
        let freeBefore = machine.frames.freeFrames
        func build(_ image: [UInt8], mem: UInt64) -> LinuxGuestBuilder.Error? {
            let domain = Domain(id: 3, name: Array("linux".utf8), privileged: false)
            do {
                _ = try image.withUnsafeBytes { k in
                    try LinuxGuestBuilder.build(domain: domain, memoryBytes: mem, kernel: k, initrd: nil, commandLine: [],
                                                localAPICAddress: 0xFEE0_0000, host: machine.memory, frames: &machine.frames)
                }
                return nil
            } catch { return error as? LinuxGuestBuilder.Error }
        }
        XCTAssertEqual(build(ELFTestBuilder.simple(payload: [1]).bytes(), mem: 4 << 20), .noPVHEntry)
        XCTAssertEqual(build(pvhKernel(at: 0x20_0000, payload: [1]), mem: 3 << 20), .badMemorySize(3 << 20))
        XCTAssertEqual(build(pvhKernel(at: 0x20_0000, payload: [1]), mem: 4 << 30), .badMemorySize(4 << 30))
        XCTAssertEqual(build(pvhKernel(at: 0x80_0000, payload: [1]), mem: 4 << 20),
                       .kernelOutsideMemory(start: 0x80_0000, end: 0x80_0001))
        XCTAssertEqual(build(pvhKernel(at: 0xE_0000, payload: [1]), mem: 4 << 20),
                       .kernelOutsideMemory(start: 0xE_0000, end: 0xE_0001), "over the ACPI tables")
        if case .outOfMemory = build(pvhKernel(at: 0x20_0000, payload: [1]), mem: 64 << 20) {} else {
            XCTFail("more memory than the machine has")
        }
        XCTAssertEqual(machine.frames.freeFrames, freeBefore)
    }

    // MARK: Devices

    func testOnlyALinuxGuestsHaltWithInterruptsOffIsAPowerOff() {
        XCTAssertTrue(Emulation([.localAPIC, .tscDeadlineTimer, .serialPort, .virtualPIC]).haltWithInterruptsOffIsPowerOff)
        XCTAssertFalse(Emulation.deviceOwner.haltWithInterruptsOffIsPowerOff, "Dom0: the hardware's NMI may wake it")
        XCTAssertFalse(Emulation([]).haltWithInterruptsOffIsPowerOff, "a PV guest")
        XCTAssertFalse(Emulation([.serialPort]).haltWithInterruptsOffIsPowerOff, "a PV guest with a UART")
    }

    func testLinuxGuestEmulationIsConsistentAndNeedsNoHardware() {
        let set: Emulation = [.localAPIC, .tscDeadlineTimer, .serialPort, .virtualPIC]
        XCTAssertTrue(set.isConsistent)
        XCTAssertFalse(Emulation([.tscDeadlineTimer]).isConsistent, "a TSC-deadline timer needs a LAPIC")
        XCTAssertFalse(Emulation([.hardware, .legacyPICWatch, .virtualPIC]).isConsistent, "one 8259 pair per domain")
        for p: UInt16 in [0x20, 0x21, 0xA0, 0xA1] {
            XCTAssertEqual(EmulatedDevices.device(forPort: p, string: false, in: set), .virtualPIC)
        }
        XCTAssertEqual(EmulatedDevices.device(forPort: 0x3F8, string: false, in: set), .serialPort)
        XCTAssertNil(EmulatedDevices.device(forPort: 0x40, string: false, in: set), "no PIT: all ones")
        XCTAssertEqual(EmulatedDevices.nestedFault(at: 0xFEE0_0030, writeToPresentPage: false, localAPICPage: 0xFEE0_0000, in: set),
                       .localAPIC(offset: 0x30))
        XCTAssertEqual(EmulatedDevices.nestedFault(at: 0x4000_0000, writeToPresentPage: false, localAPICPage: 0xFEE0_0000, in: set),
                       .refuseForeign, "outside its memory: #GP, as for Dom0 (/dev/mem reads fail cleanly)")
        XCTAssertEqual(EmulatedDevices.nestedFault(at: 0x4000_0000, writeToPresentPage: false, localAPICPage: 0xFEE0_0000, in: []),
                       .crash, "a PV guest outside its memory")
        XCTAssertNotNil(DomainContext(for: set).legacyPIC)
    }

    func testVirtual8259ReadsBackItsMaskAndNothingPending() {
        var pic = LegacyPICWatch(minimumVectorBase: 0x20)
        XCTAssertEqual(pic.virtualRead(commandPort: false), 0xFF, "masked at reset")
        // Linux's probe_8259A: a mask written is read back (else "NULL legacy PIC").
        _ = pic.data(0xFB)
        XCTAssertEqual(pic.virtualRead(commandPort: false), 0xFB)
        // init_8259A: ICW1, ICW2 = 0x30, ICW3, ICW4, then the mask.
        _ = pic.command(0x11); _ = pic.data(0x30); _ = pic.data(0x04); _ = pic.data(0x01); _ = pic.data(0xEF)
        XCTAssertEqual(pic.vector(forLine: 4), 0x34, "the UART's IRQ 4")
        XCTAssertEqual(pic.virtualRead(commandPort: false), 0xEF)
        _ = pic.command(0x0B)   // OCW3: read ISR
        XCTAssertEqual(pic.virtualRead(commandPort: true), 0, "an ExtINT vector is never in service")
    }

    func testCPUIDOffersTheTSCDeadlineTimerOnlyWhenAsked() {
        let host = CPUIDPolicy.Registers(eax: 0, ebx: 0, ecx: 1 << 24, edx: 0)
        XCTAssertEqual(CPUIDPolicy.filter(leaf: 1, subleaf: 0, host: host).ecx & (1 << 24), 0, "hidden by default")
        XCTAssertEqual(CPUIDPolicy.filter(leaf: 1, subleaf: 0, host: .init(eax: 0, ebx: 0, ecx: 0, edx: 0),
                                          tscDeadlineTimer: true).ecx & (1 << 24), 1 << 24)
        XCTAssertEqual(CPUIDPolicy.filter(leaf: 6, subleaf: 0, host: .init(eax: 0, ebx: 0, ecx: 0, edx: 0),
                                          tscDeadlineTimer: true).eax & (1 << 2), 1 << 2, "ARAT")
        XCTAssertEqual(CPUIDPolicy.filter(leaf: 6, subleaf: 0, host: .init(eax: 0, ebx: 0, ecx: 0, edx: 0)).eax, 0)
    }

    func testTSCDeadlineTimer() {
        var apic = VirtualLAPIC()
        _ = apic.write(R.svr, 0x1FF, now: 0)
        let tscHz: UInt64 = 2_000_000_000
        apic.writeTSCDeadline(5_000, tscNow: 1_000, tscHz: tscHz, now: 100)
        XCTAssertEqual(apic.timerDeadline, 0, "ignored outside TSC-deadline mode")
        XCTAssertEqual(apic.readTSCDeadline(), 0)
        _ = apic.write(R.lvtTimer, 0x4_00EF, now: 100)   // TSC-deadline mode, vector 0xEF
        XCTAssertTrue(apic.isTSCDeadlineMode)
        apic.writeTSCDeadline(1_000 + 2_000_000, tscNow: 1_000, tscHz: tscHz, now: 100)
        XCTAssertEqual(apic.timerDeadline, 100 + 1_000_000, "2M cycles at 2 GHz: 1 ms")
        XCTAssertEqual(apic.readTSCDeadline(), 2_001_000)
        _ = apic.write(R.timerInitial, 5, now: 200)
        XCTAssertEqual(apic.timerDeadline, 1_000_100, "the initial count is ignored in this mode")
        XCTAssertFalse(apic.updateTimer(now: 1_000_099))
        XCTAssertTrue(apic.updateTimer(now: 1_000_100))
        XCTAssertEqual(apic.deliverable, 0xEF)
        XCTAssertEqual(apic.readTSCDeadline(), 0, "fired: disarmed")
        XCTAssertEqual(apic.timerDeadline, 0)
        apic.writeTSCDeadline(10, tscNow: 1_000, tscHz: tscHz, now: 5_000)
        XCTAssertEqual(apic.timerDeadline, 5_000, "a deadline already passed fires at once")
        apic.writeTSCDeadline(0, tscNow: 1_000, tscHz: tscHz, now: 5_000)
        XCTAssertEqual(apic.timerDeadline, 0, "0 disarms")
        apic.writeTSCDeadline(UInt64.max, tscNow: 0, tscHz: tscHz, now: 5_000)
        XCTAssertGreaterThan(apic.timerDeadline, 5_000, "far away, without overflow")
        _ = apic.write(R.lvtTimer, 0x2_00EF, now: 6_000)  // periodic: a mode change disarms
        XCTAssertEqual(apic.timerDeadline, 0)
        XCTAssertEqual(apic.readTSCDeadline(), 0)
    }

    func testMSRsLinuxReadsUnguarded() {
        let efer: UInt64 = 1 << 12
        XCTAssertEqual(MSRExit.read(GuestMSRs.mtrrCap, efer: efer, pat: 0, ownsHardware: false, tsc: { 0 }), 0)
        XCTAssertEqual(MSRExit.read(GuestMSRs.mtrrDefType, efer: efer, pat: 0, ownsHardware: false, tsc: { 0 }), 0)
        XCTAssertEqual(MSRExit.read(GuestMSRs.tscAux, efer: efer, pat: 0, ownsHardware: false, tsc: { 0 }), 0)
        XCTAssertEqual(MSRExit.write(GuestMSRs.tscAux, 0, currentEFER: efer, ownsHardware: false), .dropped,
                       "CPU 0, node 0: what the register holds")
        XCTAssertEqual(MSRExit.write(GuestMSRs.tscAux, 1, currentEFER: efer, ownsHardware: false), .refused)
        XCTAssertEqual(MSRExit.write(GuestMSRs.mtrrDefType, 0xC06, currentEFER: efer, ownsHardware: false), .refused)
        XCTAssertEqual(MSRExit.read(GuestMSRs.northBridgeConfig, efer: efer, pat: 0, ownsHardware: false, tsc: { 0 }), 0)
        XCTAssertEqual(MSRExit.write(GuestMSRs.northBridgeConfig, 1 << 46, currentEFER: efer, ownsHardware: false), .dropped)
        XCTAssertNil(MSRExit.read(0xC001_0015, efer: efer, pat: 0, ownsHardware: false, tsc: { 0 }), "others still #GP")
    }
}
