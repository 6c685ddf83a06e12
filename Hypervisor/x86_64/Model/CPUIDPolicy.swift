import TernABI

/// What a guest sees from CPUID: the host's answer, filtered (a pure
/// function, host-tested). Tern announces itself in the hypervisor leaves
/// and hides what guests must not use: SVM (no nested virtualization),
/// x2APIC, monitor/mwait, and the hypervisor leaves of anything below.
public enum CPUIDPolicy {
    public struct Registers: Equatable {
        public var eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32
        public init(eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
            self.eax = eax; self.ebx = ebx; self.ecx = ecx; self.edx = edx
        }
    }

    // Leaf 1 ECX
    static let leaf1ECXMonitor: UInt32 = 1 << 3
    static let leaf1ECXVMX: UInt32 = 1 << 5
    static let leaf1ECXX2APIC: UInt32 = 1 << 21
    static let leaf1ECXHypervisor: UInt32 = 1 << 31
    static let leaf1ECXTSCDeadline: UInt32 = 1 << 24
    // Leaf 6 EAX (thermal and power): the APIC timer always runs.
    static let powerLeaf: UInt32 = 6
    static let leaf6EAXARAT: UInt32 = 1 << 2
    // Leaf 0x80000001 ECX
    static let extECXSVM: UInt32 = 1 << 2
    static let svmFeatureLeaf: UInt32 = 0x8000_000A

    /// `tscDeadlineTimer`: the guest's virtual LAPIC has the TSC-deadline
    /// mode and an always-running timer (Emulation.tscDeadlineTimer).
    public static func filter(leaf: UInt32, subleaf: UInt32, host: Registers, tscDeadlineTimer: Bool = false) -> Registers {
        var r = host
        switch leaf {
        case 1:
            r.ecx &= ~(leaf1ECXMonitor | leaf1ECXVMX | leaf1ECXX2APIC | leaf1ECXTSCDeadline)
            r.ecx |= leaf1ECXHypervisor
            if tscDeadlineTimer { r.ecx |= leaf1ECXTSCDeadline }
        case powerLeaf:
            if tscDeadlineTimer { r.eax |= leaf6EAXARAT }
        case 0x8000_0001:
            r.ecx &= ~extECXSVM
        case svmFeatureLeaf:
            r = Registers(eax: 0, ebx: 0, ecx: 0, edx: 0)
        case TERN_CPUID_LEAF_BASE:
            r = Registers(eax: TERN_CPUID_LEAF_VERSION, ebx: TERN_CPUID_SIGNATURE,
                          ecx: TERN_CPUID_SIGNATURE, edx: TERN_CPUID_SIGNATURE)
        case TERN_CPUID_LEAF_VERSION:
            r = Registers(eax: UInt32(TERN_ABI_VERSION), ebx: 0, ecx: 0, edx: 0)
        case (TERN_CPUID_LEAF_VERSION + 1)...0x4000_FFFF:
            r = Registers(eax: 0, ebx: 0, ecx: 0, edx: 0)
        default:
            break
        }
        return r
    }
}
