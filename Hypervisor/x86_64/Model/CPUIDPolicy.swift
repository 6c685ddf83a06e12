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
    static let leaf1ECXOSXSAVE: UInt32 = 1 << 27
    // Leaf 0xD: XSAVE's components and sizes (APM vol. 3, "CPUID Fn0000_000D").
    static let extendedStateLeaf: UInt32 = 0xD
    static let firstComponentSubleaf: UInt32 = 2
    static let lastComponentSubleaf: UInt32 = 62
    // Leaf 6 EAX (thermal and power): the APIC timer always runs.
    static let powerLeaf: UInt32 = 6
    static let leaf6EAXARAT: UInt32 = 1 << 2
    // Leaf 0x80000001 ECX
    static let extECXSVM: UInt32 = 1 << 2
    static let svmFeatureLeaf: UInt32 = 0x8000_000A

    /// What Tern switches of the vCPU's extended state (ExtendedState):
    /// the XCR0 components and the XSAVE area they need.
    public struct ExtendedStateLimits: Equatable {
        public var components: UInt64, bytes: UInt32
        public init(components: UInt64, bytes: UInt32) { self.components = components; self.bytes = bytes }
    }

    /// `tscDeadlineTimer`: the guest's virtual LAPIC has the TSC-deadline
    /// mode and an always-running timer (Emulation.tscDeadlineTimer).
    /// `guestCR4`: OSXSAVE in leaf 1 is the guest's CR4 bit, not the host's
    /// (as the CPU reports it: software checks it before XGETBV).
    /// `extendedState`: leaf 0xD names only the components Tern switches.
    public static func filter(leaf: UInt32, subleaf: UInt32, host: Registers, tscDeadlineTimer: Bool = false,
                              guestCR4: UInt64? = nil, extendedState: ExtendedStateLimits? = nil) -> Registers {
        var r = host
        switch leaf {
        case 1:
            r.ecx &= ~(leaf1ECXMonitor | leaf1ECXVMX | leaf1ECXX2APIC | leaf1ECXTSCDeadline)
            r.ecx |= leaf1ECXHypervisor
            if tscDeadlineTimer { r.ecx |= leaf1ECXTSCDeadline }
            if let guestCR4 {
                r.ecx &= ~leaf1ECXOSXSAVE
                if guestCR4 & ExtendedState.cr4OSXSAVE != 0 { r.ecx |= leaf1ECXOSXSAVE }
            }
        case extendedStateLeaf:
            guard let limits = extendedState else { break }
            if subleaf == 0 {
                r.eax = UInt32(truncatingIfNeeded: limits.components)
                r.edx = UInt32(truncatingIfNeeded: limits.components >> 32)
                r.ecx = limits.bytes   // EBX (the size for the XCR0 in force) stays the CPU's
            } else if (firstComponentSubleaf...lastComponentSubleaf).contains(subleaf),
                      limits.components & (1 << UInt64(subleaf)) == 0 {
                r = Registers(eax: 0, ebx: 0, ecx: 0, edx: 0)
            }
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
