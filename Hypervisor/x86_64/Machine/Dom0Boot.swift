import TernCore
import TernCPU

/// Dom0 (docs/dom0.md) from its boot modules: the kernel and initramfs
/// moved out of the way, the command line completed, the domain built and
/// its vCPU set up (VCPUSetup.swift).
extension Domains {
    /// Linux's option for the TSC frequency in kHz.
    static let tscOption: StaticString = "tsc_early_khz="

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
        LocalAPICEmulation.page = lapicPage
        let initrd = originalInitrd.flatMap { relocateToTop($0) }
        defer {
            releaseRelocated(kernel)
            if let initrd { releaseRelocated(initrd) }
        }
        let options = kernel.commandLine.withBytes { ModuleOptions(parsing: $0) }
        let commandLine = withTSCFrequency(options.guestCommandLine)
        guard let image = PhysicalWindow.directMap.bytes(at: kernel.range.start, count: Int(kernel.range.length)) else {
            Log.error("dom0: kernel image unreachable")
            return
        }
        let initrdBytes = initrd.flatMap { PhysicalWindow.directMap.bytes(at: $0.range.start, count: Int($0.range.length)) }
        let domain = Domain(id: 0, name: Array("dom0".utf8), privileged: true, weight: options.weight)
        domain.chooseEmulation(.deviceOwner)   // a Linux that drives the machine
        domain.timing.buildStart = tern_rdtsc()
        domain.createdNanoseconds = SystemTime.nowNanoseconds()
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
            Log.error("dom0: cannot build it: \(failure!.message)")
            return
        }
        guard setUpVCPU(domain, .pvh32(start)) else {
            DomainBuilder.release(domain, allocator: &Platform.frames!)
            Log.error("dom0: no memory for its VMCB and I/O map")
            return
        }
        table[0] = domain
        Domains.deviceOwner = domain
        Domains.controlDomain = domain
        LAPIC.enableLegacyPICInput()   // Dom0 drives the 8259 (masked until it unmasks lines)
        domain.timing.built = tern_rdtsc()
        domain.startAtBoot()
        for vcpu in domain.vcpus { scheduler.add(vcpu, weight: domain.weight) }
        Log.info("d0 dom0: created, \(bytes: domain.memoryBytes) RAM identity-mapped, PVH entry \(hex: start.entry), start info at \(hex: start.startInfo)")
    }

    /// Tells Linux the TSC frequency Tern measured, unless the command line
    /// already does: its own PIT calibration is unreliable in a VM (exits
    /// between PIT reads), and without it Linux waits for timer ticks to
    /// calibrate its delay loop.
    static func withTSCFrequency(_ original: [UInt8]) -> [UInt8] {
        var commandLine = original
        var hasTSCOption = false
        commandLine.withUnsafeBytes { line in
            forEachToken(in: line) { token, _, _ in
                hasTSCOption = hasTSCOption || (token.count > tscOption.utf8CodeUnitCount && token.hasPrefix(tscOption))
                return true
            }
        }
        if !hasTSCOption {
            var suffix: LogMessage = " \(tscOption)\(Platform.tscHz / 1000)"
            if commandLine.isEmpty { suffix = "\(tscOption)\(Platform.tscHz / 1000)" }
            suffix.withBytes { commandLine.append(contentsOf: $0) }
        }
        return commandLine
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
}
