import TernCore
import TernCPU

/// The one way an interrupt reaches a vCPU: through the vCPU's interrupt
/// controller model (docs/architecture.md, "Interrupt delivery").
///
/// - A vCPU with a virtual LAPIC (Emulation.localAPIC): every source ends
///   in the model. The hardware's interrupts (for the domain that owns it:
///   HardwareInterrupts), the ISA lines of its virtual devices and an
///   upcall routed to an ISA line (as the vector the domain programmed for
///   that line), an upcall routed to a LAPIC vector. At each entry the
///   model's deliverable vector is offered in V_IRQ (LocalAPICEmulation),
///   and acknowledged after the exit if the guest took it. The model says
///   when the vCPU may wake (VCPU.interruptControllerReady).
/// - A vCPU without one (a PV guest): the event upcall alone, offered in
///   V_IRQ on the vector the guest set (TERN_HC_SET_UPCALL), or not at all
///   (it polls its page, whose upcall_pending byte wakes it).
///
/// ISA lines exist for a domain that programs the machine's interrupt
/// controllers (Emulation.hardware): a line is mapped to a vector by the
/// IOAPIC pin it programmed once its LAPIC is enabled, and held as a level
/// (raised again at each tick and each EOI while up: raiseLevels); before
/// that by its 8259 (Emulation.legacyPICWatch), as an edge the 8259 queues.
enum InterruptDelivery {

    // MARK: Sources

    /// ISA line `irq` of the domain is up.
    static func raiseISALine(_ irq: UInt8, _ domain: Domain) {
        guard let vcpu = domain.vcpus.first, vcpu.context.hasLocalAPIC else { return }
        if LocalAPICEmulation.isActive(vcpu) && domain.emulation.contains(.hardware) {
            guard let vector = IOAPIC.vector(forPin: UInt32(irq)) else { return }
            LocalAPICEmulation.raiseLevel(vector, vcpu)
        } else if let vector = LegacyPICEmulation.vector(forIRQ: irq, of: domain) {
            // Its 8259 (the real pair before the hardware owner's IOAPIC
            // takes over; a virtual pair, Emulation.virtualPIC, always:
            // Linux's virtual wire mode keeps LINT0 in ExtINT).
            LocalAPICEmulation.acceptExternal(vector, vcpu)
        }
    }

    /// The domain's upcall on the route it attached with; a PV guest's is
    /// offered at entry instead (offerVirtualInterrupt).
    static func raiseUpcall(_ domain: Domain) {
        switch domain.upcall {
        case .virtualInterrupt:
            break
        case .isaLine(let irq):
            raiseISALine(irq, domain)
        case .localAPICVector(let vector):
            if let vcpu = domain.vcpus.first { LocalAPICEmulation.raiseLevel(vector, vcpu) }
        }
    }

    /// Lines that behave as levels, raised again while they are up: at
    /// every tick and at each of the domain's EOIs. The UART's, and the
    /// upcall's while upcall_pending is set in the event page (the guest
    /// may have had the line masked, or the vector in service, when the
    /// event came).
    static func raiseLevels(_ domain: Domain) {
        guard let vcpu = domain.vcpus.first, LocalAPICEmulation.isActive(vcpu) else { return }
        SerialPortEmulation.raiseInterruptIfPending(domain)
        // SAFETY: a byte inside the domain's event page, which Tern forgets
        // (page nil) before the page's memory goes (DomainTeardown).
        if let page = domain.events.page, page.upcallPendingFlag.pointee != 0 { raiseUpcall(domain) }
    }

    // MARK: Entry and exit

    /// Before VMRUN: the upcall EventDelivery made pending goes its way,
    /// then the vCPU's controller offers what it would deliver now.
    static func prepareEntry(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB) {
        if vcpu.context.hasLocalAPIC {
            if vcpu.upcallPending {
                vcpu.upcallPending = false
                raiseUpcall(domain)
            }
            LocalAPICEmulation.prepareEntry(vcpu, vmcb)
        } else {
            offerVirtualInterrupt(vcpu, vmcb)
        }
    }

    /// After VMRUN: what the guest took leaves the controller's request.
    static func afterExit(_ vcpu: VCPU, _ vmcb: VMCB) {
        if vcpu.context.hasLocalAPIC { LocalAPICEmulation.afterExit(vcpu, vmcb) }
    }

    /// A PV guest's upcall is a virtual interrupt (V_IRQ, APM vol. 2,
    /// 15.21.4): the CPU delivers it through the guest's IDT as soon as the
    /// guest has interrupts enabled, with no exit to wait for the window.
    /// Offered once; it stays in V_IRQ until taken.
    static func offerVirtualInterrupt(_ vcpu: VCPU, _ vmcb: VMCB) {
        guard vmcb.virtualInterrupt & VMCB.virtualIRQ == 0, vcpu.upcallPending else { return }
        vcpu.upcallPending = false
        // No vector: nothing to inject. The guest polls its event page,
        // where upcall_pending stays set until it clears it (BLOCK and HLT
        // return while it is set: VCPU.eventFlag).
        guard vcpu.upcallVector != 0 else { return }
        vmcb.virtualInterrupt = VMCB.virtualInterruptOffer(vector: vcpu.upcallVector,
                                                           priority: VMCB.virtualInterruptHighestPriority)
    }
}
