import TernCore
import TernCPU

/// Dom0's interrupts in APIC mode (docs/dom0.md, "Interrupts"). Tern owns
/// the physical LAPIC; Dom0 gets a virtual one (Model/VirtualLAPIC.swift)
/// behind the page at 0xFEE00000, which is absent from its nested table:
/// each access is a nested page fault, emulated here. Device interrupts
/// (the IOAPIC that Dom0 programs, MSIs) reach Tern's IDT with the vector
/// Dom0 chose and go into the virtual IRR; their physical EOI waits for
/// Dom0's, so that a level-triggered line does not fire again before Dom0
/// has served its device.
enum Dom0APIC {
    // SAFETY: Dom0's exits (run loop) and device interrupts (deviceInterrupt,
    // taken only at the run loop's known points) update it in turn.
    nonisolated(unsafe) static var lapic = VirtualLAPIC()
    /// The physical LAPIC page, which Dom0 sees as its own (0xFEE00000).
    // SAFETY: set once when Dom0 is created (boot), only read after.
    nonisolated(unsafe) static var page: UInt64 = 0
    /// Device vectors in service on the physical LAPIC until Dom0's EOI.
    // SAFETY: as lapic (deviceInterrupt and Dom0's EOIs, never at once).
    nonisolated(unsafe) static var physicalInService = VectorBits()
    /// Ended by Dom0 while a higher one is still in service physically: a
    /// physical EOI ends the highest in-service vector, so these wait.
    // SAFETY: Dom0's EOI exits and reset() at its destroy: the run loop only.
    nonisolated(unsafe) static var endedByDom0 = VectorBits()
    /// The vector put in V_IRQ at the last entry, to learn whether Dom0 took it.
    // SAFETY: set before VMRUN, read after it, cleared by reset(): run loop only.
    nonisolated(unsafe) static var offered: UInt8?

    static var isActive: Bool { lapic.isEnabled }

    // MARK: Interrupt sources

    /// A device interrupt for Dom0 arrived at Tern's IDT: `fixed` (in
    /// service on the physical LAPIC: the IOAPIC or an MSI) or from the
    /// 8259 through LINT0 (ExtINT: Dom0 acknowledges the 8259 itself).
    static func deviceInterrupt(_ vector: UInt8, fixed: Bool, dom0: Domain) {
        if fixed {
            physicalInService.insert(vector)
            lapic.accept(vector, level: false)
        } else {
            lapic.acceptExternal(vector)
        }
        refresh(dom0)
    }

    /// A virtual device's line (the UART) on an ISA IRQ, asserted: the
    /// vector Dom0 gave that IOAPIC pin, unless that pin is masked or the
    /// vector is already requested or in service. Called whenever the line
    /// may have risen and at every tick, so it behaves as a level: a line
    /// that was high while Dom0 had the pin masked still interrupts once
    /// Dom0 unmasks it (Dom0 programs the IOAPIC without Tern seeing it).
    /// No physical EOI is involved.
    static func raiseISA(irq: UInt8, dom0: Domain) {
        guard let vector = IOAPIC.vector(forPin: UInt32(irq)),
              !lapic.irr.contains(vector), !lapic.isr.contains(vector) else { return }
        lapic.accept(vector, level: false)
        refresh(dom0)
    }

    /// Time passes: the virtual timer may fire.
    static func updateTimer(dom0: Domain, now: UInt64) {
        if lapic.updateTimer(now: now) { refresh(dom0) }
    }

    static func refresh(_ dom0: Domain) {
        if let vcpu = dom0.vcpus.first { refresh(vcpu) }
    }

    /// Whether Dom0's vCPU has a vector to take (wakes it from HLT).
    static func refresh(_ vcpu: VCPU) {
        vcpu.interruptControllerReady = lapic.deliverable != nil
    }

    // MARK: Entry and exit

    /// Before VMRUN: offer the vector the virtual LAPIC would deliver now
    /// as an SVM virtual interrupt (APM vol. 2, 15.21.4); the CPU takes it
    /// when Dom0 has interrupts enabled. TPR and priorities are the
    /// model's, so V_TPR is ignored.
    static func prepareEntry(_ vcpu: VCPU, _ vmcb: VMCB) {
        _ = lapic.updateTimer(now: SystemTime.nowNanoseconds())
        // Vectors queued in 8259 mode before Dom0 switched to its LAPIC.
        while let vector = vcpu.pendingVectors.popHighest() { lapic.acceptExternal(vector) }
        if let vector = lapic.deliverable {
            // Its priority class (vector bits 7:4) as V_INTR_PRIO.
            vmcb.virtualInterrupt = VMCB.virtualInterruptOffer(vector: vector, priority: UInt64(vector >> 4))
            offered = vector
        } else {
            vmcb.virtualInterrupt = VMCB.virtualInterruptMasking
            offered = nil
        }
    }

