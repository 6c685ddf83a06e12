import TernCore
import TernCPU

/// A virtual LAPIC per vCPU (its model, Model/VirtualLAPIC.swift, lives in
/// the vCPU's context) for every domain built with Emulation.localAPIC
/// (docs/dom0.md, "Interrupts"); InterruptDelivery routes every source
/// into it. Tern owns the physical LAPIC;
/// the guest's page at 0xFEE00000 is absent from its nested table, so each
/// access is a nested page fault, decoded and done on the model here. The
/// model's deliverable vector is offered at each entry as a virtual
/// interrupt and acknowledged at the exit if the guest took it. What only
/// the domain that owns the hardware needs (physical in-service vectors,
/// ordered physical EOIs) is HardwareInterrupts'.
enum LocalAPICEmulation {

    /// The vCPU has a virtual LAPIC and the guest has enabled it: its
    /// interrupts go through the LAPIC's IRR.
    static func isActive(_ vcpu: VCPU) -> Bool { vcpu.context.hasLocalAPIC && (vcpu.context.lapic?.isEnabled ?? false) }

    /// A vCPU gets a model when its domain has the device.
    static func attach(to vcpu: VCPU, of domain: Domain) {
        if domain.emulation.contains(.localAPIC) { vcpu.context.attachLocalAPIC() }
    }

    // MARK: Interrupt sources

    /// A fixed, edge interrupt on `vector` for the vCPU's LAPIC.
    static func accept(_ vector: UInt8, _ vcpu: VCPU) {
        vcpu.context.lapic?.accept(vector, level: false)
        refresh(vcpu)
    }

    /// An interrupt from the 8259 through LINT0 (ExtINT: no EOI).
    static func acceptExternal(_ vector: UInt8, _ vcpu: VCPU) {
        vcpu.context.lapic?.acceptExternal(vector)
        refresh(vcpu)
    }

    /// A line that behaves as a level on `vector`: raised unless that
    /// vector is already requested or in service.
    static func raiseLevel(_ vector: UInt8, _ vcpu: VCPU) {
        guard let lapic = vcpu.context.lapic, !lapic.irr.contains(vector), !lapic.isr.contains(vector) else { return }
        accept(vector, vcpu)
    }

    /// Time passes: the virtual timer may fire.
    static func updateTimer(_ vcpu: VCPU, now: UInt64) {
        if vcpu.context.lapic?.updateTimer(now: now) == true { refresh(vcpu) }
    }

    /// When the virtual timer wants to fire (system ns; 0 = not armed).
    static func timerDeadline(_ vcpu: VCPU) -> UInt64 { vcpu.context.lapic?.timerDeadline ?? 0 }

    /// Whether the vCPU has a vector to take (wakes it from HLT).
    static func refresh(_ vcpu: VCPU) {
        vcpu.interruptControllerReady = vcpu.context.lapic?.deliverable != nil
    }

    // MARK: Entry and exit

    /// Before VMRUN: offer the vector the virtual LAPIC would deliver now
    /// as an SVM virtual interrupt (APM vol. 2, 15.21.4); the CPU takes it
    /// when the guest has interrupts enabled. TPR and priorities are the
    /// model's, so V_TPR is ignored.
    static func prepareEntry(_ vcpu: VCPU, _ vmcb: VMCB) {
        guard vcpu.context.hasLocalAPIC else { return }
        _ = vcpu.context.lapic!.updateTimer(now: SystemTime.nowNanoseconds())
        if let vector = vcpu.context.lapic!.deliverable {
            // Its priority class (vector bits 7:4) as V_INTR_PRIO.
            vmcb.virtualInterrupt = VMCB.virtualInterruptOffer(vector: vector, priority: UInt64(vector >> 4))
            vcpu.context.offeredVector = vector
        } else {
            vmcb.virtualInterrupt = VMCB.virtualInterruptMasking
            vcpu.context.offeredVector = nil
        }
    }

    /// After VMRUN: V_IRQ cleared means the guest took the offered vector
    /// (it is in service now, until the guest's EOI).
    static func afterExit(_ vcpu: VCPU, _ vmcb: VMCB) {
        if let vector = vcpu.context.offeredVector, vmcb.virtualInterrupt & VMCB.virtualIRQ == 0 {
            vcpu.context.lapic?.acknowledge(vector)
        }
        vcpu.context.offeredVector = nil
        refresh(vcpu)
    }

    // MARK: The LAPIC page

    /// A nested page fault at `offset` in the vCPU's LAPIC page: fetch the
    /// instruction at RIP through the guest's page tables, decode it, do
    /// the register access on the model, skip the instruction. False if
    /// the instruction is not one Tern emulates (the caller refuses the
    /// access).
    static func emulate(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB, offset: Int) -> Bool {
        guard vcpu.context.hasLocalAPIC, let bytes = instructionBytes(domain, vmcb),
              let instruction = MMIOInstruction.decode(bytes) else {
            return false
        }
        var lapic = vcpu.context.lapic!
        let effect = lapic.perform(instruction, atPageOffset: offset, now: SystemTime.nowNanoseconds(),
                                   context: &vcpu.context, vmcb: vmcb)
        vcpu.context.lapic = lapic
        switch effect {
        case .none: break
        case .endOfInterrupt(let vector):
            if domain.emulation.contains(.hardware) { HardwareInterrupts.endOfInterrupt(vector) }
            // Lines that behave as levels may still be up: raise them again.
            InterruptDelivery.raiseLevels(domain)
        case .unsupportedIPI(let icr):
            Log.debug("d\(domain.id): IPI \(hex: UInt64(icr)) not delivered (one vCPU, fixed IPIs to itself only)")
        }
        vmcb.rip &+= UInt64(instruction.length)
        refresh(vcpu)
        return true
    }

    /// Up to 15 bytes at the guest's RIP (fewer at the end of its memory).
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
