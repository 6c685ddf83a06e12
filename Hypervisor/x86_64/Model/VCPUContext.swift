/// x86-64/SVM per-vCPU context: the VMCB page and the general registers
/// that VMRUN/#VMEXIT do not save (RAX and RSP live in the VMCB).
/// Layout must match `tern_guest_regs` in include/cpu.h (Boot/vmrun.asm).
public struct GuestRegisters: Equatable {
    public var rbx: UInt64 = 0, rcx: UInt64 = 0, rdx: UInt64 = 0, rsi: UInt64 = 0
    public var rdi: UInt64 = 0, rbp: UInt64 = 0, r8: UInt64 = 0, r9: UInt64 = 0
    public var r10: UInt64 = 0, r11: UInt64 = 0, r12: UInt64 = 0, r13: UInt64 = 0
    public var r14: UInt64 = 0, r15: UInt64 = 0
    public init() {}
}

public struct VCPUContext {
    /// Host physical address of the VMCB page (0 until the vCPU is built).
    public var vmcb: UInt64 = 0
    /// The same page as the hypervisor reaches it (direct map), so the
    /// exit path needs no address lookup.
    public var vmcbPage: UnsafeMutableRawPointer?
    public var registers = GuestRegisters()
    /// Its x87/SSE/AVX registers while another vCPU runs: a frame of its
    /// domain's, as Tern reaches it (Machine/GuestFPU.swift), and the XCR0
    /// it last set (ExtendedState).
    public var extendedStateArea: UnsafeMutableRawPointer?
    public var xcr0: UInt64 = ExtendedState.resetXCR0
    /// The ASID needs a TLB flush before the next VMRUN.
    public var flushTLB = true
    /// The guest RIP of the last VMRUN if it entered with a virtual
    /// interrupt offered (V_IRQ), else nil: a HLT or BLOCK at that very
    /// RIP after the interrupt was taken was woken by it (Exits).
    public var upcallOfferedAtRIP: UInt64?
    /// Its virtual LAPIC, if its domain has one (Emulation.localAPIC): one
    /// per vCPU, as Xen's vlapic (Machine/LocalAPICEmulation.swift).
    public var lapic: VirtualLAPIC?
    /// `lapic` is there: set with it (attachLocalAPIC). Tested on every
    /// entry and exit, where testing the optional itself would copy the
    /// model (about 150 instructions each way, measured under -icount).
    public private(set) var hasLocalAPIC = false

    /// Gives the vCPU its virtual LAPIC (at build, when its domain has one).
    public mutating func attachLocalAPIC() {
        lapic = VirtualLAPIC()
        hasLocalAPIC = true
    }
    /// The vector put in V_IRQ from `lapic` at the last entry, to learn
    /// after the exit whether the guest took it.
    public var offeredVector: UInt8?
    public init() {}
}
