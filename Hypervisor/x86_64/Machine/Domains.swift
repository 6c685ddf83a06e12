import TernABI
import TernCPU

/// The domain table and domain life cycle on this machine: create a PV
/// domain from a boot module, set up its vCPU's VMCB, and destroy it,
/// returning every frame.
enum Domains {
    static let maxDomains = Int(TERN_DOMAINS_MAX)
    /// Frames Tern manages once booted (before Dom0 and guests).
    // SAFETY (these three): changed only by the run loop's thread of
    // control (boot, hypercalls, destroy); the interrupt handler, at the
    // known points only, just looks up Dom0 in `table` (sized once, to
    // maxDomains, by the first domain's creation; slots change in place).
    nonisolated(unsafe) static var totalFrames = 0
    nonisolated(unsafe) static var table: [Domain?] = []
    nonisolated(unsafe) static let scheduler = Scheduler()
    /// Free frames just before the first guest was built: when the last
    /// guest is gone, the count must be back to exactly this.
    // SAFETY: set at boot, read when a guest goes: the run loop only.
    nonisolated(unsafe) static var freeFramesBeforeGuests = 0

    static func domain(_ id: UInt16) -> Domain? {
        Int(id) < table.count ? table[Int(id)] : nil
    }

    static func firstDomain(atOrAfter id: UInt64) -> Domain? {
        guard id < UInt64(table.count) else { return nil }
        for index in Int(id)..<table.count { if let domain = table[index] { return domain } }
        return nil
    }

    /// Dom0 (docs/dom0.md): Linux at its PVH entry, identity-mapped,
    /// privileged, its console the virtual UART at COM1.
    static func createDom0(kernel original: BootInfo.Module, initrd originalInitrd: BootInfo.Module?,
                           memoryBytes: UInt64, lapicPage: UInt64) {
        if table.isEmpty { table = [Domain?](repeating: nil, count: maxDomains) }
        // Loaders put modules low, where the kernel must go (16 MiB): move
        // them to the top of memory first, and free them once copied in.
        guard let kernel = relocateToTop(original) else {
            Log.error("dom0: no room at the top of memory to move the kernel module")
            return
        }
        Dom0APIC.page = lapicPage
        let initrd = originalInitrd.flatMap { relocateToTop($0) }
        defer {
            releaseRelocated(kernel)
            if let initrd { releaseRelocated(initrd) }
        }
        let options = kernel.commandLine.withBytes { ModuleOptions(parsing: $0) }
        // Tell Linux the TSC frequency Tern measured: its own PIT
        // calibration is unreliable in a VM (exits between PIT reads), and
        // without it Linux waits for timer ticks to calibrate its delay loop.
        var commandLine = options.guestCommandLine
        var hasTSCOption = false
        commandLine.withUnsafeBytes { line in
            forEachToken(in: line) { token, _, _ in
                hasTSCOption = hasTSCOption || (token.count > 14 && UnsafeRawBufferPointer(rebasing: token[0..<14]).equals("tsc_early_khz="))
                return true
            }
        }
        if !hasTSCOption {
            var suffix: LogMessage = " tsc_early_khz=\(Platform.tscHz / 1000)"
            if commandLine.isEmpty { suffix = "tsc_early_khz=\(Platform.tscHz / 1000)" }
            suffix.withBytes { commandLine.append(contentsOf: $0) }
        }
        guard let image = PhysicalWindow.directMap.bytes(at: kernel.range.start, count: Int(kernel.range.length)) else {
            Log.error("dom0: kernel image unreachable")
            return
        }
        let initrdBytes = initrd.flatMap { PhysicalWindow.directMap.bytes(at: $0.range.start, count: Int($0.range.length)) }
        let domain = Domain(id: 0, name: Array("dom0".utf8), privileged: true, weight: options.weight)
        domain.timing.buildStart = tern_rdtsc()
        var built: Dom0Builder.StartState?
        var failure: Dom0Builder.Error?
        do throws(Dom0Builder.Error) {
            built = try Dom0Builder.build(domain: domain, memoryBytes: memoryBytes, kernel: image, initrd: initrdBytes,
                                          commandLine: commandLine, hostMap: Platform.memoryMap,
                                          lapicPage: lapicPage, host: PhysicalWindow.directMap, frames: &Platform.frames!)
        } catch {
            failure = error
        }
        guard let start = built else {
            Log.error("dom0: cannot build it: \(dom0ErrorText(failure!))")
            return
        }
        guard setUpDom0VCPU(domain, start) else {
            DomainBuilder.release(domain, allocator: &Platform.frames!)
            Log.error("dom0: no memory for its VMCB and I/O map")
            return
        }
        table[0] = domain
        LAPIC.enableLegacyPICInput()   // Dom0 drives the 8259 (masked until it unmasks lines)
        domain.timing.built = tern_rdtsc()
        domain.state = .running
        for vcpu in domain.vcpus {
            vcpu.state = .runnable
            scheduler.add(vcpu, weight: domain.weight)
        }
        Log.info("d0 dom0: created, \(bytes: domain.memoryBytes) RAM identity-mapped, PVH entry \(hex: start.entry), start info at \(hex: start.startInfo)")
    }

