import TernABI
import TernCPU

/// #VMEXIT handling (AMD APM vol. 2, 15.6 and appendix C). QEMU's TCG does
/// not provide next-RIP (platform-facts.md): Tern advances RIP itself by the
/// intercepted instruction's length. A guest's misbehaviour stops that
/// guest with a log line naming domain, address and cause; it never stops
/// the hypervisor.
enum Exits {
    // Instruction lengths for RIP advance (no NRIP save under TCG).
    static let vmmcallLength: UInt64 = 3   // 0F 01 D9
    static let hltLength: UInt64 = 1       // F4
    static let cpuidLength: UInt64 = 2     // 0F A2
    static let msrLength: UInt64 = 2       // 0F 32 / 0F 30

    /// Nested page fault error code bits P (present) and RW (write).
    static let nestedFaultPresentWrite: UInt64 = 1 << 0 | 1 << 1
    static let undefinedOpcode: UInt64 = 6
    static let generalProtection: UInt64 = 13

    enum Next {
        case resume        // run this vCPU again
        case reschedule    // pick again (yield, block, or it stopped)
    }

    static func handle(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB) -> Next {
        let code = vmcb.exitCode
        switch code {
        case SVMExit.intr, SVMExit.nmi, SVMExit.smi, SVMExit.initSignal, SVMExit.vintr:
            return .resume    // a host event: the run loop takes it
        case SVMExit.vmmcall:
            return hypercall(vcpu, domain, vmcb)
        case SVMExit.hlt:
            let wokenAtEntry = tookOfferedUpcallFirst(vcpu, vmcb)
            vmcb.rip &+= hltLength
            // A virtual interrupt already in V_IRQ counts too: after
            // "sti; hlt" it is delivered as soon as the guest resumes.
            if wokenAtEntry || vcpu.hasPendingEvent || vmcb.virtualInterrupt & VMCB.virtualIRQ != 0 { return .resume }
            vcpu.state = .blocked
            domain.refreshState()
            return .reschedule
        case SVMExit.cpuid:
            cpuid(vcpu, vmcb)
            vmcb.rip &+= cpuidLength
            return .resume
        case SVMExit.msr:
            return msr(vcpu, domain, vmcb)
        case SVMExit.ioio:
            return io(vcpu, domain, vmcb)
        case SVMExit.nestedPageFault:
            let info = vmcb.exitInfo1
            let access: StaticString = info & (1 << 4) != 0 ? "instruction fetch" : info & (1 << 1) != 0 ? "write" : "read"
            if domain.privileged {
                let gpa = vmcb.exitInfo2
                if gpa >= Dom0APIC.page && gpa < Dom0APIC.page + Layout.pageSize
                    && Dom0APIC.emulate(vcpu, domain, vmcb, offset: Int(gpa - Dom0APIC.page)) {
                    return .resume
                }
                refuseAccess(domain, vmcb, access)
                return .resume
            }
            let gpa = vmcb.exitInfo2
            // A write to a page present in the nested table (error code
            // P and RW, APM vol. 2, 15.25.6): a read-only grant mapping or
            // the device page. The guest gets #GP, as for a refused access.
            if info & nestedFaultPresentWrite == nestedFaultPresentWrite {
                let what: StaticString = gpa >= domain.grants.windowGPA && domain.grants.windowSlot(of: gpa & ~(Layout.pageSize - 1)) != nil
                    ? "a read-only grant mapping" : "its read-only device page"
                domain.refusedAccesses &+= 1
                let count = domain.refusedAccesses
                if count <= refusedAccessesLogged || count % refusedAccessesLogEvery == 0 {
                    domain.name.withUnsafeBytes { Log.warning("d\(domain.id) \(text: $0): write to \(what) at GPA \(hex: gpa), RIP \(hex: vmcb.rip): refused, #GP injected") }
                }
                inject(vmcb, vector: generalProtection, errorCode: 0)
                return .resume
            }
            crash(domain, "nested page fault: \(access) at GPA \(hex: gpa), RIP \(hex: vmcb.rip), error \(hex: info) (outside its memory)")
            return .reschedule
        case SVMExit.shutdown:
            crash(domain, "triple fault (shutdown) at RIP \(hex: vmcb.rip)")
            return .reschedule
        case SVMExit.invalid:
            crash(domain, "VMRUN refused its state (VMEXIT_INVALID), RIP \(hex: vmcb.rip)")
            return .reschedule
        case SVMExit.vmrun, SVMExit.vmload, SVMExit.vmsave, SVMExit.stgi, SVMExit.clgi, SVMExit.skinit,
             SVMExit.monitor, SVMExit.mwait, SVMExit.mwaitArmed, SVMExit.xsetbv, SVMExit.invlpga, SVMExit.icebp:
            inject(vmcb, vector: undefinedOpcode)
            return .resume
        case SVMExit.invd:
            vmcb.rip &+= 2   // 0F 08: nothing to invalidate for a guest
            return .resume
        default:
            crash(domain, "unexpected #VMEXIT \(hex: code) (\(SVMExit.name(code))) at RIP \(hex: vmcb.rip)")
            return .reschedule
        }
    }

