/// The xAPIC's register offsets in its 4 KiB MMIO page (AMD APM vol. 2,
/// table 16-2; Intel SDM vol. 3, table 10-1): each register is 32 bits
/// wide, 16-byte aligned; ISR, TMR and IRR are 8 registers each. One list
/// for the physical LAPIC (Machine/LAPIC.swift) and Dom0's virtual one
/// (VirtualLAPIC.swift).
public enum XAPICRegister {
    public static let id = 0x020, version = 0x030, tpr = 0x080, apr = 0x090, ppr = 0x0A0
    public static let eoi = 0x0B0, rrd = 0x0C0, ldr = 0x0D0, dfr = 0x0E0, svr = 0x0F0
    public static let isr = 0x100, tmr = 0x180, irr = 0x200, esr = 0x280, lvtCMCI = 0x2F0
    public static let icrLow = 0x300, icrHigh = 0x310
    public static let lvtTimer = 0x320, lvtThermal = 0x330, lvtPerf = 0x340
    public static let lvtLINT0 = 0x350, lvtLINT1 = 0x360, lvtError = 0x370
    public static let timerInitial = 0x380, timerCurrent = 0x390, timerDivide = 0x3E0
    public static let selfIPI = 0x3F0
    /// The distance between registers (and between the words of ISR, TMR, IRR).
    public static let stride = 0x10
}
