import XCTest
@testable import TernCore

/// Exit information Tern decodes itself (AMD APM vol. 2, 15.10.2 IOIO,
/// 15.11 MSR, 15.25.6 nested page faults), the MSR decisions, the V_INTR
/// offer, and Dom0's LAPIC page accesses done on the register file.
final class ExitDecodingTests: VMCBPageTestCase {
    // MARK: IOIO (APM vol. 2, 15.10.2)

    func testIOExitInByte() {
        // IN AL, DX with DX = 0x3F8: TYPE, SZ8, A64 (as the CPU reports it).
        let io = IOExit(exitInfo1: 0x03F8 << 16 | 1 << 9 | 1 << 4 | 1, exitInfo2: 0x1000_0005)
        XCTAssertEqual(io.port, 0x3F8)
        XCTAssertTrue(io.isIn)
        XCTAssertFalse(io.isString)
        XCTAssertFalse(io.isRepeated)
        XCTAssertEqual(io.operandSize, 1)
        XCTAssertEqual(io.addressSize, 64)
        XCTAssertEqual(io.nextRIP, 0x1000_0005)
        XCTAssertEqual(io.operandMask, 0xFF)
    }

    func testIOExitOutWordAndRepString() {
        let out = IOExit(exitInfo1: 0x0CF8 << 16 | 1 << 8 | 1 << 5, exitInfo2: 0)
        XCTAssertEqual(out.port, 0xCF8)
        XCTAssertFalse(out.isIn)
        XCTAssertEqual(out.operandSize, 2)
        XCTAssertEqual(out.addressSize, 32)
        XCTAssertEqual(out.operandMask, 0xFFFF)

        // REP INSD, 16-bit addressing, port 0xFFFF (all 16 port bits).
        let ins = IOExit(exitInfo1: 0xFFFF << 16 | 1 << 7 | 1 << 6 | 1 << 3 | 1 << 2 | 1, exitInfo2: 0)
        XCTAssertEqual(ins.port, 0xFFFF)
        XCTAssertTrue(ins.isIn)
        XCTAssertTrue(ins.isString)
        XCTAssertTrue(ins.isRepeated)
        XCTAssertEqual(ins.operandSize, 4)
        XCTAssertEqual(ins.addressSize, 16)
        XCTAssertEqual(ins.operandMask, 0xFFFF_FFFF)
    }

    func testIOExitIgnoresBitsAboveThePort() {
        let io = IOExit(exitInfo1: 0xDEAD_0000_0000 | 0x0060 << 16 | 1 << 4 | 1, exitInfo2: 0)
        XCTAssertEqual(io.port, 0x60)
    }

    func testIOExitAllOnesReadForEachSize() {
        let rax: UInt64 = 0x1122_3344_5566_7788
        let sizes: [(UInt64, UInt64)] = [(1 << 4, 0x1122_3344_5566_77FF), (1 << 5, 0x1122_3344_5566_FFFF),
                                         (1 << 6, 0x1122_3344_FFFF_FFFF)]
        for (bit, expected) in sizes {
            let io = IOExit(exitInfo1: 0x80 << 16 | bit | 1, exitInfo2: 0)
            XCTAssertEqual(io.allOnesRead(rax: rax), expected, "size bit \(bit)")
        }
        // No size bit set (not produced by the CPU): a 32-bit mask, as before.
        XCTAssertEqual(IOExit(exitInfo1: 1, exitInfo2: 0).operandMask, 0xFFFF_FFFF)
    }

    func testIOExitByteRead() {
        XCTAssertEqual(IOExit.byteRead(rax: 0xFFFF_FFFF_FFFF_FF00, value: 0x5A), 0xFFFF_FFFF_FFFF_FF5A)
        XCTAssertEqual(IOExit.byteRead(rax: 0x1234, value: 0), 0x1200)
    }

    // MARK: Nested page faults (APM vol. 2, 15.25.6)

    func testNestedPageFaultBits() {
        let fault = NestedPageFault(exitInfo1: 1 << 33 | 1 << 32 | 1 << 4 | 1 << 3 | 1 << 2 | 1 << 1 | 1,
                                    exitInfo2: 0xFEE0_0300)
        XCTAssertTrue(fault.isPresent)
        XCTAssertTrue(fault.isWrite)
        XCTAssertTrue(fault.isUser)
        XCTAssertTrue(fault.isReservedBit)
        XCTAssertTrue(fault.isInstructionFetch)
        XCTAssertTrue(fault.isFinalTranslation)
        XCTAssertTrue(fault.isGuestTableWalk)
        XCTAssertEqual(fault.address, 0xFEE0_0300)

        let none = NestedPageFault(exitInfo1: 0, exitInfo2: 0)
        XCTAssertFalse(none.isPresent || none.isWrite || none.isUser || none.isReservedBit)
        XCTAssertFalse(none.isInstructionFetch || none.isFinalTranslation || none.isGuestTableWalk)
    }

