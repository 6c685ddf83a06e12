/// The instructions a guest uses on a 32-bit MMIO register (Linux's
/// readl/writel and its APIC accessors): MOV r32 <- m32 (8B /r), MOV m32 <-
/// r32 (89 /r) and MOV m32 <- imm32 (C7 /0), with any ModRM/SIB addressing.
/// Decoded from the bytes at the guest's RIP, because under QEMU's TCG a
/// nested page fault comes with no decode assist and no next RIP
/// (platform-facts.md; APM vol. 2, 15.33). The address is not decoded: the
/// fault already gives it. Anything else is refused (nil), and the caller
/// treats the access as a fault.
public struct MMIOInstruction: Equatable {
    public enum Operation: Equatable {
        /// Load into general register n (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP,
        /// 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15): the low 32 bits, the upper
        /// 32 cleared (as any 32-bit register write in 64-bit mode).
        case load(register: Int)
        /// Store the low 32 bits of general register n.
        case store(register: Int)
        case storeImmediate(UInt32)
    }

    public var operation: Operation
    /// Bytes to skip to the next instruction.
    public var length: Int

    public static let maximumLength = 15

    /// Decodes 64-bit-mode code at the start of `bytes`.
    public static func decode(_ bytes: [UInt8]) -> MMIOInstruction? {
        var i = 0
        var rex: UInt8 = 0
        // Legacy prefixes: segment overrides and address size change
        // nothing here; operand size (66) would make it a 16-bit access.
        while i < bytes.count, [0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x67].contains(bytes[i]) { i += 1 }
        if i < bytes.count, bytes[i] & 0xF0 == 0x40 { rex = bytes[i]; i += 1 }
        guard rex & 0x08 == 0 else { return nil }          // REX.W: a 64-bit access
        guard i + 2 <= bytes.count else { return nil }
        let opcode = bytes[i]
        let modrm = bytes[i + 1]
        i += 2
        let mod = modrm >> 6, rm = modrm & 7
        let reg = Int((modrm >> 3) & 7) | (rex & 0x04 != 0 ? 8 : 0)
        guard mod != 3 else { return nil }                 // a register, not memory
        if rm == 4 {                                       // SIB byte
            guard i < bytes.count else { return nil }
            let base = bytes[i] & 7
            i += 1
            if mod == 0 && base == 5 { i += 4 }            // no base: disp32
        } else if mod == 0 && rm == 5 {
            i += 4                                         // RIP-relative disp32
        }
        if mod == 1 { i += 1 } else if mod == 2 { i += 4 }
        let operation: Operation
        switch opcode {
        case 0x8B: operation = .load(register: reg)
        case 0x89: operation = .store(register: reg)
        case 0xC7:
            guard reg & 7 == 0, i + 4 <= bytes.count else { return nil }
            operation = .storeImmediate(UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8
                                        | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
            i += 4
        default:
            return nil
        }
        guard i <= bytes.count, i <= maximumLength else { return nil }
        return MMIOInstruction(operation: operation, length: i)
    }
}

/// A guest's own page tables, read to find the instruction bytes at its RIP
/// (long mode, 4 levels, 4 KiB / 2 MiB / 1 GiB pages; APM vol. 2, 5.3).
public enum GuestPageWalk {
    /// CR0.PG: with it clear, linear addresses are physical (APM vol. 2, 3.1.1).
    public static let cr0PagingEnabled: UInt64 = 1 << 31
    static let present: UInt64 = 1 << 0
    static let largePage: UInt64 = 1 << 7
    static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000

    /// The guest-physical address of `linear`, or nil if a level is not
    /// present or unreadable. `read` gives the 8 bytes at a guest-physical
    /// address (nil if that is outside the guest).
    public static func translate(_ linear: UInt64, cr3: UInt64, read: (UInt64) -> UInt64?) -> UInt64? {
        var table = cr3 & addressMask
        var shift: UInt64 = 39
        while true {
            let index = (linear >> shift) & 0x1FF
            guard let entry = read(table + index * 8), entry & present != 0 else { return nil }
            let base = entry & addressMask
            if shift == 12 { return base | (linear & 0xFFF) }
            if entry & largePage != 0 && (shift == 30 || shift == 21) {
                let size: UInt64 = 1 << shift
                return (base & ~(size - 1)) | (linear & (size - 1))
            }
            table = base
            shift -= 9
        }
    }
}