    /// After VMRUN: V_IRQ cleared means Dom0 took the offered vector
    /// (it is in service now, until Dom0's EOI).
    static func afterExit(_ vcpu: VCPU, _ vmcb: VMCB) {
        if let vector = offered, vmcb.virtualInterrupt & VMCB.virtualIRQ == 0 {
            lapic.acknowledge(vector)
        }
        offered = nil
        refresh(vcpu)
    }

    // MARK: The LAPIC page

    /// A nested page fault by Dom0 at `offset` in its LAPIC page: fetch the
    /// instruction at RIP through Dom0's page tables, decode it, do the
    /// register access on the model, skip the instruction. False if the
    /// instruction is not one Tern emulates (the caller refuses the access).
    static func emulate(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB, offset: Int) -> Bool {
        guard let bytes = instructionBytes(domain, vmcb), let instruction = MMIOInstruction.decode(bytes) else {
            return false
        }
        let effect = lapic.perform(instruction, atPageOffset: offset, now: SystemTime.nowNanoseconds(),
                                   context: &vcpu.context, vmcb: vmcb)
        switch effect {
        case .none: break
        case .endOfInterrupt(let vector):
            endOfInterrupt(vector)
            Dom0Console.raiseInterruptIfPending(domain)   // the UART's line may still be up
            RunLoop.raiseDom0UpcallIfPending(domain)      // so may the event upcall
        case .unsupportedIPI(let icr): Log.debug("d0: IPI \(hex: UInt64(icr)) not delivered (one vCPU, fixed IPIs to itself only)")
        }
        vmcb.rip &+= UInt64(instruction.length)
        refresh(domain)
        return true
    }

    /// Dom0 ended `vector`: if it came from the hardware, end it there too,
    /// in the physical LAPIC's order (highest in service first).
    static func endOfInterrupt(_ vector: UInt8) {
        guard physicalInService.contains(vector) else { return }
        endedByDom0.insert(vector)
        while let top = physicalInService.highest, endedByDom0.contains(top) {
            physicalInService.remove(top)
            endedByDom0.remove(top)
            LAPIC.endOfInterrupt()
        }
    }

    /// Dom0 is gone: end whatever it left in service on the physical LAPIC.
    static func reset() {
        while let top = physicalInService.highest {
            physicalInService.remove(top)
            LAPIC.endOfInterrupt()
        }
        endedByDom0 = VectorBits()
        lapic = VirtualLAPIC()
        offered = nil
    }

    /// Up to 15 bytes at Dom0's RIP (fewer at the end of its memory).
    static func instructionBytes(_ domain: Domain, _ vmcb: VMCB) -> [UInt8]? {
        let memory = GuestMemory(of: domain, host: PhysicalWindow.directMap)
        let pagingOn = vmcb.cr0 & GuestPageWalk.cr0PagingEnabled != 0
        func physical(_ linear: UInt64) -> UInt64? {
            guard pagingOn else { return linear }
            return GuestPageWalk.translate(linear, cr3: vmcb.cr3) { gpa in
                var entry: UInt64 = 0
                return withUnsafeMutableBytes(of: &entry) { memory.copyFromGuest(at: gpa, into: $0) } ? entry : nil
            }
        }
        var bytes: [UInt8] = []
        var linear = vmcb.rip
        while bytes.count < MMIOInstruction.maximumLength {
            guard let gpa = physical(linear) else { break }
            let inPage = Int(Layout.pageSize - gpa % Layout.pageSize)
            let count = min(inPage, MMIOInstruction.maximumLength - bytes.count)
            var chunk = [UInt8](repeating: 0, count: count)
            guard chunk.withUnsafeMutableBytes({ memory.copyFromGuest(at: gpa, into: $0) }) else { break }
            bytes += chunk
            linear &+= UInt64(count)
        }
        return bytes.isEmpty ? nil : bytes
    }
}