    func testNestedPageFaultAccessKind() {
        XCTAssertEqual(NestedPageFault(exitInfo1: 1 << 32, exitInfo2: 0).accessKind.description, "read")
        XCTAssertEqual(NestedPageFault(exitInfo1: 1 << 32 | 1 << 1, exitInfo2: 0).accessKind.description, "write")
        XCTAssertEqual(NestedPageFault(exitInfo1: 1 << 32 | 1 << 4, exitInfo2: 0).accessKind.description,
                       "instruction fetch")
        // A fetch is named a fetch whatever RW says.
        XCTAssertEqual(NestedPageFault(exitInfo1: 1 << 4 | 1 << 1 | 1, exitInfo2: 0).accessKind.description,
                       "instruction fetch")
    }

    func testNestedPageFaultWriteToPresentPage() {
        XCTAssertTrue(NestedPageFault(exitInfo1: 1 << 32 | 1 << 1 | 1, exitInfo2: 0).isWriteToPresentPage)
        XCTAssertTrue(NestedPageFault(exitInfo1: 1 << 2 | 1 << 1 | 1, exitInfo2: 0).isWriteToPresentPage)
        XCTAssertFalse(NestedPageFault(exitInfo1: 1 << 32 | 1 << 1, exitInfo2: 0).isWriteToPresentPage,
                       "not present: outside the guest")
        XCTAssertFalse(NestedPageFault(exitInfo1: 1 << 32 | 1, exitInfo2: 0).isWriteToPresentPage,
                       "a read of a present page")
    }

    // MARK: MSRs (APM vol. 2, 15.11)

    func testMSRExitDecode() {
        let write = MSRExit(exitInfo1: 1, rcx: 0xFFFF_FFFF_0000_0277, rdx: 0xAAAA_AAAA_0007_0406,
                            rax: 0xBBBB_BBBB_0007_0406)
        XCTAssertTrue(write.isWrite)
        XCTAssertEqual(write.index, GuestMSRs.pat)
        XCTAssertEqual(write.value, 0x0007_0406_0007_0406, "EDX:EAX, upper halves ignored")

        let read = MSRExit(exitInfo1: 0, rcx: 0xC000_0080, rdx: 0, rax: 0)
        XCTAssertFalse(read.isWrite)
        XCTAssertEqual(read.index, GuestMSRs.efer)
        XCTAssertEqual(MSRExit.instructionLength, 2)
    }

    func testMSRResultRegisters() {
        let r = MSRExit.resultRegisters(0x1122_3344_5566_7788)
        XCTAssertEqual(r.rax, 0x5566_7788)
        XCTAssertEqual(r.rdx, 0x1122_3344)
    }

    func testValidPAT() {
        XCTAssertTrue(MSRExit.isValidPAT(0x0007_0406_0007_0406), "the reset value")
        XCTAssertTrue(MSRExit.isValidPAT(0))
        XCTAssertTrue(MSRExit.isValidPAT(0x0706_0504_0100_0100))
        for type: UInt64 in [2, 3, 8, 0x80, 0xFF] {
            for entry in 0..<8 {
                let value = 0x0007_0406_0007_0406 & ~(0xFF << (8 * UInt64(entry))) | type << (8 * UInt64(entry))
                XCTAssertFalse(MSRExit.isValidPAT(value), "type \(type) in entry \(entry)")
            }
        }
    }

