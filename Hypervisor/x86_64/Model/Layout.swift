/// Tern's fixed addresses and sizes on x86-64: the one place for them.
/// Boot/layout.inc repeats the ones the assembly needs; linker.ld repeats
/// `imageBase`. Tern checks at boot that the image matches (Machine/Boot).
///
/// Virtual address space (4-level paging, 48-bit):
///   0x0000_0000_0020_0000  the image, at its physical address (identity)
///   0xFFFF_8800_0000_0000  direct map of all RAM (`directMapBase + phys`)
///   0xFFFF_FF80_0000_0000  fixed device mappings (LAPIC, ...), uncached
public enum Layout {
    public static let pageSize: UInt64 = 4096
    public static let largePageSize: UInt64 = 2 << 20

    /// Link and load address of the image (linker.ld IMAGE_BASE).
    public static let imageBase: UInt64 = 0x20_0000

    public static let directMapBase: UInt64 = 0xFFFF_8800_0000_0000
    /// The direct map spans one PML4 slot's worth: 512 GiB of RAM.
    public static let directMapSize: UInt64 = 512 << 30

    public static let fixmapBase: UInt64 = 0xFFFF_FF80_0000_0000
    public static let lapicVirtual: UInt64 = fixmapBase
    /// The first IOAPIC, where PC firmware puts it (QEMU's too; the ACPI
    /// MADT would say otherwise on an unusual machine). Tern reads Dom0's
    /// redirection entries through it (Machine/IOAPIC.swift).
    public static let ioapicPhysical: UInt64 = 0xFEC0_0000
    public static let ioapicVirtual: UInt64 = fixmapBase + 0x1000

    /// The early page tables (Boot/entry.asm) identity-map this much.
    public static let earlyIdentityMapEnd: UInt64 = 4 << 30

    /// Below 1 MiB: real-mode IVT, BIOS data, EBDA, VGA, option ROMs.
    /// Never handed out, whatever the memory map says.
    public static let lowMemoryEnd: UInt64 = 1 << 20

    // Stack slots (Boot/layout.inc): [guard page][stack] each. Slot 0 is
    // the boot stack; slot n (1...7) backs IST n.
    /// 16 KiB each; boot uses about 6 KiB of slot 0 (see the high-water
    /// mark at loglvl=debug) and a panic report about 3 KiB of its IST.
    public static let stackSize: UInt64 = 16 << 10
    public static let stackSlotSize: UInt64 = pageSize + stackSize
    public static let stackSlots = 8

    /// Interrupt stack table assignment (AMD APM vol. 2, 8.9.4): every
    /// vector gets an IST stack, the ones that can nest on a broken stack
    /// get their own.
    public enum IST {
        public static let exceptions: UInt8 = 1
        public static let doubleFault: UInt8 = 2
        public static let nmi: UInt8 = 3
        public static let machineCheck: UInt8 = 4
        public static let interrupts: UInt8 = 5
    }

    /// Interrupt vectors Tern uses.
    public enum Vector {
        public static let exceptionCount = 32
        /// The legacy 8259 PICs are remapped here and masked; anything
        /// that still arrives here is spurious.
        public static let legacyPICBase: UInt8 = 0x20
        public static let lapicTimer: UInt8 = 0xF0
        public static let lapicSpurious: UInt8 = 0xFF
    }

    /// GDT selectors (same as the early GDT in Boot/entry.asm).
    public enum Selector {
        public static let code64: UInt16 = 0x08
        public static let data: UInt16 = 0x10
        public static let tss: UInt16 = 0x18
    }

    /// Dom0's selectors at its PVH entry (flat 32-bit code and data, a busy
    /// TSS; the PVH spec leaves the values open: Linux loads its own GDT).
    public enum PVHSelector {
        public static let code32: UInt16 = 0x10
        public static let data: UInt16 = 0x18
        public static let tss: UInt16 = 0x20
    }

    /// LAPIC timer rate once calibrated.
    public static let timerHz: UInt64 = 100

    /// `selftest=pagefault` reads here: canonical, never mapped (it lies
    /// in the low half outside the image; only the image is identity-mapped).
    public static let selftestFaultAddress: UInt64 = 0x0000_0DEA_D000_0000
}
