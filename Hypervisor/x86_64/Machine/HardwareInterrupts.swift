import TernCore
import TernCPU

/// What only the domain that owns the hardware (Emulation.hardware: Dom0)
/// needs from its virtual LAPIC. Device interrupts (the IOAPIC it
/// programs, MSIs) reach Tern's IDT with the vector it chose and go into
/// its vCPU's virtual IRR (LocalAPICEmulation); their physical EOI waits
/// for the domain's, so that a level-triggered line does not fire again
/// before it has served its device; and a physical EOI ends the highest
/// vector in service, so the domain's EOIs are passed on in that order.
enum HardwareInterrupts {

    /// A device interrupt for the owner arrived at Tern's IDT: `fixed` (in
    /// service on the physical LAPIC: the IOAPIC or an MSI) or from the
    /// 8259 through LINT0 (ExtINT: the owner acknowledges the 8259 itself).
    static func deviceInterrupt(_ vector: UInt8, fixed: Bool, owner: Domain) {
        guard let vcpu = owner.vcpus.first else { return }
        if fixed {
            physicalInService.insert(vector)
            LocalAPICEmulation.accept(vector, vcpu)
        } else {
            LocalAPICEmulation.acceptExternal(vector, vcpu)
        }
    }

    /// The owner ended `vector`: if it came from the hardware, end it there
    /// too, in the physical LAPIC's order (highest in service first).
    static func endOfInterrupt(_ vector: UInt8) {
        guard physicalInService.contains(vector) else { return }
        endedByOwner.insert(vector)
        while let top = physicalInService.highest, endedByOwner.contains(top) {
            physicalInService.remove(top)
            endedByOwner.remove(top)
            LAPIC.endOfInterrupt()
        }
    }

    /// The owner is gone: end whatever it left in service on the physical LAPIC.
    static func reset() {
        while let top = physicalInService.highest {
            physicalInService.remove(top)
            LAPIC.endOfInterrupt()
        }
        endedByOwner = VectorSet()
    }
}