    /// The vCPU entered at this very instruction (a HLT or BLOCK) with a
    /// virtual interrupt offered, and took it before the instruction ran:
    /// that interrupt is the wake-up the instruction waits for. On
    /// hardware `sti; hlt` keeps it for after the HLT (STI's shadow, kept
    /// in the VMCB across an exit, APM vol. 2, 15.21.5); QEMU's TCG
    /// delivered it before, and the HLT then slept through its only
    /// wake-up (seen with the timerfuzz guest). At worst a spurious
    /// wake-up, which HLT and BLOCK allow.
    static func tookOfferedUpcallFirst(_ vcpu: VCPU, _ vmcb: VMCB) -> Bool {
        vcpu.context.upcallOfferedAtRIP == vmcb.rip && vmcb.virtualInterrupt & VMCB.virtualIRQ == 0
    }

    static func hypercall(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB) -> Next {
        let wokenAtEntry = tookOfferedUpcallFirst(vcpu, vmcb)
        let r = vcpu.context.registers
        let outcome = Hypercalls.dispatch(number: vmcb.rax, arguments: (r.rdi, r.rsi, r.rdx, r.r10, r.r8),
                                          vcpu: vcpu, domain: domain, host: GuestHypercallHost())
        vmcb.rip &+= vmmcallLength
        switch outcome {
        case .resume(let value):
            vmcb.rax = UInt64(bitPattern: value)
            return .resume
        case .yield:
            vmcb.rax = 0
            return .reschedule
        case .block:
            vmcb.rax = 0
            // One is on its way, or was taken right at the call (see HLT).
            if wokenAtEntry || vmcb.virtualInterrupt & VMCB.virtualIRQ != 0 { return .resume }
            vcpu.state = .blocked
            domain.refreshState()
            return .reschedule
        case .shutdown(let reason):
            let why: StaticString = reason == UInt64(TERN_SHUTDOWN_POWEROFF) ? "poweroff"
                : reason == UInt64(TERN_SHUTDOWN_REBOOT) ? "reboot" : "crash"
            flushConsole(domain)
            domain.name.withUnsafeBytes { Log.info("d\(domain.id) \(text: $0): shut down (\(why))") }
            domain.markStopped(.shutdown, reason: reason, tsc: tern_rdtsc())
            return .reschedule
        }
    }

    static func cpuid(_ vcpu: VCPU, _ vmcb: VMCB) {
        let leaf = UInt32(truncatingIfNeeded: vmcb.rax)
        let subleaf = UInt32(truncatingIfNeeded: vcpu.context.registers.rcx)
        let host = tern_cpuid(leaf, subleaf)
        let r = CPUIDPolicy.filter(leaf: leaf, subleaf: subleaf,
                                   host: .init(eax: host.eax, ebx: host.ebx, ecx: host.ecx, edx: host.edx))
        vmcb.rax = UInt64(r.eax)
        vcpu.context.registers.rbx = UInt64(r.ebx)
        vcpu.context.registers.rcx = UInt64(r.ecx)
        vcpu.context.registers.rdx = UInt64(r.edx)
    }

    /// The few MSRs a PV guest may read; everything else is #GP, as on a
    /// CPU without that MSR. Writes only to PAT (validated by hardware
    /// rules: each byte a valid memory type) are accepted.
    static func msr(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB) -> Next {
        let isWrite = vmcb.exitInfo1 & 1 != 0
        let index = UInt32(truncatingIfNeeded: vcpu.context.registers.rcx)
        let value = (vcpu.context.registers.rdx << 32) | (vmcb.rax & 0xFFFF_FFFF)
        var result: UInt64?
        if isWrite {
            switch index {
            case GuestMSRs.pat where isValidPAT(value):
                vmcb.guestPAT = value
                result = 0
            case GuestMSRs.efer where value & ~(GuestMSRs.eferWritable | GuestMSRs.eferLMA) == 0:
                // SVME stays set (VMRUN needs it); LMA is the CPU's to set,
                // so the value written for it (read back, OR-ed) is ignored.
                vmcb.efer = (vmcb.efer & GuestMSRs.eferLMA) | (value & GuestMSRs.eferWritable) | SVM.eferSVME
                result = 0
            default:
                // Dom0 drives the platform: writes Tern does not model are
                // dropped rather than faulted (no real MSR is touched).
                result = domain.privileged ? 0 : nil
            }
        } else {
            switch index {
            case GuestMSRs.efer: result = vmcb.efer & ~SVM.eferSVME
            case GuestMSRs.pat: result = vmcb.guestPAT
            case GuestMSRs.tsc: result = tern_rdtsc()
            case GuestMSRs.apicBase: result = GuestMSRs.apicBaseValue
            default: result = domain.privileged ? 0 : nil
            }
        }
        if result != nil && !isKnown(index) {
            let what: StaticString = isWrite ? "wrmsr" : "rdmsr"
            Log.debug("d\(domain.id): \(what) \(hex: index) emulated as 0/ignored")
        }
        guard let r = result else {
            inject(vmcb, vector: generalProtection, errorCode: 0)
            return .resume
        }
        if !isWrite {
            vmcb.rax = r & 0xFFFF_FFFF
            vcpu.context.registers.rdx = r >> 32
        }
        vmcb.rip &+= msrLength
        return .resume
    }

