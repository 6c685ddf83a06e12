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
    /// IA32_TSC_DEADLINE (Intel SDM vol. 3, 10.5.4.1), for a virtual LAPIC
    /// with the TSC-deadline mode (Emulation.tscDeadlineTimer).
    public static let tscDeadline: UInt32 = 0x6E0
    /// MTRRcap and MTRRdefType (APM vol. 2, 7.7): read as 0, "no variable
    /// or fixed ranges, MTRRs disabled". With nested paging the guest's
    /// memory types come from its PAT and Tern's tables, not from MTRRs;
    /// Linux reads both unguarded when CPUID lists MTRRs (`mtrr_bp_init`).
    public static let mtrrCap: UInt32 = 0xFE
    public static let mtrrDefType: UInt32 = 0x2FF
    /// TSC_AUX (what RDTSCP returns in ECX): Tern never sets it, so it
    /// holds 0 = CPU 0, node 0, which is what a one-vCPU Linux writes
    /// (`setup_getcpu`): that write is accepted, any other refused, reads 0.
    public static let tscAux: UInt32 = 0xC000_0103
    /// NB_CFG (AMD family 17h PPR, MSRC001_001F): read as 0, writes
    /// ignored. A guest has no northbridge and no PCI configuration space
    /// behind it; Linux sets EnableCf8ExtCfg there unguarded for every
    /// CPU it brings online (`amd_bus_cpu_online`).
    public static let northBridgeConfig: UInt32 = 0xC001_001F
    /// What a guest reads from IA32_APIC_BASE: the xAPIC at 0xFEE00000,
    /// enabled, this is the boot CPU (Tern emulates that LAPIC for Dom0).
    public static let apicBaseValue: UInt64 = apicPage | 1 << 11 | 1 << 8
    /// The xAPIC's architectural page (APM vol. 2, 16.3.1), where every
    /// guest with a virtual LAPIC finds it.
    public static let apicPage: UInt64 = 0xFEE0_0000
    /// EFER bits a guest may set: SCE, LME, NXE (LMA follows paging).
    public static let eferWritable: UInt64 = 1 << 0 | 1 << 8 | 1 << 11
    public static let eferLMA: UInt64 = 1 << 10
}
