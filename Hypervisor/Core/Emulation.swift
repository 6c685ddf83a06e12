/// The devices Tern emulates or passes through for a domain, chosen when
/// the domain is built (as Xen's per-domain XEN_X86_EMU_* flags) and
/// independent of its privilege, which is for privileged hypercalls only.
/// The arch layer routes exits and interrupts by this set, never by a
/// domain's id (x86_64/Model/EmulatedDevices.swift).
public struct Emulation: OptionSet, Equatable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// A virtual local APIC: its MMIO page, timer and interrupt delivery.
    public static let localAPIC = Emulation(rawValue: 1 << 0)
    /// A virtual 16550 UART on the console's ports (COM1).
    public static let serialPort = Emulation(rawValue: 1 << 1)
    /// The domain programs the real 8259 pair through Tern, which watches
    /// what it writes (LegacyPICWatch).
    public static let legacyPICWatch = Emulation(rawValue: 1 << 2)
    /// The domain owns the machine's devices: their interrupts are
    /// reflected into it, its I/O ports and device memory reach the
    /// hardware, an access to a frame not its own is refused with #GP (not
    /// a crash: its drivers probe), and MSRs Tern does not model read 0
    /// and ignore writes. One domain at most.
    public static let hardware = Emulation(rawValue: 1 << 3)
    /// An 8259 pair that exists only in Tern (no real chip is touched):
    /// the domain programs it as on a PC, and its ISA lines (the virtual
    /// UART's IRQ 4) reach it through its LAPIC's LINT0 as ExtINT, Linux's
    /// "virtual wire" mode when it finds no MADT or MP table. For a Linux
    /// guest, whose 8250 driver needs an IRQ line (x86_64/Model/VirtualPIC.swift).
    public static let virtualPIC = Emulation(rawValue: 1 << 4)
    /// Its virtual LAPIC offers the TSC-deadline timer mode and says its
    /// timer always runs (CPUID.1:ECX.TSC_DEADLINE, CPUID.6:EAX.ARAT; the
    /// IA32_TSC_DEADLINE MSR). Linux then needs no PIT to calibrate or
    /// check its LAPIC timer (`apic_needs_pit`), which a guest without
    /// one requires. With .localAPIC only.
    public static let tscDeadlineTimer = Emulation(rawValue: 1 << 5)

    /// A CMOS clock of Tern's on ports 0x70/0x71 (VirtualRTC): the wall
    /// time, read only. Not with `.hardware` (the device owner has the
    /// real one).
    public static let cmosClock = Emulation(rawValue: 1 << 6)

    /// Counter 2 of an 8254 of Tern's and its gate in port 0x61
    /// (VirtualPIT): what Linux calibrates its CPU clock against at boot.
    /// Not with `.hardware` (the device owner has the real one).
    public static let pitChannel2 = Emulation(rawValue: 1 << 7)

    /// The 8259 watch passes accesses on to the real chips: only the
    /// domain that owns the hardware may have it, and then no virtual pair
    /// on the same ports.
    public var isConsistent: Bool {
        (!contains(.legacyPICWatch) || contains(.hardware)) && !(contains(.legacyPICWatch) && contains(.virtualPIC))
            && (!contains(.tscDeadlineTimer) || contains(.localAPIC))
            && !(contains(.cmosClock) && contains(.hardware))
            && !(contains(.pitChannel2) && contains(.hardware))
    }

    /// A HLT with interrupts off ends the domain as a poweroff: it has an
    /// interrupt controller of Tern's (a Linux guest; its poweroff and halt
    /// end in `cli; hlt` when nothing else powers it off), and no hardware
    /// whose NMI could still wake it. A PV guest has no LAPIC (it blocks
    /// with TERN_HC_BLOCK); Dom0 owns the machine (docs/porting.md).
    public var haltWithInterruptsOffIsPowerOff: Bool { contains(.localAPIC) && !contains(.hardware) }

    /// Dom0's set: a Linux that drives the machine.
    public static let deviceOwner: Emulation = [.localAPIC, .serialPort, .legacyPICWatch, .hardware]
}