    /// Copies a boot module to frames at the top of memory and ends the
    /// old range's reservation; nil if no room.
    static func relocateToTop(_ module: BootInfo.Module) -> BootInfo.Module? {
        let length = module.range.length
        let count = Int(length.roundedUp(to: Layout.pageSize) / Layout.pageSize)
        guard let target = Platform.frames?.allocateContiguousFromTop(count: count) else { return nil }
        let memory = PhysicalWindow.directMap
        guard let from = memory.bytes(at: module.range.start, count: Int(length)),
              let to = memory.mutableBytes(at: target, count: Int(length)) else { return nil }
        // SAFETY: both ranges are `length` bytes checked by the direct map;
        // the target frames were just allocated, so they do not overlap.
        to.copyMemory(from: from)
        Platform.frames!.unreserve(module.range)
        return BootInfo.Module(range: PhysicalRange(start: target, end: target + length), commandLine: module.commandLine)
    }

    static func releaseRelocated(_ module: BootInfo.Module) {
        var frame = module.range.start
        while frame < module.range.end {
            do throws(FrameAllocator.FreeError) { try Platform.frames!.free(frame) } catch {
                Log.error("dom0: module frame \(hex: frame) would not free")
            }
            frame += Layout.pageSize
        }
    }

    /// PVH start state (Xen's docs/misc/pvh.pandoc): 32-bit protected mode,
    /// paging off, flat CS/DS/SS, a busy 32-bit TSS, EBX = start info.
    static func setUpDom0VCPU(_ domain: Domain, _ start: Dom0Builder.StartState) -> Bool {
        guard let frame = Platform.allocateFrame(), let page = PhysicalWindow.directMap.frame(frame),
              let io = Platform.frames?.allocateContiguous(count: PermissionMaps.ioPages),
              let ioBytes = PhysicalWindow.directMap.mutableBytes(at: io, count: PermissionMaps.ioPages * Int(Layout.pageSize)) else {
            return false
        }
        domain.addOverheadFrame(frame)
        for i in 0..<PermissionMaps.ioPages { domain.addOverheadFrame(io + UInt64(i) * Layout.pageSize) }
        // Dom0 drives the hardware: every port but COM1 (the virtual UART).
        // SAFETY: ioBytes is the run just allocated, checked for its size.
        ioBytes.initializeMemory(as: UInt8.self, repeating: 0)
        for port in Dom0Console.ports { PermissionMaps.deny(port: port, in: ioBytes) }
        for port in Dom0PIC.ports { PermissionMaps.deny(port: port, in: ioBytes) }
        ioBytes[ioBytes.count - 1] = 0xFF   // the bits past port 0xFFFF stay set (APM 15.10.1)
        // SAFETY: `page` is the frame just allocated, 4 KiB (frame() checked).
        page.initializeMemory(as: UInt8.self, repeating: 0, count: Int(Layout.pageSize))
        let vmcb = VMCB(base: page)
        configureControls(vmcb, domain: domain, ioPermissionMap: io)
        let code = VMCB.Segment(selector: 0x10, attributes: SegmentAttributes.code32, limit: 0xFFFF_FFFF, base: 0)
        let data = VMCB.Segment(selector: 0x18, attributes: SegmentAttributes.data, limit: 0xFFFF_FFFF, base: 0)
        vmcb.setSegment(.cs, code)
        for register in [VMCB.SegmentRegister.ds, .es, .ss, .fs, .gs] { vmcb.setSegment(register, data) }
        vmcb.setSegment(.tr, VMCB.Segment(selector: 0x20, attributes: SegmentAttributes.tss64Busy, limit: 0x67, base: 0))
        vmcb.setSegment(.ldtr, VMCB.Segment(selector: 0, attributes: SegmentAttributes.ldt, limit: 0, base: 0))
        vmcb.cr0 = PVHCPU.cr0
        vmcb.cr4 = 0
        vmcb.efer = SVM.eferSVME
        vmcb.guestPAT = GuestCPU.pat
        vmcb.dr6 = GuestCPU.dr6
        vmcb.dr7 = GuestCPU.dr7
        vmcb.rflags = GuestCPU.rflags
        vmcb.rip = UInt64(start.entry)
        vmcb.markAllDirty()
        let vcpu = VCPU(domainID: 0, index: 0)
        vcpu.context.vmcb = frame
        vcpu.context.vmcbPage = page
        vcpu.context.registers.rbx = start.startInfo
        domain.addVCPU(vcpu)
        return true
    }