    static func isKnown(_ msr: UInt32) -> Bool {
        msr == GuestMSRs.efer || msr == GuestMSRs.pat || msr == GuestMSRs.tsc || msr == GuestMSRs.apicBase
    }

    static func isValidPAT(_ value: UInt64) -> Bool {
        for i in 0..<8 {
            let type = (value >> UInt64(8 * i)) & 0xFF
            if type == 2 || type == 3 || type > 7 { return false }
        }
        return true
    }

    /// Port I/O from a guest without I/O rights: reads see all ones,
    /// writes are dropped (as on an empty bus). EXITINFO1 (APM 15.10.2):
    /// bit 0 IN, bits 4-6 operand size, bits 16-31 port; EXITINFO2 holds
    /// the next RIP.
    static func io(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB) -> Next {
        let info = vmcb.exitInfo1
        let port = UInt16(truncatingIfNeeded: info >> 16)
        let isIn = info & 1 != 0, isString = info & (1 << 2) != 0
        if domain.id == 0 && !isString && (Dom0Console.ports.contains(port) || Dom0PIC.ports.contains(port)) {
            let byte = UInt8(truncatingIfNeeded: vmcb.rax)
            let value = Dom0Console.ports.contains(port)
                ? Dom0Console.access(port: port, isIn: isIn, value: byte, domain: domain)
                : Dom0PIC.access(port: port, isIn: isIn, value: byte)
            if isIn { vmcb.rax = (vmcb.rax & ~0xFF) | UInt64(value) }
            vmcb.rip = vmcb.exitInfo2
            return .resume
        }
        if isIn {
            let sizeBits = (info >> 4) & 0x7
            let mask: UInt64 = sizeBits & 1 != 0 ? 0xFF : sizeBits & 2 != 0 ? 0xFFFF : 0xFFFF_FFFF
            vmcb.rax = (vmcb.rax & ~mask) | mask
        }
        Log.debug("d\(domain.id): port \(hex: port) access denied at RIP \(hex: vmcb.rip)")
        vmcb.rip = vmcb.exitInfo2
        return .resume
    }

    static func inject(_ vmcb: VMCB, vector: UInt64, errorCode: UInt32? = nil) {
        var event = vector | VMCB.eventTypeException | VMCB.eventValid
        if let code = errorCode { event |= VMCB.eventErrorCodeValid | UInt64(code) << 32 }
        vmcb.eventInjection = event
    }

    /// Dom0 touched a frame that is not its own (Tern's, or a guest's): it
    /// is absent from Dom0's nested table, so nothing was read or written.
    /// Dom0 gets #GP(0) at the instruction, as for an access the bus
    /// refuses: Linux's exception tables turn it into -EFAULT where the
    /// access was a checked copy (/dev/mem), an oops of that task
    /// otherwise; Dom0 and everything else keep running.
    static func refuseAccess(_ domain: Domain, _ vmcb: VMCB, _ access: StaticString) {
        domain.refusedAccesses &+= 1
        let count = domain.refusedAccesses
        if count <= refusedAccessesLogged || count % refusedAccessesLogEvery == 0 {
            Log.warning("d\(domain.id): \(access) at GPA \(hex: vmcb.exitInfo2), RIP \(hex: vmcb.rip) is outside its memory: refused, #GP injected (\(count) so far)")
        }
        inject(vmcb, vector: generalProtection, errorCode: 0)
    }

    static let refusedAccessesLogged: UInt64 = 16
    static let refusedAccessesLogEvery: UInt64 = 1024

    static func crash(_ domain: Domain, _ why: LogMessage) {
        flushConsole(domain)
        domain.name.withUnsafeBytes { Log.warning("d\(domain.id) \(text: $0) crashed: \(why)") }
        domain.markStopped(.crashed, tsc: tern_rdtsc())
    }

    /// What a guest printed without a final newline still reaches the console.
    static func flushConsole(_ domain: Domain) {
        guard !domain.consoleLine.isEmpty else { return }
        domain.consoleLine.withUnsafeBytes { GuestHypercallHost().consoleLine(from: domain, $0) }
        domain.consoleLine.removeAll()
    }
}
