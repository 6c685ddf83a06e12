/// The exit information of the #VMEXITs Tern decodes itself, named: the
/// hardware packs it into EXITINFO1/EXITINFO2 (AMD APM vol. 2, 15.10.2 for
/// IOIO, 15.25.6 for nested page faults), and Machine/Exits.swift only
/// acts on the fields.

/// An intercepted IN, OUT, INS or OUTS (SVMExit.ioio). EXITINFO1 (APM
/// vol. 2, 15.10.2, figure 15-2): bit 0 TYPE (1 IN, 0 OUT), bit 2 STR
/// (INS/OUTS), bit 3 REP, bits 4-6 SZ8/SZ16/SZ32 (one-hot operand size),
/// bits 7-9 A16/A32/A64 (one-hot address size), bits 16-31 the port.
/// EXITINFO2 is the RIP of the next instruction (given even without NRIP
/// save, so also under QEMU's TCG).
public struct IOExit: Equatable {
    static let inBit: UInt64 = 1 << 0
    static let stringBit: UInt64 = 1 << 2
    static let repBit: UInt64 = 1 << 3
    static let size8Bit: UInt64 = 1 << 4
    static let size16Bit: UInt64 = 1 << 5
    static let address16Bit: UInt64 = 1 << 7
    static let address32Bit: UInt64 = 1 << 8
    static let portShift: UInt64 = 16

    public var port: UInt16
    /// IN or INS (else OUT or OUTS).
    public var isIn: Bool
    /// INS or OUTS: memory is the other operand, not RAX.
    public var isString: Bool
    /// With a REP prefix (string forms).
    public var isRepeated: Bool
    /// Operand size in bytes: 1, 2 or 4. SZ8, else SZ16, else 4 (SZ32,
    /// the only one left; also what an encoding with none set gives).
    public var operandSize: Int
    /// Address size in bits (string forms): 16, 32 or 64.
    public var addressSize: Int
    /// Where the guest continues after the instruction.
    public var nextRIP: UInt64

    public init(exitInfo1 info: UInt64, exitInfo2: UInt64) {
        port = UInt16(truncatingIfNeeded: info >> IOExit.portShift)
        isIn = info & IOExit.inBit != 0
        isString = info & IOExit.stringBit != 0
        isRepeated = info & IOExit.repBit != 0
        operandSize = info & IOExit.size8Bit != 0 ? 1 : info & IOExit.size16Bit != 0 ? 2 : 4
        addressSize = info & IOExit.address16Bit != 0 ? 16 : info & IOExit.address32Bit != 0 ? 32 : 64
        nextRIP = exitInfo2
    }

    /// The bits of RAX an IN of this size writes: AL, AX or EAX.
    public var operandMask: UInt64 {
        switch operandSize {
        case 1: return 0xFF
        case 2: return 0xFFFF
        default: return 0xFFFF_FFFF
        }
    }

    /// RAX after an IN that reads all ones (an empty bus): the operand's
    /// bits set, the rest of RAX kept. For a 32-bit IN that keeps bits
    /// 32-63 too, which the CPU would clear (a 32-bit destination in
    /// 64-bit mode, APM vol. 1, 3.1.2.3): Tern's behaviour so far, kept.
    public func allOnesRead(rax: UInt64) -> UInt64 { rax | operandMask }

    /// RAX after an IN whose byte device answered `value`: AL replaced,
    /// the rest kept (Dom0's byte-wide emulated ports).
    public static func byteRead(rax: UInt64, value: UInt8) -> UInt64 { (rax & ~0xFF) | UInt64(value) }
}

/// A nested page fault (SVMExit.nestedPageFault): EXITINFO1 is the error
/// code, EXITINFO2 the faulting guest-physical address (APM vol. 2,
/// 15.25.6). Error code: bit 0 P (the nested entry was present: a
/// protection fault), bit 1 RW (a write), bit 2 US (user access), bit 3
/// RSV, bit 4 ID (instruction fetch); bit 32 set when the fault came from
/// the final guest-physical address, bit 33 when from a guest page-table
/// access during the guest's own walk.
public struct NestedPageFault: Equatable {
    static let presentBit: UInt64 = 1 << 0
    static let writeBit: UInt64 = 1 << 1
    static let userBit: UInt64 = 1 << 2
    static let reservedBit: UInt64 = 1 << 3
    static let fetchBit: UInt64 = 1 << 4
    static let finalTranslationBit: UInt64 = 1 << 32
    static let tableWalkBit: UInt64 = 1 << 33

    /// EXITINFO1 as the CPU gave it (for log lines).
    public var errorCode: UInt64
    /// The guest-physical address accessed.
    public var address: UInt64

    public init(exitInfo1: UInt64, exitInfo2: UInt64) {
        errorCode = exitInfo1
        address = exitInfo2
    }

    public var isPresent: Bool { errorCode & NestedPageFault.presentBit != 0 }
    public var isWrite: Bool { errorCode & NestedPageFault.writeBit != 0 }
    public var isUser: Bool { errorCode & NestedPageFault.userBit != 0 }
    public var isReservedBit: Bool { errorCode & NestedPageFault.reservedBit != 0 }
    public var isInstructionFetch: Bool { errorCode & NestedPageFault.fetchBit != 0 }
    public var isFinalTranslation: Bool { errorCode & NestedPageFault.finalTranslationBit != 0 }
    public var isGuestTableWalk: Bool { errorCode & NestedPageFault.tableWalkBit != 0 }

    /// A write to a page the nested table maps (P and RW): it is mapped
    /// read-only there (a read-only grant mapping, a device page).
    public var isWriteToPresentPage: Bool { isPresent && isWrite }

    /// The access, for log lines: a fetch is named as such even though
    /// its RW bit is clear, else write or read.
    public var accessKind: StaticString {
        isInstructionFetch ? "instruction fetch" : isWrite ? "write" : "read"
    }
}
