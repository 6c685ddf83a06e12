/// An intercepted RDMSR or WRMSR (SVMExit.msr; AMD APM vol. 2, 15.11):
/// EXITINFO1 is 1 for WRMSR, 0 for RDMSR; the index is ECX and the value
/// is EDX:EAX (written by WRMSR, returned there by RDMSR). Which MSRs a
/// guest may use, and how, is decided here; Machine/Exits.swift applies
/// the outcome to the VMCB.
public struct MSRExit: Equatable {
    /// RDMSR (0F 32) and WRMSR (0F 30): no NRIP save under QEMU's TCG.
    public static let instructionLength: UInt64 = 2
    static let writeBit: UInt64 = 1 << 0

    public var isWrite: Bool
    public var index: UInt32
    /// EDX:EAX: the value WRMSR writes (meaningless for RDMSR).
    public var value: UInt64

    public init(exitInfo1: UInt64, rcx: UInt64, rdx: UInt64, rax: UInt64) {
        isWrite = exitInfo1 & MSRExit.writeBit != 0
        index = UInt32(truncatingIfNeeded: rcx)
        value = (rdx << 32) | (rax & 0xFFFF_FFFF)
    }

    /// RDMSR's result as the CPU returns it: low half in EAX, high half in
    /// EDX, the upper halves of RAX and RDX cleared.
    public static func resultRegisters(_ value: UInt64) -> (rax: UInt64, rdx: UInt64) {
        (value & 0xFFFF_FFFF, value >> 32)
    }

    /// What a WRMSR does.
    public enum WriteOutcome: Equatable {
        /// The guest's PAT becomes this (VMCB g_pat).
        case pat(UInt64)
        /// The guest's EFER becomes this (VMCB state save area).
        case efer(UInt64)
        /// Accepted and ignored: nothing is written anywhere.
        case dropped
        /// #GP, as on a CPU without that MSR (or for an invalid value).
        case refused
    }

    /// WRMSR: PAT with a valid value; EFER with only SCE/LME/NXE (and LMA,
    /// which is ignored: the CPU sets it) - SVME stays set, VMRUN needs it
    /// (APM vol. 2, 15.5.1). Anything else: dropped for the domain that owns the hardware (Dom0), which drives
    /// the platform (no real MSR is touched), refused for a guest.
    public static func write(_ index: UInt32, _ value: UInt64, currentEFER: UInt64, ownsHardware: Bool) -> WriteOutcome {
        switch index {
        case GuestMSRs.pat where isValidPAT(value):
            return .pat(value)
        case GuestMSRs.efer where value & ~(GuestMSRs.eferWritable | GuestMSRs.eferLMA) == 0:
            return .efer((currentEFER & GuestMSRs.eferLMA) | (value & GuestMSRs.eferWritable) | eferSVME)
        case GuestMSRs.tscAux where value == 0, GuestMSRs.northBridgeConfig:
            return .dropped
        default:
            return ownsHardware ? .dropped : .refused
        }
    }

    /// RDMSR: the few MSRs a PV guest may read (EFER without SVME, PAT,
    /// the TSC, APIC_BASE); nil (#GP) for any other, or 0 for Dom0. `tsc`
    /// is read only for the TSC.
    public static func read(_ index: UInt32, efer: UInt64, pat: UInt64, ownsHardware: Bool,
                            tsc: () -> UInt64) -> UInt64? {
        switch index {
        case GuestMSRs.efer: return efer & ~eferSVME
        case GuestMSRs.pat: return pat
        case GuestMSRs.tsc: return tsc()
        case GuestMSRs.apicBase: return GuestMSRs.apicBaseValue
        case GuestMSRs.mtrrCap, GuestMSRs.mtrrDefType, GuestMSRs.tscAux, GuestMSRs.northBridgeConfig: return 0
        default: return ownsHardware ? 0 : nil
        }
    }

    /// EFER.SVME (APM vol. 2, 15.4): set by Tern in the host's EFER and in
    /// every guest's (VMRUN refuses a guest EFER without it); guests never
    /// see it.
    public static let eferSVME: UInt64 = 1 << 12

    /// An MSR Tern models; any other that was not refused (Dom0's) is worth
    /// a debug line.
    public static func isKnown(_ index: UInt32) -> Bool {
        index == GuestMSRs.efer || index == GuestMSRs.pat || index == GuestMSRs.tsc || index == GuestMSRs.apicBase
            || index == GuestMSRs.mtrrCap || index == GuestMSRs.mtrrDefType || index == GuestMSRs.tscAux
            || index == GuestMSRs.northBridgeConfig
    }

    /// A PAT value the CPU accepts: each of the 8 entries (one byte each)
    /// a defined memory type - 0 UC, 1 WC, 4 WT, 5 WP, 6 WB, 7 UC- (APM
    /// vol. 2, 7.8.1); 2, 3 and 8-255 are reserved, and WRMSR of one is #GP.
    public static func isValidPAT(_ value: UInt64) -> Bool {
        for i in 0..<8 {
            let type = (value >> UInt64(8 * i)) & 0xFF
            if type == 2 || type == 3 || type > 7 { return false }
        }
        return true
    }
}
