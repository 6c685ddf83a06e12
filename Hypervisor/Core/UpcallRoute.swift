/// How a domain's event upcall reaches it (docs/abi.md, "Upcalls"): set
/// when its event page is attached. A PV guest is built with its page and
/// takes the upcall as a virtual interrupt; a Linux attaches its page
/// (TERN_HC_ATTACH) and names an interrupt of its own interrupt
/// controller, as Xen's HVM callback "via" does.
public enum UpcallRoute: Equatable {
    /// Straight to the vCPU (SVM's V_IRQ) on the vector it set with
    /// TERN_HC_SET_UPCALL, or none: it polls its page. The page's
    /// upcall_pending byte wakes it from BLOCK and HLT.
    case virtualInterrupt
    /// An ISA line (IRQ 3, 5 or 7) of the interrupt controllers the domain
    /// programs: an IOAPIC pin in APIC mode, an 8259 line before. Held up
    /// while upcall_pending is set, as a level.
    case isaLine(UInt8)
    /// A vector of its vCPU's virtual LAPIC (as Xen's callback vector),
    /// requested again while upcall_pending is set.
    case localAPICVector(UInt8)

    /// The page's upcall_pending byte itself wakes the vCPU. Otherwise the
    /// byte raises an interrupt, and the interrupt controller's state (a
    /// vector it would deliver) decides: a masked line must not wake it.
    public var flagWakes: Bool { self == .virtualInterrupt }
}
