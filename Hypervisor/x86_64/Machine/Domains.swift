import TernABI
import TernCPU

/// The domain table and domain life cycle on this machine: create a PV
/// domain from a boot module, set up its vCPU's VMCB, and destroy it,
/// returning every frame.
enum Domains {
    static let maxDomains = 64
    nonisolated(unsafe) static var table: [Domain?] = []
    nonisolated(unsafe) static let scheduler = Scheduler()
    /// Free frames just before the first guest was built: when the last
    /// guest is gone, the count must be back to exactly this.
    nonisolated(unsafe) static var freeFramesBeforeGuests = 0

    static func domain(_ id: UInt16) -> Domain? {
        Int(id) < table.count ? table[Int(id)] : nil
    }

    /// The lowest free id from 1 (0 is Dom0's).
    static func freeID() -> UInt16? {
        if table.isEmpty { table = [Domain?](repeating: nil, count: maxDomains) }
        for id in 1..<maxDomains where table[id] == nil { return UInt16(id) }
        return nil
    }

    /// Builds and starts a domain from a boot module; logs why not if not.
    static func createFromModule(_ module: BootInfo.Module) {
        let options = module.commandLine.withBytes { ModuleOptions(parsing: $0) }
        let label = options.name
        guard options.problems.isEmpty else {
            module.commandLine.withBytes { line in
                for problem in options.problems {
                    let token = UnsafeRawBufferPointer(rebasing: line[problem.offset..<(problem.offset + problem.length)])
                    let what: StaticString = problem.kind == .unknownOption ? "unknown option" : "bad value in"
                    label.withUnsafeBytes { Log.error("module \(text: $0): \(what) '\(text: token)'; not started") }
                }
            }
            return
        }
        guard let id = freeID() else {
            label.withUnsafeBytes { Log.error("module \(text: $0): no free domain id (at most \(maxDomains - 1) guests)") }
            return
        }
        guard let image = PhysicalWindow.directMap.bytes(at: module.range.start, count: Int(module.range.length)) else {
            label.withUnsafeBytes { Log.error("module \(text: $0): image at \(hex: module.range.start) unreachable") }
            return
        }
        let domain = Domain(id: id, name: options.name, privileged: false, weight: options.weight)
        domain.timing.buildStart = tern_rdtsc()
        let freeBefore = Platform.frames!.freeFrames
        var built: DomainBuilder.StartState?
        var failure: DomainBuilder.Error?
        options.guestCommandLine.withUnsafeBytes { line in
            do throws(DomainBuilder.Error) {
                built = try DomainBuilder.build(domain: domain, memoryBytes: options.memoryBytes, image: image,
                                                commandLine: line, host: PhysicalWindow.directMap, frames: &Platform.frames!)
            } catch {
                failure = error
            }
        }
        guard let start = built else {
            let error = failure!
            label.withUnsafeBytes { Log.error("module \(text: $0): cannot build the domain: \(buildErrorText(error))") }
            return
        }
        guard setUpVCPU(domain, start) else {
            DomainBuilder.release(domain, allocator: &Platform.frames!)
            label.withUnsafeBytes { Log.error("module \(text: $0): no memory for its VMCB") }
            return
        }
        table[Int(id)] = domain
        domain.timing.built = tern_rdtsc()
        domain.state = .running
        for vcpu in domain.vcpus {
            vcpu.state = .runnable
            scheduler.add(vcpu, weight: domain.weight)
        }
        let used = freeBefore - Platform.frames!.freeFrames
        label.withUnsafeBytes { name in
            Log.info("d\(id) \(text: name): created, \(bytes: domain.memoryBytes) RAM, entry \(hex: start.entry), \(used) frames (free now \(Platform.frames!.freeFrames))")
        }
    }

    /// One vCPU whose VMCB starts it as DomainBuilder laid out: 64-bit
    /// long mode, paging on (the guest's identity map), CPL 0, IF=0.
    static func setUpVCPU(_ domain: Domain, _ start: DomainBuilder.StartState) -> Bool {
        guard let frame = Platform.allocateFrame(), let page = PhysicalWindow.directMap.frame(frame) else { return false }
        domain.addOverheadFrame(frame)
        page.initializeMemory(as: UInt8.self, repeating: 0, count: Int(Layout.pageSize))
        let vmcb = VMCB(base: page)
        vmcb.misc1 = [.intr, .nmi, .smi, .initSignal, .cpuid, .invd, .hlt, .invlpga, .ioio, .msr, .taskSwitch,
                      .ferrFreeze, .shutdown]
        vmcb.misc2 = [.vmrun, .vmmcall, .vmload, .vmsave, .stgi, .clgi, .skinit, .icebp, .monitor, .mwait,
                      .mwaitArmed, .xsetbv]
        vmcb.iopmBase = SVM.ioPermissionMap
        vmcb.msrpmBase = SVM.msrPermissionMap
        // ASID and TLB control are set before each VMRUN (ASIDs.swift).
        vmcb.virtualInterrupt = VMCB.virtualInterruptMasking
        vmcb.nestedPaging = true
        vmcb.nestedCR3 = domain.nestedRoot

        let code = VMCB.Segment(selector: Layout.Selector.code64, attributes: SegmentAttributes.code64, limit: 0xFFFF_FFFF, base: 0)
        let data = VMCB.Segment(selector: Layout.Selector.data, attributes: SegmentAttributes.data, limit: 0xFFFF_FFFF, base: 0)
        vmcb.setSegment(.cs, code)
        for register in [VMCB.SegmentRegister.ds, .es, .ss, .fs, .gs] { vmcb.setSegment(register, data) }
        vmcb.setSegment(.gdtr, VMCB.Segment(selector: 0, attributes: 0, limit: UInt32(start.gdtLimit), base: start.gdtBase))
        vmcb.setSegment(.idtr, VMCB.Segment(selector: 0, attributes: 0, limit: 0, base: 0))
        vmcb.setSegment(.tr, VMCB.Segment(selector: 0, attributes: SegmentAttributes.tss64Busy, limit: 0x67, base: 0))
        vmcb.setSegment(.ldtr, VMCB.Segment(selector: 0, attributes: SegmentAttributes.ldt, limit: 0, base: 0))
        vmcb.cr0 = GuestCPU.cr0
        vmcb.cr3 = start.pageTableRoot
        vmcb.cr4 = GuestCPU.cr4
        vmcb.efer = GuestCPU.efer
        vmcb.guestPAT = GuestCPU.pat
        vmcb.dr6 = GuestCPU.dr6
        vmcb.dr7 = GuestCPU.dr7
        vmcb.rflags = GuestCPU.rflags
        vmcb.rip = start.entry
        vmcb.rsp = start.stackTop
        vmcb.rax = 0
        vmcb.cpl = 0
        vmcb.markAllDirty()

        let vcpu = VCPU(domainID: domain.id, index: 0)
        vcpu.context.vmcb = frame
        vcpu.context.vmcbPage = page
        vcpu.context.registers.rdi = start.startInfo   // the entry's first argument
        domain.addVCPU(vcpu)
        return true
    }

