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
    // Leaf 0x80000001 ECX
    static let extECXSVM: UInt32 = 1 << 2
    static let svmFeatureLeaf: UInt32 = 0x8000_000A

    public static func filter(leaf: UInt32, subleaf: UInt32, host: Registers) -> Registers {
        var r = host
        switch leaf {
        case 1:
            r.ecx &= ~(leaf1ECXMonitor | leaf1ECXVMX | leaf1ECXX2APIC)
            r.ecx |= leaf1ECXHypervisor
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

/// The SVM I/O and MSR permission maps (AMD APM vol. 2, 15.10 and 15.11):
/// a set bit intercepts. Tern starts from "intercept everything" and opens
/// only what a domain may touch directly.
public enum PermissionMaps {
    /// IOPM: one bit per port, 64 Ki ports + 3 bits = 12 KiB (3 pages).
    public static let ioPages = 3
    /// MSRPM: two bits (read, write) per MSR in three ranges = 8 KiB.
    public static let msrPages = 2

    /// Byte and bit of the read-intercept bit of `msr` in the MSRPM (the
    /// write bit is the next one), or nil for MSRs outside the three
    /// ranges (always intercepted).
    public static func msrBit(_ msr: UInt32) -> (byte: Int, bit: Int)? {
        let rangeSize: UInt32 = 0x2000
        let start: UInt32, offset: Int
        switch msr {
        case 0x0000_0000..<rangeSize: (start, offset) = (0x0000_0000, 0x000)
        case 0xC000_0000..<(0xC000_0000 + rangeSize): (start, offset) = (0xC000_0000, 0x800)
        case 0xC001_0000..<(0xC001_0000 + rangeSize): (start, offset) = (0xC001_0000, 0x1000)
        default: return nil
        }
        let index = Int(msr - start) * 2
        return (offset + index / 8, index % 8)
    }

    /// Lets the guest read and write `msr` without an exit.
    public static func allow(msr: UInt32, in map: UnsafeMutableRawBufferPointer) {
        guard let (byte, bit) = msrBit(msr), byte < map.count else { return }
        map[byte] &= ~(UInt8(0b11) << UInt8(bit))
    }

    public static func isIntercepted(msr: UInt32, write: Bool, in map: UnsafeRawBufferPointer) -> Bool {
        guard let (byte, bit) = msrBit(msr), byte < map.count else { return true }
        return map[byte] & (1 << UInt8(bit + (write ? 1 : 0))) != 0
    }

    public static func deny(port: UInt16, in map: UnsafeMutableRawBufferPointer) {
        map[Int(port) / 8] |= 1 << UInt8(port % 8)
    }

    public static func allow(port: UInt16, in map: UnsafeMutableRawBufferPointer) {
        map[Int(port) / 8] &= ~(1 << UInt8(port % 8))
    }

    public static func isIntercepted(port: UInt16, in map: UnsafeRawBufferPointer) -> Bool {
        map[Int(port) / 8] & (1 << UInt8(port % 8)) != 0
    }
}

/// MSRs Tern lets every guest own outright: their values live in the VMCB
/// and move with VMLOAD/VMSAVE, so passing them through leaks nothing.
public enum GuestMSRs {
    public static let fsBase: UInt32 = 0xC000_0100
    public static let gsBase: UInt32 = 0xC000_0101
    public static let kernelGSBase: UInt32 = 0xC000_0102
    /// Saved and restored by VMSAVE/VMLOAD with the guest's VMCB (APM vol. 2,
    /// 15.5.2), so every guest may own them.
    public static let passThrough: [UInt32] = [fsBase, gsBase, kernelGSBase, star, lstar, cstar, sfmask,
                                               sysenterCS, sysenterESP, sysenterEIP]
    public static let star: UInt32 = 0xC000_0081, lstar: UInt32 = 0xC000_0082
    public static let cstar: UInt32 = 0xC000_0083, sfmask: UInt32 = 0xC000_0084
    public static let sysenterCS: UInt32 = 0x174, sysenterESP: UInt32 = 0x175, sysenterEIP: UInt32 = 0x176
    public static let efer: UInt32 = 0xC000_0080
    public static let pat: UInt32 = 0x277
    public static let tsc: UInt32 = 0x10
    public static let apicBase: UInt32 = 0x1B
    /// What a guest reads from IA32_APIC_BASE: the xAPIC at 0xFEE00000,
    /// enabled, this is the boot CPU (Tern emulates that LAPIC for Dom0).
    public static let apicBaseValue: UInt64 = 0xFEE0_0000 | 1 << 11 | 1 << 8
    /// EFER bits a guest may set: SCE, LME, NXE (LMA follows paging).
    public static let eferWritable: UInt64 = 1 << 0 | 1 << 8 | 1 << 11
    public static let eferLMA: UInt64 = 1 << 10
}
