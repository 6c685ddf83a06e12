import TernCore
import TernCPU

/// The hypervisor's main loop on this CPU once boot is done: pick a vCPU,
/// run it until the next #VMEXIT, handle the exit, account timer ticks,
/// and idle with `sti; hlt` when nothing is runnable. Interrupts are off
/// everywhere in here except inside VMRUN and the idle halt.
enum RunLoop {
    static func run() -> Never {
        var seenTicks = Platform.ticks
        var current: VCPU?
        while true {
            HostTimer.recoverIfLost()
            if Platform.ticks != seenTicks || HostTimer.deadlineDue {
                while seenTicks != Platform.ticks {
                    Domains.scheduler.tick()
                    seenTicks &+= 1
                }
                HostTimer.deadlineDue = false
                ConsoleInput.poll()
                wakeTimers()
                if current != nil && Domains.scheduler.shouldPreempt() { current = nil }
            }
            if Interrupts.reflectedSinceLastCheck {   // a device interrupt for Dom0: wake it if halted
                Interrupts.reflectedSinceLastCheck = false
                wakeTimers()
            }
            if current == nil || current!.state != .running {
                current = Domains.scheduler.pickNext()
            }
            guard let vcpu = current else {
                tern_sti_hlt()   // nothing runnable: sleep until the next interrupt
                tern_cli()
                continue
            }
            guard let domain = Domains.domain(vcpu.domainID), let page = vcpu.context.vmcbPage else {
                current = nil
                continue
            }
            let vmcb = VMCB(base: page)
            if domain.timing.firstRun == 0 { domain.timing.firstRun = tern_rdtsc() }
            enter(vcpu, domain, vmcb)
            let next = Exits.handle(vcpu, domain, vmcb)
            // A timer it set (TERN_HC_SET_TIMER, or Dom0's LAPIC timer): wake for it.
            HostTimer.note(deadline: vcpu.timerDeadline)
            HostTimer.note(deadline: LocalAPICEmulation.timerDeadline(vcpu))
            if vmcb.exitCode == SVMExit.intr { tern_take_pending_interrupts() }
            if domain.state.isStopped {
                Domains.destroy(domain)
                current = nil
            } else if next == .reschedule {
                current = nil
            }
        }
    }

    /// One VMRUN: deliver a pending upcall, pick the ASID (and flush), run.
    static func enter(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB) {
        let apic = LocalAPICEmulation.isActive(vcpu)
        if apic {
            if vcpu.upcallPending { raiseDom0Upcall(vcpu, domain) }
            LocalAPICEmulation.prepareEntry(vcpu, vmcb)
        } else {
            deliverUpcall(vcpu, vmcb)
        }
        ASIDs.prepare(vcpu, vmcb)
        vcpu.context.upcallOfferedAtRIP = vmcb.virtualInterrupt & VMCB.virtualIRQ != 0 ? vmcb.rip : nil
        let start = tern_rdtsc()
        withUnsafeMutablePointer(to: &vcpu.context.registers) { registers in
            // SAFETY: GuestRegisters and tern_guest_regs are the same 14 u64s
            // in the same order (cpu.h; the size is checked at boot, Boot.swift);
            // the pointer does not outlive the call.
            registers.withMemoryRebound(to: tern_guest_regs.self, capacity: 1) { regs in
                tern_vmrun(vcpu.context.vmcb, regs, SVM.hostState)
            }
        }
        vcpu.cpuTimeCycles &+= tern_rdtsc() &- start
        if apic { LocalAPICEmulation.afterExit(vcpu, vmcb) }
        // An exit in the middle of delivering an event leaves it in
        // EXITINTINFO; it must be injected again (APM vol. 2, 15.7.2).
        let pending = vmcb.exitInterruptInfo
        vmcb.eventInjection = pending & VMCB.eventValid != 0 ? pending : 0
    }

    /// The upcall is a virtual interrupt (V_IRQ, APM vol. 2, 15.21.4): the
    /// CPU delivers it through the guest's IDT as soon as the guest has
    /// interrupts enabled, with no exit to wait for the window.
    static func deliverUpcall(_ vcpu: VCPU, _ vmcb: VMCB) {
        guard vmcb.virtualInterrupt & VMCB.virtualIRQ == 0 else { return }
        var vector: UInt8 = 0
        if let device = vcpu.pendingVectors.popHighest() {
            vector = device          // Dom0: a reflected hardware interrupt
        } else if vcpu.upcallPending {
            // No vector: nothing to inject. The guest polls its event page,
            // where upcall_pending stays set until it clears it (BLOCK and
            // HLT return while it is set: EventDelivery).
            vector = vcpu.upcallVector
            vcpu.upcallPending = false
        }
        guard vector != 0 else { return }
        vmcb.virtualInterrupt = VMCB.virtualInterruptOffer(vector: vector, priority: VMCB.virtualInterruptHighestPriority)
    }

    /// Dom0's upcall is an interrupt on the ISA IRQ its driver named
    /// (TERN_HC_DOM0_ATTACH), with the vector Dom0 programmed on that
    /// IOAPIC pin: Linux takes it like any device's.
    static func raiseDom0Upcall(_ vcpu: VCPU, _ dom0: Domain) {
        vcpu.upcallPending = false
        guard dom0.upcallIRQ != 0 else { return }
        HardwareInterrupts.raiseISA(irq: dom0.upcallIRQ, owner: dom0)
    }

    /// As a level: an upcall Dom0 has not taken yet (its pin was masked, or
    /// the event came while its handler ran, the vector in service) is
    /// raised again. At every tick and at each of Dom0's EOIs.
    static func raiseDom0UpcallIfPending(_ dom0: Domain) {
        // SAFETY: a byte inside Dom0's event page, set while Dom0 is attached
        // (the page is reset when it detaches: DomainTeardown).
        guard let page = dom0.events.page, page.upcallPendingFlag.pointee != 0, let vcpu = dom0.vcpus.first else { return }
        raiseDom0Upcall(vcpu, dom0)
    }

    /// Expired one-shot timers make an upcall pending and wake the vCPU;
    /// the ones still to come are told to HostTimer.
    static func wakeTimers() {
        let now = SystemTime.nowNanoseconds()
        for entry in Domains.table {
            guard let domain = entry, !domain.state.isStopped else { continue }
            if let first = domain.vcpus.first, LocalAPICEmulation.isActive(first) {
                for vcpu in domain.vcpus {
                    LocalAPICEmulation.updateTimer(vcpu, now: now)
                    HostTimer.note(deadline: LocalAPICEmulation.timerDeadline(vcpu))
                }
                // Its lines that behave as levels, raised again while up.
                if domain.emulation.contains(.serialPort) { Dom0Console.raiseInterruptIfPending(domain) }
                raiseDom0UpcallIfPending(domain)
            }
            var woke = false
            for vcpu in domain.vcpus {
                if vcpu.timerDeadline != 0 && vcpu.timerDeadline <= now { EventDelivery.timerExpired(vcpu, of: domain) }
                HostTimer.note(deadline: vcpu.timerDeadline)
                if vcpu.hasPendingEvent && domain.wake(vcpu) { woke = true }
            }
            if woke { domain.refreshState() }
        }
    }
}