    func testMSRWriteOutcomes() {
        let svme = MSRExit.eferSVME
        let current: UInt64 = 1 << 10 | 1 << 8 | svme   // LMA, LME, SVME
        XCTAssertEqual(MSRExit.write(GuestMSRs.pat, 0x0606_0606_0606_0606, currentEFER: current, ownsHardware: false),
                       .pat(0x0606_0606_0606_0606))
        XCTAssertEqual(MSRExit.write(GuestMSRs.pat, 0x02, currentEFER: current, ownsHardware: false), .refused)
        XCTAssertEqual(MSRExit.write(GuestMSRs.pat, 0x02, currentEFER: current, ownsHardware: true), .dropped)

        // SCE|LME|NXE written, LMA too (ignored): LMA kept from the CPU, SVME forced.
        XCTAssertEqual(MSRExit.write(GuestMSRs.efer, 1 << 0 | 1 << 8 | 1 << 11 | 1 << 10, currentEFER: current,
                                     ownsHardware: false),
                       .efer(1 << 0 | 1 << 8 | 1 << 11 | 1 << 10 | svme))
        XCTAssertEqual(MSRExit.write(GuestMSRs.efer, 1 << 8, currentEFER: svme, ownsHardware: false),
                       .efer(1 << 8 | svme), "LMA clear stays clear")
        XCTAssertEqual(MSRExit.write(GuestMSRs.efer, 0, currentEFER: current, ownsHardware: false),
                       .efer(1 << 10 | svme))
        XCTAssertEqual(MSRExit.write(GuestMSRs.efer, svme, currentEFER: current, ownsHardware: false), .refused,
                       "SVME is not the guest's")
        XCTAssertEqual(MSRExit.write(GuestMSRs.efer, svme, currentEFER: current, ownsHardware: true), .dropped)

        for index in [GuestMSRs.tsc, GuestMSRs.apicBase, 0xC001_0114, 0x8B] as [UInt32] {
            XCTAssertEqual(MSRExit.write(index, 0, currentEFER: current, ownsHardware: false), .refused)
            XCTAssertEqual(MSRExit.write(index, 0, currentEFER: current, ownsHardware: true), .dropped)
        }
    }

    func testMSRReads() {
        let efer: UInt64 = 1 << 10 | 1 << 8 | MSRExit.eferSVME
        var tscReads = 0
        func read(_ index: UInt32, ownsHardware: Bool = false) -> UInt64? {
            MSRExit.read(index, efer: efer, pat: 0x0007_0406_0007_0406, ownsHardware: ownsHardware,
                         tsc: { tscReads += 1; return 12345 })
        }
        XCTAssertEqual(read(GuestMSRs.efer), 1 << 10 | 1 << 8, "SVME hidden")
        XCTAssertEqual(read(GuestMSRs.pat), 0x0007_0406_0007_0406)
        XCTAssertEqual(read(GuestMSRs.apicBase), 0xFEE0_0900)
        XCTAssertEqual(tscReads, 0, "the TSC is read only for IA32_TSC")
        XCTAssertEqual(read(GuestMSRs.tsc), 12345)
        XCTAssertEqual(tscReads, 1)
        XCTAssertNil(read(0xC001_0114))
        XCTAssertNil(read(GuestMSRs.lstar), "pass-through MSRs never exit; if one did, it is not modelled")
        XCTAssertEqual(read(0xC001_0114, ownsHardware: true), 0)
    }

    func testKnownMSRs() {
        for index in [GuestMSRs.efer, GuestMSRs.pat, GuestMSRs.tsc, GuestMSRs.apicBase] {
            XCTAssertTrue(MSRExit.isKnown(index))
        }
        for index in [GuestMSRs.lstar, 0xC001_0114, 0x8B, 0] as [UInt32] {
            XCTAssertFalse(MSRExit.isKnown(index))
        }
    }

    // MARK: V_INTR (APM vol. 2, 15.21.4)

    func testVirtualInterruptOffer() {
        let upcall = VMCB.virtualInterruptOffer(vector: 0xF3, priority: VMCB.virtualInterruptHighestPriority)
        XCTAssertEqual(upcall, 0xF3 << 32 | 1 << 24 | 1 << 20 | 0xF << 16 | 1 << 8)
        let device = VMCB.virtualInterruptOffer(vector: 0x41, priority: 0x4)
        XCTAssertEqual(device & VMCB.virtualIRQ, VMCB.virtualIRQ)
        XCTAssertEqual((device >> 16) & 0xF, 4)
        XCTAssertEqual(device >> 32, 0x41)
        XCTAssertEqual(device & 0xFF, 0, "V_TPR untouched")
    }

    // MARK: Dom0's LAPIC page

    func instruction(_ bytes: [UInt8]) -> MMIOInstruction {
        guard let decoded = MMIOInstruction.decode(bytes) else {
            XCTFail("\(bytes) does not decode")
            return MMIOInstruction(operation: .storeImmediate(0), length: 0)
        }
        return decoded
    }

