import TernCore
import TernCPU

/// The local APIC (AMD APM vol. 2, chapter 16), xAPIC MMIO mode, mapped
/// uncached at Layout.lapicVirtual. Tern keeps the physical LAPIC timer.
enum LAPIC {
    static let baseMSR: UInt32 = 0x1B
    static let baseMSRGlobalEnable: UInt64 = 1 << 11
    static let baseAddressMask: UInt64 = 0x000F_FFFF_FFFF_F000

    /// Register offsets (Model/XAPICRegister.swift).
    typealias Register = XAPICRegister

    static let flatModel: UInt32 = 0xFFFF_FFFF
    static let allLogicalGroups: UInt32 = 0xFF00_0000

    static let softwareEnable: UInt32 = 1 << 8   // in the spurious vector register
    static let lvtMasked: UInt32 = 1 << 16
    /// LVT timer mode: periodic (the initial count reloads at zero).
    static let lvtTimerPeriodic: UInt32 = 1 << 17
    /// LVT delivery mode ExtINT: the 8259 PIC supplies the vector.
    static let lvtExtINT: UInt32 = 0b111 << 8
    static let divideBy16: UInt32 = 0x3
    static let timerDivisor: UInt64 = 16

    /// The LAPIC's physical address, from IA32_APIC_BASE; also enables it.
    static func physicalBase() -> UInt64 {
        let msr = tern_rdmsr(baseMSR)
        tern_wrmsr(baseMSR, msr | baseMSRGlobalEnable)
        return msr & baseAddressMask
    }

    static func read(_ register: Int) -> UInt32 { tern_mmio_read32(Layout.lapicVirtual + UInt64(register)) }
    static func write(_ register: Int, _ value: UInt32) { tern_mmio_write32(Layout.lapicVirtual + UInt64(register), value) }

    /// Software-enables the LAPIC with every local interrupt masked. In
    /// the flat logical model with every bit of the logical ID set, it
    /// accepts interrupts sent to any logical destination: Dom0 programs the
    /// IOAPIC and MSIs with its own (virtual) LAPIC's logical ID (Linux's
    /// flat mode), and this is the one CPU (SDM vol. 3, 10.6.2.2).
    static func enable() {
        write(Register.tpr, 0)
        write(Register.dfr, flatModel)
        write(Register.ldr, allLogicalGroups)
        write(Register.lvtLINT0, lvtMasked)
        write(Register.lvtLINT1, lvtMasked)
        write(Register.lvtError, lvtMasked)
        write(Register.lvtTimer, lvtMasked)
        write(Register.svr, softwareEnable | UInt32(Layout.Vector.lapicSpurious))
    }

    static func endOfInterrupt() { write(Register.eoi, 0) }

    /// Whether `vector` is in service: a fixed interrupt (IOAPIC, MSI) is,
    /// until its EOI; one from the 8259 through LINT0 in ExtINT mode is
    /// not (and takes no EOI). SDM vol. 3, 10.8.4.
    static func isInService(_ vector: UInt8) -> Bool {
        read(Register.isr + Int(vector / 32) * Register.stride) & (1 << UInt32(vector % 32)) != 0
    }

    /// Lets the 8259 PIC's interrupts through LINT0 (virtual-wire mode),
    /// for Dom0 driving the legacy interrupt controller.
    static func enableLegacyPICInput() { write(Register.lvtLINT0, lvtExtINT) }

    /// Starts a masked one-shot countdown from the maximum (calibration).
    static func startFreeRunning() {
        write(Register.timerDivide, divideBy16)
        write(Register.lvtTimer, lvtMasked | UInt32(Layout.Vector.lapicTimer))
        write(Register.timerInitial, UInt32.max)
    }

    static var currentCount: UInt32 { read(Register.timerCurrent) }

    /// Periodic mode on Tern's timer vector: HostTimer arms each countdown
    /// and re-arms it at each interrupt, so a period repeats only when an
    /// interrupt was not taken (a guard against lost ones, HostTimer.swift).
    static func startPeriodic() {
        write(Register.timerDivide, divideBy16)
        write(Register.lvtTimer, lvtTimerPeriodic | UInt32(Layout.Vector.lapicTimer))
    }

    /// Interrupt after `counts` (divide by 16), replacing any countdown
    /// (a write of the initial count restarts it, APM vol. 2, 16.4.1).
    static func startCountdown(_ counts: UInt64) {
        write(Register.timerInitial, UInt32(max(1, min(counts, UInt64(UInt32.max)))))
    }

    /// Makes the LAPIC evaluate its pending interrupts again: writing the
    /// task priority does (SDM vol. 3, 10.8.3.1). Under QEMU's TCG this
    /// raises again an interrupt request the CPU lost while the vector
    /// stayed in the IRR; on hardware it is a no-op.
    static func reevaluatePending() { write(Register.tpr, read(Register.tpr)) }
}
