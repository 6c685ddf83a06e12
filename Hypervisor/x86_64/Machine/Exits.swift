import TernCore
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
    static let invdLength: UInt64 = 2      // 0F 08
    static let msrLength = MSRExit.instructionLength   // 0F 32 / 0F 30

    static let undefinedOpcode: UInt64 = 6
    static let generalProtection: UInt64 = 13
    static let rflagsInterruptFlag: UInt64 = 1 << 9   // RFLAGS.IF (SDM vol. 1, 3.4.3)

    enum Next {
        case resume        // run this vCPU again
        case reschedule    // pick again (yield, block, or it stopped)
    }

    static func handle(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB) -> Next {
        let code = vmcb.exitCode
        switch code {
        case SVMExit.intr, SVMExit.nmi, SVMExit.smi, SVMExit.initSignal, SVMExit.vintr:
            domain.exits.count(.hostInterrupt)
            return .resume    // a host event: the run loop takes it
        case SVMExit.vmmcall:
            domain.exits.count(.hypercall)
            return hypercall(vcpu, domain, vmcb)
        case SVMExit.hlt:
            domain.exits.count(.halt)
            if domain.emulation.haltWithInterruptsOffIsPowerOff && vmcb.rflags & rflagsInterruptFlag == 0 {
                // Nothing can wake it (Tern sends a guest no NMI): its last
                // instruction, as a PC that halts for good; Xen's hvm_hlt
                // takes the vCPU down, and the domain powers off with it.
                flushConsole(domain)
                domain.name.withUnsafeBytes {
                    Log.info("d\(domain.id) \(text: $0): halted with interrupts off at RIP \(hex: vmcb.rip): shut down (poweroff)")
                }
                domain.stop(.poweroff, shutdownCode: UInt64(TERN_SHUTDOWN_POWEROFF), now: SystemTime.nowNanoseconds(), tsc: tern_rdtsc())
                return .reschedule
            }
            let wokenAtEntry = tookOfferedUpcallFirst(vcpu, vmcb)
            vmcb.rip &+= hltLength
            return sleepUnlessWoken(vcpu, domain, vmcb, wokenAtEntry: wokenAtEntry)
        case SVMExit.cpuid:
            domain.exits.count(.cpuid)
            cpuid(vcpu, domain, vmcb)
            vmcb.rip &+= cpuidLength
            return .resume
        case SVMExit.msr:
            domain.exits.count(.msr)
            return msr(vcpu, domain, vmcb)
        case SVMExit.ioio:
            return io(vcpu, domain, vmcb)
        case SVMExit.nestedPageFault:
            let fault = NestedPageFault(exitInfo1: vmcb.exitInfo1, exitInfo2: vmcb.exitInfo2)
            let access = fault.accessKind
            let gpa = fault.address
            switch EmulatedDevices.nestedFault(at: gpa, writeToPresentPage: fault.isWriteToPresentPage,
                                               localAPICPage: LocalAPICEmulation.page, in: domain.emulation) {
            case .localAPIC(let offset):
                domain.exits.count(.localAPIC)
                if LocalAPICEmulation.emulate(vcpu, domain, vmcb, offset: offset) { return .resume }
                refuseAccess(domain, vmcb, access)
                return .resume
            case .refuseForeign:
                domain.exits.count(.nestedFault)
                refuseAccess(domain, vmcb, access)
                return .resume
            case .refuseReadOnly:
                domain.exits.count(.nestedFault)
                // A write to a page present in the nested table: a
                // read-only grant mapping or the device page. #GP, as
                // for a refused access.
                let what: StaticString = gpa >= domain.grants.windowGPA && domain.grants.windowSlot(of: gpa & ~(Layout.pageSize - 1)) != nil
                    ? "a read-only grant mapping" : "its read-only device page"
                domain.refusedAccesses &+= 1
                let count = domain.refusedAccesses
                if count <= refusedAccessesLogged || count % refusedAccessesLogEvery == 0 {
                    domain.name.withUnsafeBytes { Log.warning("d\(domain.id) \(text: $0): write to \(what) at GPA \(hex: gpa), RIP \(hex: vmcb.rip): refused, #GP injected") }
                }
                inject(vmcb, vector: generalProtection, errorCode: 0)
                return .resume
            case .crash:
                crash(domain, .badAccess, "nested page fault: \(access) at GPA \(hex: gpa), RIP \(hex: vmcb.rip), error \(hex: fault.errorCode) (outside its memory)")
                return .reschedule
            }
        case SVMExit.shutdown:
            crash(domain, .tripleFault, "triple fault (shutdown) at RIP \(hex: vmcb.rip)")
            return .reschedule
        case SVMExit.invalid:
            crash(domain, .badState, "VMRUN refused its state (VMEXIT_INVALID), RIP \(hex: vmcb.rip)")
            return .reschedule
        case SVMExit.vmrun, SVMExit.vmload, SVMExit.vmsave, SVMExit.stgi, SVMExit.clgi, SVMExit.skinit,
             SVMExit.monitor, SVMExit.mwait, SVMExit.mwaitArmed, SVMExit.invlpga, SVMExit.icebp:
            inject(vmcb, vector: undefinedOpcode)
            return .resume
        case SVMExit.xsetbv:
            domain.exits.count(.other)
            if !GuestFPU.xsetbv(vcpu, vmcb) { inject(vmcb, vector: generalProtection, errorCode: 0) }
            return .resume
        case SVMExit.invd:
            domain.exits.count(.other)
            vmcb.rip &+= invdLength   // nothing to invalidate for a guest
            return .resume
        default:
            crash(domain, .badExit, "unexpected #VMEXIT \(hex: code) (\(SVMExit.name(code))) at RIP \(hex: vmcb.rip)")
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

    /// HLT and TERN_HC_BLOCK: the vCPU sleeps unless an upcall is pending,
    /// one is on its way in V_IRQ (after "sti; hlt" it is delivered as soon
    /// as the guest resumes), or one was taken right at the instruction.
    static func sleepUnlessWoken(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB, wokenAtEntry: Bool) -> Next {
        if wokenAtEntry || vcpu.hasPendingEvent || vmcb.virtualInterrupt & VMCB.virtualIRQ != 0 { return .resume }
        domain.block(vcpu)
        return .reschedule
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
            return sleepUnlessWoken(vcpu, domain, vmcb, wokenAtEntry: wokenAtEntry)
        case .shutdown(let reason):
            let why: StaticString = reason == UInt64(TERN_SHUTDOWN_POWEROFF) ? "poweroff"
                : reason == UInt64(TERN_SHUTDOWN_REBOOT) ? "reboot" : "crash"
            flushConsole(domain)
            domain.name.withUnsafeBytes { Log.info("d\(domain.id) \(text: $0): shut down (\(why))") }
            domain.stop(StopReason(shutdownCode: reason), shutdownCode: reason, now: SystemTime.nowNanoseconds(), tsc: tern_rdtsc())
            return .reschedule
        }
    }

    static func cpuid(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB) {
        let leaf = UInt32(truncatingIfNeeded: vmcb.rax)
        let subleaf = UInt32(truncatingIfNeeded: vcpu.context.registers.rcx)
        let host = tern_cpuid(leaf, subleaf)
        let r = CPUIDPolicy.filter(leaf: leaf, subleaf: subleaf,
                                   host: .init(eax: host.eax, ebx: host.ebx, ecx: host.ecx, edx: host.edx),
                                   tscDeadlineTimer: domain.emulation.contains(.tscDeadlineTimer),
                                   guestCR4: vmcb.cr4, extendedState: GuestFPU.limits)
        vmcb.rax = UInt64(r.eax)
        vcpu.context.registers.rbx = UInt64(r.ebx)
        vcpu.context.registers.rcx = UInt64(r.ecx)
        vcpu.context.registers.rdx = UInt64(r.edx)
    }

    /// The few MSRs a PV guest may read; everything else is #GP, as on a
    /// CPU without that MSR. Writes only to PAT (validated by hardware
    /// rules: each byte a valid memory type) and EFER are accepted. The
    /// decisions are MSRExit's (Model).
    static func msr(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB) -> Next {
        let access = MSRExit(exitInfo1: vmcb.exitInfo1, rcx: vcpu.context.registers.rcx,
                             rdx: vcpu.context.registers.rdx, rax: vmcb.rax)
        let index = access.index
        var result: UInt64?
        if index == GuestMSRs.tscDeadline, domain.emulation.contains(.tscDeadlineTimer), vcpu.context.lapic != nil {
            // The virtual LAPIC's TSC-deadline timer (VirtualLAPIC.writeTSCDeadline).
            if access.isWrite {
                vcpu.context.lapic!.writeTSCDeadline(access.value, tscNow: tern_rdtsc(), tscHz: Platform.tscHz,
                                                     now: SystemTime.nowNanoseconds())
                LocalAPICEmulation.refresh(vcpu)
            } else {
                let registers = MSRExit.resultRegisters(vcpu.context.lapic!.readTSCDeadline())
                vmcb.rax = registers.rax
                vcpu.context.registers.rdx = registers.rdx
            }
            vmcb.rip &+= msrLength
            return .resume
        }
        if access.isWrite {
            switch MSRExit.write(index, access.value, currentEFER: vmcb.efer,
                                   ownsHardware: domain.emulation.contains(.hardware)) {
            case .pat(let value):
                vmcb.guestPAT = value
                result = 0
            case .efer(let value):
                vmcb.efer = value
                result = 0
            case .dropped: result = 0
            case .refused: result = nil
            }
        } else {
            result = MSRExit.read(index, efer: vmcb.efer, pat: vmcb.guestPAT,
                                  ownsHardware: domain.emulation.contains(.hardware),
                                  tsc: { tern_rdtsc() })
        }
        if result != nil && !MSRExit.isKnown(index) {
            let what: StaticString = access.isWrite ? "wrmsr" : "rdmsr"
            Log.debug("d\(domain.id): \(what) \(hex: index) emulated as 0/ignored")
        }
        guard let r = result else {
            inject(vmcb, vector: generalProtection, errorCode: 0)
            return .resume
        }
        if !access.isWrite {
            let registers = MSRExit.resultRegisters(r)
            vmcb.rax = registers.rax
            vcpu.context.registers.rdx = registers.rdx
        }
        vmcb.rip &+= msrLength
        return .resume
    }

    /// Port I/O from a guest without I/O rights: reads see all ones,
    /// writes are dropped (as on an empty bus). The byte ports of the
    /// domain's emulated devices (a console UART, the 8259 watch) go to
    /// their models (EmulatedDevices). Decoding is
    /// IOExit's (Model; APM vol. 2, 15.10.2).
    static func io(_ vcpu: VCPU, _ domain: Domain, _ vmcb: VMCB) -> Next {
        let exit = IOExit(exitInfo1: vmcb.exitInfo1, exitInfo2: vmcb.exitInfo2)
        let port = exit.port, isIn = exit.isIn
        if let device = EmulatedDevices.device(forPort: port, string: exit.isString, in: domain.emulation) {
            let byte = UInt8(truncatingIfNeeded: vmcb.rax)
            let value: UInt8
            domain.exits.count(exitReason(device))
            switch device {
            case .serialPort: value = SerialPortEmulation.access(port: port, isIn: isIn, value: byte, domain: domain)
            case .legacyPIC: value = LegacyPICEmulation.access(port: port, isIn: isIn, value: byte, domain: domain)
            case .virtualPIC: value = LegacyPICEmulation.virtualAccess(port: port, isIn: isIn, value: byte, domain: domain)
            case .cmosClock: value = CMOSClockEmulation.access(port: port, isIn: isIn, value: byte, domain: domain)
            case .pitChannel2: value = PITChannel2Emulation.access(port: port, isIn: isIn, value: byte, domain: domain)
            }
            if isIn { vmcb.rax = IOExit.byteRead(rax: vmcb.rax, value: value) }
            vmcb.rip = exit.nextRIP
            return .resume
        }
        domain.exits.count(.refusedPort)
        if isIn { vmcb.rax = exit.allOnesRead(rax: vmcb.rax) }
        Log.debug("d\(domain.id): port \(hex: port) access denied at RIP \(hex: vmcb.rip)")
        vmcb.rip = exit.nextRIP
        return .resume
    }

    /// The exit-count reason of a port exit a device of the domain served.
    static func exitReason(_ device: EmulatedDevices.PortDevice) -> ExitCounts.Reason {
        switch device {
        case .serialPort: return .serialPort
        case .legacyPIC, .virtualPIC: return .interruptController
        case .cmosClock: return .cmosClock
        case .pitChannel2: return .pit
        }
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

    static func crash(_ domain: Domain, _ reason: StopReason, _ why: LogMessage) {
        flushConsole(domain)
        domain.name.withUnsafeBytes { Log.warning("d\(domain.id) \(text: $0) crashed: \(why)") }
        domain.stop(reason, now: SystemTime.nowNanoseconds(), tsc: tern_rdtsc())
    }

    /// What a guest printed without a final newline still reaches the console.
    static func flushConsole(_ domain: Domain) {
        guard !domain.consoleLine.isEmpty else { return }
        domain.consoleLine.withUnsafeBytes { GuestHypercallHost().consoleLine(from: domain, $0) }
        domain.consoleLine.removeAll()
    }
}
