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
            if InterruptDelivery.raisedSinceLastCheck {   // an interrupt for a domain: wake it if halted
                InterruptDelivery.raisedSinceLastCheck = false
                wakeTimers()
            }
            if current == nil || current!.state != .running {
                current = Domains.scheduler.pickNext()
            }
            guard let vcpu = current else {
                if DomainPool.refillOne() { continue }   // idle: top the pool up, one shell at a time
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
                Domains.stopped(domain)
                current = nil
            } else if next == .reschedule {
                current = nil
            }
        }
    }

    /// One VMRUN: the vCPU's interrupts offered, the ASID picked (and
    /// flushed), its vector registers in place, run.
    static func enter(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB) {
        InterruptDelivery.prepareEntry(vcpu, domain, vmcb)
        ASIDs.prepare(vcpu, vmcb)
        vcpu.context.upcallOfferedAtRIP = vmcb.virtualInterrupt & VMCB.virtualIRQ != 0 ? vmcb.rip : nil
        GuestFPU.switchTo(vcpu)
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
        InterruptDelivery.afterExit(vcpu, vmcb)
        // An exit in the middle of delivering an event leaves it in
        // EXITINTINFO; it must be injected again (APM vol. 2, 15.7.2).
        let pending = vmcb.exitInterruptInfo
        vmcb.eventInjection = pending & VMCB.eventValid != 0 ? pending : 0
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
                InterruptDelivery.raiseLevels(domain)
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
