import TernCPU

/// The one entry from every Boot/isr.asm stub. Exceptions are fatal to the
/// hypervisor (guests' exceptions arrive as #VMEXITs, not here): they print
/// the panic report. The LAPIC timer ticks; stray vectors are logged.
@_cdecl("tern_interrupt")
func ternInterrupt(_ frame: UnsafeMutablePointer<tern_interrupt_frame>) {
    // SAFETY: frame points at the registers isr_common just pushed on this stack.
    let vector = Int(frame.pointee.vector)
    switch vector {
    case Exceptions.nmi:
        // An NMI (a watchdog, a platform error) is not the hypervisor's
        // fault: say so and carry on rather than stopping every guest.
        Log.warning("NMI received (RIP \(hex: frame.pointee.rip)); continuing")
    case 0..<Layout.Vector.exceptionCount:
        Panic.exception(frame.pointee)
    case Int(Layout.Vector.lapicTimer):
        Platform.ticks &+= 1
        LAPIC.endOfInterrupt()
    case Int(Layout.Vector.lapicSpurious):
        break  // spurious: no EOI (APM vol. 2, 16.4.7)
    case Int(Layout.Vector.legacyPICBase)..<Int(Layout.Vector.legacyPICBase) + 16:
        Log.debug("spurious legacy PIC interrupt, vector \(vector)")
    default:
        Log.warning("unexpected interrupt vector \(vector)")
        LAPIC.endOfInterrupt()
    }
}