    func testGeneralRegistersInModRMOrder() {
        var context = VCPUContext()
        for n in 0..<16 { context.setGeneralRegister32(n, UInt32(0x100 + n), vmcb: vmcb) }
        XCTAssertEqual(vmcb.rax, 0x100)
        XCTAssertEqual(context.registers.rcx, 0x101)
        XCTAssertEqual(context.registers.rdx, 0x102)
        XCTAssertEqual(context.registers.rbx, 0x103)
        XCTAssertEqual(vmcb.rsp, 0x104)
        XCTAssertEqual(context.registers.rbp, 0x105)
        XCTAssertEqual(context.registers.rsi, 0x106)
        XCTAssertEqual(context.registers.rdi, 0x107)
        XCTAssertEqual(context.registers.r8, 0x108)
        XCTAssertEqual(context.registers.r15, 0x10F)
        for n in 0..<16 { XCTAssertEqual(context.generalRegister(n, vmcb: vmcb), UInt64(0x100 + n), "register \(n)") }
    }

    func testThirtyTwoBitLoadClearsTheUpperHalf() {
        var context = VCPUContext()
        context.registers.r9 = 0xFFFF_FFFF_FFFF_FFFF
        vmcb.rax = 0xFFFF_FFFF_FFFF_FFFF
        context.setGeneralRegister32(9, 0x1234, vmcb: vmcb)
        context.setGeneralRegister32(0, 0x5678, vmcb: vmcb)
        XCTAssertEqual(context.registers.r9, 0x1234)
        XCTAssertEqual(vmcb.rax, 0x5678)
    }

    func testRegisterAtPageOffset() {
        XCTAssertEqual(VirtualLAPIC.register(atPageOffset: 0x0B0), VirtualLAPIC.Register.eoi)
        XCTAssertEqual(VirtualLAPIC.register(atPageOffset: 0x0BC), VirtualLAPIC.Register.eoi)
        XCTAssertEqual(VirtualLAPIC.register(atPageOffset: 0x3FF), VirtualLAPIC.Register.selfIPI)
    }

    func testLoadFromTheLAPICPage() {
        var apic = VirtualLAPIC()
        var context = VCPUContext()
        context.registers.r10 = 0xDEAD_BEEF_DEAD_BEEF
        // mov r10d, [rdi+0x30]: 44 8B 57 30 (the version register).
        let load = instruction([0x44, 0x8B, 0x57, 0x30])
        XCTAssertEqual(load.length, 4)
        XCTAssertEqual(apic.perform(load, atPageOffset: 0x30, now: 0, context: &context, vmcb: vmcb), .none)
        XCTAssertEqual(context.registers.r10, UInt64(VirtualLAPIC.versionValue))

        // mov eax, [rip+disp32] at an unaligned offset inside SVR.
        vmcb.rax = 0xFFFF_FFFF_0000_0000
        let rip = instruction([0x8B, 0x05, 0, 0, 0, 0])
        XCTAssertEqual(apic.perform(rip, atPageOffset: 0xF4, now: 0, context: &context, vmcb: vmcb), .none)
        XCTAssertEqual(vmcb.rax, 0xFF, "SVR at reset, upper half cleared")
    }

    func testStoreToTheLAPICPage() {
        var apic = VirtualLAPIC()
        var context = VCPUContext()
        // mov [rax+0xF0], ecx: 89 88 F0 00 00 00, enabling the APIC.
        context.registers.rcx = 0xFFFF_FFFF_0000_01FF
        let store = instruction([0x89, 0x88, 0xF0, 0, 0, 0])
        XCTAssertEqual(apic.perform(store, atPageOffset: 0xF0, now: 0, context: &context, vmcb: vmcb), .none)
        XCTAssertTrue(apic.isEnabled)
        XCTAssertEqual(apic.svr, 0x1FF, "the low 32 bits")

        // mov [rsp], esp style: the stored register is the VMCB's RSP (89 24 24).
        vmcb.rsp = 0x80
        let fromRSP = instruction([0x89, 0x24, 0x24])
        XCTAssertEqual(apic.perform(fromRSP, atPageOffset: 0x80, now: 0, context: &context, vmcb: vmcb), .none)
        XCTAssertEqual(apic.tpr, 0x80)

        // movl $0, [rdx+0xB0]: C7 82 B0 00 00 00 00 00 00 00 (EOI) ends the vector in service.
        apic.accept(0x41, level: false)
        apic.acknowledge(0x41)
        let eoi = instruction([0xC7, 0x82, 0xB0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(eoi.length, 10)
        let before = context.registers
        XCTAssertEqual(apic.perform(eoi, atPageOffset: 0xB0, now: 0, context: &context, vmcb: vmcb),
                       .endOfInterrupt(0x41))
        XCTAssertEqual(context.registers, before, "a store changes no register")
    }
}
