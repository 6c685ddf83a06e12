/// Accesses to a virtual LAPIC page (Machine/LocalAPICEmulation.swift): a decoded
/// MMIO instruction (MMIOInstruction) done on the virtual LAPIC, with the
/// guest's register file as the other operand. Pure: the glue that
/// fetches the instruction and acts on the effect stays in Machine.

extension VCPUContext {
    /// General register n in ModRM order (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP,
    /// 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15). RAX and RSP live in the VMCB's
    /// state save area (VMRUN and #VMEXIT keep them there, APM vol. 2,
    /// 15.5.1), the others in `registers`.
    public func generalRegister(_ n: Int, vmcb: VMCB) -> UInt64 {
        let r = registers
        switch n {
        case 0: return vmcb.rax
        case 1: return r.rcx
        case 2: return r.rdx
        case 3: return r.rbx
        case 4: return vmcb.rsp
        case 5: return r.rbp
        case 6: return r.rsi
        case 7: return r.rdi
        case 8: return r.r8
        case 9: return r.r9
        case 10: return r.r10
        case 11: return r.r11
        case 12: return r.r12
        case 13: return r.r13
        case 14: return r.r14
        default: return r.r15
        }
    }

    /// A 32-bit load into general register n (numbered as above): the
    /// upper half is cleared, as for any 32-bit destination in 64-bit mode
    /// (APM vol. 1, 3.1.2.3).
    public mutating func setGeneralRegister32(_ n: Int, _ value: UInt32, vmcb: VMCB) {
        let v = UInt64(value)
        switch n {
        case 0: vmcb.rax = v
        case 1: registers.rcx = v
        case 2: registers.rdx = v
        case 3: registers.rbx = v
        case 4: vmcb.rsp = v
        case 5: registers.rbp = v
        case 6: registers.rsi = v
        case 7: registers.rdi = v
        case 8: registers.r8 = v
        case 9: registers.r9 = v
        case 10: registers.r10 = v
        case 11: registers.r11 = v
        case 12: registers.r12 = v
        case 13: registers.r13 = v
        case 14: registers.r14 = v
        default: registers.r15 = v
        }
    }
}

extension VirtualLAPIC {
    /// The register an access at `offset` in the page falls in: registers
    /// are 32 bits wide at 16-byte aligned offsets (APM vol. 2, 16.3).
    public static func register(atPageOffset offset: Int) -> Int { offset & ~0xF }

    /// Does `instruction`, which faulted at `offset` in the LAPIC page: a
    /// load reads the register into the general register it names, a store
    /// writes the low 32 bits of its register (or its immediate) to the
    /// register. What the write asks of Tern besides is returned. RIP is
    /// the caller's to advance (by `instruction.length`).
    public mutating func perform(_ instruction: MMIOInstruction, atPageOffset offset: Int, now: UInt64,
                                 context: inout VCPUContext, vmcb: VMCB) -> Effect {
        let register = VirtualLAPIC.register(atPageOffset: offset)
        switch instruction.operation {
        case .load(let n):
            context.setGeneralRegister32(n, read(register, now: now), vmcb: vmcb)
            return .none
        case .store(let n):
            return write(register, UInt32(truncatingIfNeeded: context.generalRegister(n, vmcb: vmcb)), now: now)
        case .storeImmediate(let value):
            return write(register, value, now: now)
        }
    }
}