    static func dom0ErrorText(_ error: Dom0Builder.Error) -> LogMessage {
        switch error {
        case .badImage(let e): return "kernel is not a loadable x86-64 ELF (\(elfErrorText(e)))"
        case .noPVHEntry: return "kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); boot the uncompressed vmlinux"
        case .outOfMemory(let needed, let free): return "out of memory: needs \(needed) frames, \(free) free (lower dom0_mem=)"
        case .kernelOutsideDom0Memory(let s, let e): return "kernel at \(hex: s)-\(hex: e) is not in Dom0's memory"
        case .initrdDoesNotFit(let size): return "initramfs (\(size) bytes) does not fit in Dom0's memory (raise dom0_mem=)"
        case .startInfoDoesNotFit: return "start info does not fit"
        case .mapping: return "nested page table mapping failed"
        case .hostMemoryUnreachable: return "host memory unreachable"
        }
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
                    label.withUnsafeBytes {
                        Log.error("module \(text: $0): \(problem.what) '\(text: problem.token(in: line))'; not started")
                    }
                }
            }
            return
        }
        guard let image = PhysicalWindow.directMap.bytes(at: module.range.start, count: Int(module.range.length)) else {
            label.withUnsafeBytes { Log.error("module \(text: $0): image at \(hex: module.range.start) unreachable") }
            return
        }
        let built = options.guestCommandLine.withUnsafeBytes { line in
            build(name: options.name, memoryBytes: options.memoryBytes, weight: options.weight, image: image,
                  commandLine: line, shell: nil)
        }
        switch built {
        case .failure(let failure):
            label.withUnsafeBytes { name in
                switch failure {
                case .noFreeID: Log.error("module \(text: name): no free domain id (at most \(maxDomains - 1) guests)")
                case .build(let error): Log.error("module \(text: name): cannot build the domain: \(buildErrorText(error))")
                case .noVMCB: Log.error("module \(text: name): no memory for its VMCB")
                }
            }
        case .success(let domain):
            start(domain)
            if !options.channels.isEmpty { bootChannels.append(BootChannels(frontend: domain.id, backends: options.channels)) }
        }
    }

    enum BuildFailure: Error {
        case noFreeID
        case build(DomainBuilder.Error)
        case noVMCB
    }

    /// A new domain in the table, built (from `shell` if given) and paused:
    /// `start` runs it. Logs what it took. On failure nothing of it is left.
    static func build(name: [UInt8], memoryBytes: UInt64, weight: Int, image: UnsafeRawBufferPointer,
                      commandLine: UnsafeRawBufferPointer, shell: DomainBuilder.Shell?) -> Result<Domain, BuildFailure> {
        guard let id = freeID() else {
            if let shell { _ = DomainBuilder.release(shell, allocator: &Platform.frames!) }
            return .failure(.noFreeID)
        }
        let domain = Domain(id: id, name: name, privileged: false, weight: weight)
        domain.timing.buildStart = tern_rdtsc()
        let freeBefore = Platform.frames!.freeFrames + (shell?.frameCount ?? 0)
        let start: DomainBuilder.StartState
        do throws(DomainBuilder.Error) {
            start = try DomainBuilder.build(domain: domain, memoryBytes: memoryBytes, image: image, commandLine: commandLine,
                                            host: PhysicalWindow.directMap, frames: &Platform.frames!, shell: shell)
        } catch {
            return .failure(.build(error))
        }
        guard setUpVCPU(domain, start) else {
            DomainBuilder.release(domain, allocator: &Platform.frames!)
            return .failure(.noVMCB)
        }
        table[Int(id)] = domain
        domain.state = .paused
        for vcpu in domain.vcpus { scheduler.add(vcpu, weight: domain.weight) }
        domain.timing.built = tern_rdtsc()
        let used = freeBefore - Platform.frames!.freeFrames
        let source: StaticString = shell == nil ? "" : " from the pool"
        name.withUnsafeBytes { text in
            Log.info("d\(id) \(text: text): created, \(bytes: domain.memoryBytes) RAM, entry \(hex: start.entry), \(used) frames\(source) (free now \(Platform.frames!.freeFrames))")
            if let first = domain.memoryExtents.first {
                Log.info("d\(id) \(text: text): memory in \(domain.memoryExtents.count) host extents, the first \(hex: first.hostBase) (\(first.frames) frames)")
            }
        }
        return .success(domain)
    }

    /// Lets a built (paused) domain's vCPUs run.
    static func start(_ domain: Domain) { domain.unpause() }

    /// TERN_HC_DOMAIN_CREATE (checked by Core/DomainControl.swift): the
    /// image is gathered from Dom0's frames into one contiguous run of
    /// scratch frames (at the top of memory), built, and the scratch frames freed.
    static func create(_ request: DomainRequest) -> Result<CreatedDomain, DomainCreateFailure> {
        let begin = tern_rdtsc()
        let pages = (request.imageBytes + Int(Layout.pageSize) - 1) / Int(Layout.pageSize)
        // From the top of memory: guests fill it from the bottom, so a
        // first fit from below would walk past every guest's small holes
        // (VMCBs, page tables): a cost that grew with the number of guests.
        guard let scratch = Platform.frames!.allocateContiguousFromTop(count: pages),
              let buffer = PhysicalWindow.directMap.mutableBytes(at: scratch, count: pages * Int(Layout.pageSize)) else {
            return .failure(.outOfMemory)
        }
        defer {
            for i in 0..<pages {
                do throws(FrameAllocator.FreeError) { try Platform.frames!.free(scratch + UInt64(i) * Layout.pageSize) } catch {
                    Log.error("create: scratch frame \(hex: scratch + UInt64(i) * Layout.pageSize) would not free")
                }
            }
        }
        for (i, frame) in request.imageFrames.enumerated() {
            guard let page = PhysicalWindow.directMap.bytes(at: frame, count: Int(Layout.pageSize)) else {
                return .failure(.hostMemoryUnreachable)
            }
            // SAFETY: page i of the scratch run (i < imageFrames.count == pages,
            // DomainControl checks the count); `page`: 4 KiB, checked, of a
            // frame of the caller's memory.
            UnsafeMutableRawBufferPointer(rebasing: buffer[(i * Int(Layout.pageSize))..<((i + 1) * Int(Layout.pageSize))])
                .copyMemory(from: page)
        }
        let shell = request.fromPool ? DomainPool.take(memoryBytes: request.memoryBytes) : nil
        let image = UnsafeRawBufferPointer(rebasing: buffer[0..<request.imageBytes])
        let built = request.commandLine.withUnsafeBytes { line in
            build(name: request.name, memoryBytes: request.memoryBytes, weight: request.weight, image: image,
                  commandLine: line, shell: shell)
        }
        switch built {
        case .failure(let failure):
            request.name.withUnsafeBytes { name in
                switch failure {
                case .noFreeID: Log.warning("create \(text: name): no free domain id")
                case .build(let error): Log.warning("create \(text: name): refused: \(buildErrorText(error))")
                case .noVMCB: Log.warning("create \(text: name): no memory for its VMCB")
                }
            }
            switch failure {
            case .noFreeID: return .failure(.noFreeID)
            case .noVMCB: return .failure(.outOfMemory)
            case .build(let error):
                switch error {
                case .outOfMemory: return .failure(.outOfMemory)
                case .badMemorySize: return .failure(.badMemorySize)
                case .badImage, .imageOutsideMemory: return .failure(.badImage)
                case .mapping, .hostMemoryUnreachable: return .failure(.hostMemoryUnreachable)
                }
            }
        case .success(let domain):
            if request.start { start(domain) }
            let ns = BootPhases.microseconds(cycles: tern_rdtsc() &- begin, tscHz: Platform.tscHz) &* 1000
            return .success(CreatedDomain(id: domain.id, buildNanoseconds: ns, fromPool: shell != nil))
        }
    }

    /// TERN_HC_DOMAIN_CONTROL (checked by Core/DomainControl.swift).
    static func control(_ domain: Domain, _ operation: DomainOperation) {
        domain.name.withUnsafeBytes { name in
            switch operation {
            case .pause:
                domain.pause()
                Log.info("d\(domain.id) \(text: name): paused by the toolstack")
            case .unpause:
                domain.unpause()
                Log.debug("d\(domain.id) \(text: name): unpaused by the toolstack")
            case .shutdown, .destroy:
                Exits.flushConsole(domain)
                let what: StaticString = operation == .shutdown ? "shut down" : "destroyed"
                Log.info("d\(domain.id) \(text: name): \(what) by the toolstack")
                domain.markStopped(.shutdown, reason: UInt64(TERN_SHUTDOWN_POWEROFF), tsc: tern_rdtsc())
                destroy(domain)
            }
        }
    }

    static func systemInfo() -> tern_system_info {
        var info = tern_system_info()
        info.abi_version = UInt32(TERN_ABI_VERSION)
        info.domains = UInt32(table.reduce(0) { $0 + ($1 == nil ? 0 : 1) })
        info.max_domains = UInt32(maxDomains)
        info.pool_shells = UInt32(DomainPool.shells.count)
        info.total_frames = UInt64(totalFrames)
        info.free_frames = UInt64(Platform.frames!.freeFrames)
        info.tsc_hz = Platform.tscHz
        info.uptime_ns = SystemTime.nowNanoseconds()
        return info
    }

    /// `channel=NAME` options seen while creating the boot modules.
    struct BootChannels {
        var frontend: UInt16
        var backends: [[UInt8]]
    }
    // SAFETY: only the boot sequence touches it (filled while the boot
    // modules become domains, emptied by connectBootChannels).
    nonisolated(unsafe) static var bootChannels: [BootChannels] = []

    /// Once every boot module is a domain: Tern does the toolstack's part
    /// for each `channel=` and adds the device (Core/Devices.swift).
    static func connectBootChannels() {
        for request in bootChannels {
            guard let frontend = domain(request.frontend) else { continue }
            for (devid, name) in request.backends.enumerated() {
                let backend = table.first { $0 != nil && $0!.name == name } ?? nil
                frontend.name.withUnsafeBytes { front in
                    name.withUnsafeBytes { back in
                        guard let backend else {
                            Log.error("d\(frontend.id) \(text: front): channel=\(text: back): no domain of that name; not connected")
                            return
                        }
                        let status = Devices.addChannel(frontend: frontend, backend: backend, devid: UInt16(devid), host: GuestHypercallHost())
                        if status == 0 {
                            Log.info("d\(frontend.id) \(text: front): channel \(devid) to d\(backend.id) \(text: back) (device page entries, port and control page in place)")
                        } else {
                            Log.error("d\(frontend.id) \(text: front): channel=\(text: back): refused (\(status))")
                        }
                    }
                }
            }
        }
        bootChannels = []
    }

    /// One vCPU whose VMCB starts it as DomainBuilder laid out: 64-bit
    /// long mode, paging on (the guest's identity map), CPL 0, IF=0.
    static func setUpVCPU(_ domain: Domain, _ start: DomainBuilder.StartState) -> Bool {
        guard let frame = Platform.allocateFrame(), let page = PhysicalWindow.directMap.frame(frame) else { return false }
        domain.addOverheadFrame(frame)
        // SAFETY: `page` is the frame just allocated, 4 KiB (frame() checked).
        page.initializeMemory(as: UInt8.self, repeating: 0, count: Int(Layout.pageSize))
        let vmcb = VMCB(base: page)
        configureControls(vmcb, domain: domain, ioPermissionMap: SVM.ioPermissionMap)

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

    /// What every guest vCPU intercepts, and its maps. INTR with
    /// V_INTR_MASKING: a host interrupt always stops the guest, whatever its
    /// IF. ASID and TLB control are set before each VMRUN (ASIDs.swift).
    static func configureControls(_ vmcb: VMCB, domain: Domain, ioPermissionMap: UInt64) {
        vmcb.misc1 = [.intr, .nmi, .smi, .initSignal, .cpuid, .invd, .hlt, .invlpga, .ioio, .msr, .taskSwitch,
                      .ferrFreeze, .shutdown]
        vmcb.misc2 = [.vmrun, .vmmcall, .vmload, .vmsave, .stgi, .clgi, .skinit, .icebp, .monitor, .mwait,
                      .mwaitArmed, .xsetbv]
        vmcb.iopmBase = ioPermissionMap
        vmcb.msrpmBase = SVM.msrPermissionMap
        vmcb.virtualInterrupt = VMCB.virtualInterruptMasking
        vmcb.nestedPaging = true
        vmcb.nestedCR3 = domain.nestedRoot
    }

    /// Stops a domain for good: it is cut loose from the others
    /// (DomainTeardown), then its memory goes back, unless others still map
    /// its grants: then it stays, dying, until the last one unmaps.
    static func destroy(_ domain: Domain) {
        let destroyStart = tern_rdtsc()
        scheduler.remove(domainID: domain.id)
        ASIDs.forget(domainID: domain.id)
        if domain.privileged { Dom0APIC.reset() }
        DomainTeardown.disconnect(domain, host: GuestHypercallHost())
        if domain.grants.mappedByOthers > 0 {
            domain.state = .dying
            domain.name.withUnsafeBytes { name in
                Log.info("d\(domain.id) \(text: name): dying: \(domain.grants.mappedByOthers) grant mappings by other domains keep its memory until they unmap")
            }
            return
        }
        release(domain)
        logTiming(domain, destroyCycles: tern_rdtsc() &- destroyStart)
    }

    /// Returns every frame of a stopped domain and frees its id.
    static func release(_ domain: Domain) {
        let before = Platform.frames!.freeFrames
        let frames = domain.memoryFrameCount + domain.overheadFrames.count
        let failures = DomainBuilder.release(domain, allocator: &Platform.frames!)
        table[Int(domain.id)] = nil
        if failures != 0 { Log.error("d\(domain.id): \(failures) frames would not free (bookkeeping bug)") }
        domain.name.withUnsafeBytes { name in
            Log.info("d\(domain.id) \(text: name): destroyed, \(frames) frames returned, free frames \(before) -> \(Platform.frames!.freeFrames)")
        }
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

/// PVH entry: protected mode only (PE, ET); Linux turns on paging itself.
enum PVHCPU {
    static let cr0: UInt64 = 1 << 0 | 1 << 4
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
