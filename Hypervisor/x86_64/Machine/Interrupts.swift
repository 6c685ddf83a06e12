import TernCore
import TernCPU

/// The one entry from every Boot/isr.asm stub. Exceptions are fatal to the
/// hypervisor (guests' exceptions arrive as #VMEXITs, not here): they print
/// the panic report. The LAPIC timer (HostTimer) ticks and ends guests'
/// waits; stray vectors are logged.
@_cdecl("tern_interrupt")
func ternInterrupt(_ frame: UnsafeMutablePointer<tern_interrupt_frame>) {
    // SAFETY: frame points at the registers isr_common just pushed on this stack.
    let vector = Int(frame.pointee.vector)
    switch vector {
    case Exceptions.nmi:
        // An NMI (a watchdog, a platform error) is not the hypervisor's
        // fault: say so and carry on rather than stopping every guest.
        Log.warning("NMI received (RIP \(hex: frame.pointee.rip)); continuing")
    case 0..<Layout.Vector.exceptionCount where LAPIC.isInService(UInt8(vector)):
        // Not an exception: an interrupt Dom0 aimed at an exception vector
        // (it programs the IOAPIC and MSIs). Dropped, so it cannot fake a
        // fault in Tern. (AMD's LAPIC refuses vectors 0-15 as illegal;
        // QEMU's delivers them. On an error-code vector the stub pushed a
        // zero for the code the CPU did not push: Boot/isr.asm.)
        LAPIC.endOfInterrupt()
        Log.warning("interrupt on exception vector \(vector) (set by Dom0's IOAPIC or MSI programming): dropped")
    case 0..<Layout.Vector.exceptionCount:
        // SAFETY: frame, as above (read once more, whole, for the report).
        Panic.exception(frame.pointee)
    case Int(Layout.Vector.lapicTimer):
        HostTimer.interrupt()
        LAPIC.endOfInterrupt()
    case Int(Layout.Vector.lapicSpurious):
        // Spurious: no EOI (APM vol. 2, 16.4.7), unless Dom0 sent a real
        // interrupt on this vector, which would stay in service and block
        // every lower one, Tern's timer included.
        if LAPIC.isInService(Layout.Vector.lapicSpurious) { LAPIC.endOfInterrupt() }
    case Int(Layout.Vector.legacyPICBase)..<Int(Layout.Vector.legacyPICBase) + 16 where Domains.deviceOwner == nil:
        Log.debug("spurious legacy PIC interrupt, vector \(vector)")
    default:
        // Not Tern's: a device interrupt for the domain that owns the
        // hardware (Emulation.hardware: Dom0). Without one it is stray.
        if let owner = Domains.deviceOwner, !owner.state.isStopped {
            // Through the physical LAPIC (IOAPIC, MSI: in service until the
            // owner's EOI) or the 8259's ExtINT (the owner acknowledges the
            // 8259 itself): HardwareInterrupts tells which.
            HardwareInterrupts.deviceInterrupt(UInt8(vector), fixed: LAPIC.isInService(UInt8(vector)), owner: owner)
            InterruptDelivery.raisedSinceLastCheck = true
        } else {
            Log.warning("unexpected interrupt vector \(vector)")
            LAPIC.endOfInterrupt()
        }
    }
}