    /// Stops a domain for good and returns its memory.
    static func destroy(_ domain: Domain) {
        let destroyStart = tern_rdtsc()
        let before = Platform.frames!.freeFrames
        scheduler.remove(domainID: domain.id)
        ASIDs.forget(domainID: domain.id)
        let frames = domain.memoryFrameCount + domain.overheadFrames.count
        let failures = DomainBuilder.release(domain, allocator: &Platform.frames!)
        table[Int(domain.id)] = nil
        if failures != 0 { Log.error("d\(domain.id): \(failures) frames would not free (bookkeeping bug)") }
        domain.name.withUnsafeBytes { name in
            Log.info("d\(domain.id) \(text: name): destroyed, \(frames) frames returned, free frames \(before) -> \(Platform.frames!.freeFrames)")
        }
        logTiming(domain, destroyCycles: tern_rdtsc() &- destroyStart)
        if !table.contains(where: { $0 != nil }) {
            Log.info("No guests left: \(Platform.frames!.freeFrames) free frames (\(freeFramesBeforeGuests) before the first guest)")
        }
    }

    /// "dN name: timing: create X us, first run Y us after, run to stop Z
    /// us, destroy W us" (make bench reads these lines).
    static func logTiming(_ domain: Domain, destroyCycles: UInt64) {
        let t = domain.timing
        func us(_ cycles: UInt64) -> UInt64 { BootPhases.microseconds(cycles: cycles, tscHz: Platform.tscHz) }
        guard t.firstRun != 0, t.stopped >= t.firstRun else { return }
        domain.name.withUnsafeBytes { name in
            Log.info("d\(domain.id) \(text: name): timing: create \(us(t.built &- t.buildStart)) us, run to stop \(us(t.stopped &- t.firstRun)) us, destroy \(us(destroyCycles)) us")
        }
    }

    static func buildErrorText(_ error: DomainBuilder.Error) -> LogMessage {
        switch error {
        case .badMemorySize(let bytes):
            return "mem=\(bytes) bytes: must be 2 MiB to 64 GiB, in 2 MiB steps"
        case .badImage(let e):
            return "not a loadable x86-64 ELF executable (\(elfErrorText(e)))"
        case .imageOutsideMemory(let s, let e, let limit):
            return "image spans \(hex: s)-\(hex: e), guest memory for it ends at \(hex: limit) (raise mem=)"
        case .outOfMemory(let needed, let free):
            return "out of memory: needs \(needed) frames, \(free) free"
        case .mapping:
            return "nested page table mapping failed"
        case .hostMemoryUnreachable:
            return "host memory unreachable"
        }
    }

    static func elfErrorText(_ error: ELFImage.Error) -> LogMessage {
        switch error {
        case .tooSmall(let n): return "\(n) bytes is too small"
        case .notELF: return "no ELF magic"
        case .not64BitLittleEndian: return "not 64-bit little-endian"
        case .notX86_64(let m): return "machine \(m), not x86-64"
        case .notExecutable(let t): return "type \(t), not an executable"
        case .badProgramHeaders: return "bad program header table"
        case .segmentOutsideFile(let i): return "segment \(i) outside the file"
        case .segmentFileLargerThanMemory(let i): return "segment \(i) file size exceeds memory size"
        case .segmentWraps(let i): return "segment \(i) wraps around"
        case .noLoadableSegment: return "no loadable segment"
        case .tooManySegments(let n): return "\(n) segments"
        }
    }
}

/// A new guest vCPU's control registers (AMD APM vol. 2, 14.6): long mode
/// active with paging, write protection and NX; SVME must be set in the
/// guest's EFER for VMRUN (Tern hides it from the guest's RDMSR).
enum GuestCPU {
    static let cr0: UInt64 = 1 << 0 | 1 << 1 | 1 << 4 | 1 << 5 | 1 << 16 | 1 << 31   // PE MP ET NE WP PG
    static let cr4: UInt64 = 1 << 5                                              // PAE
    static let efer: UInt64 = 1 << 8 | 1 << 10 | 1 << 11 | SVM.eferSVME           // LME LMA NXE SVME
    static let pat: UInt64 = 0x0007_0406_0007_0406                               // the reset value
    static let dr6: UInt64 = 0xFFFF_0FF0
    static let dr7: UInt64 = 0x400
    static let rflags: UInt64 = 1 << 1                                           // reserved bit 1; IF=0
}
