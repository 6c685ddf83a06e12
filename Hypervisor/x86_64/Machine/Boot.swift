import TernCore
import TernCPU

/// Tern's boot sequence, from Boot/entry.asm to the idle loop. Each step
/// closes a phase of the boot phase table printed at the end.
enum TernVersion {
    static let string: StaticString = "0.1.0"
}

@_cdecl("tern_main")
func ternMain(_ magic: UInt32, _ infoAddress: UInt32, _ entryTSC: UInt64) -> Never {
    var phases = BootPhases(startTSC: entryTSC)
    SystemTime.bootTSC = entryTSC
    phases.mark("entry-to-swift", tsc: tern_rdtsc())

    Serial.initialize()
    Log.sink = Console.logSink
    let info: BootInfo
    do throws(BootInfoError) {
        info = try BootInfo.parse(magic: magic, address: UInt64(infoAddress), memory: PhysicalWindow.early)
    } catch {
        error.log()
        Panic.fatal("cannot continue without valid boot information")
    }
    let options = info.commandLine.withBytes { BootOptions(parsing: $0) }
    Log.threshold = options.logLevel
    logBanner(info, options)
    phases.mark("console-bootinfo", tsc: tern_rdtsc())

    let image = tern_image_layout()
    checkImageLayout(image)
    let bitmapPhysical = setUpMemory(info, image)
    phases.mark("frame-allocator", tsc: tern_rdtsc())

    let lapicPhysical = LAPIC.physicalBase()
    if let error = HostPaging.build(image: image, lapicPhysical: lapicPhysical, bitmapPhysical: bitmapPhysical) {
        switch error {
        case .noFrameForRoot: Panic.fatal("page tables: no free frame below 4 GiB for the root table")
        case .map(let mapError): Panic.fatal("page tables: mapping failed: \(mapErrorText(mapError))")
        }
    }
    let wx = HostPaging.countWritableExecutable(image: image)
    guard wx == 0 else { Panic.fatal("page tables: \(wx) pages are writable and executable") }
    Log.info("Page tables: W^X image (text RX, rodata R, data RW+NX, guarded stacks), direct map of \(bytes: Platform.directMapEnd) RAM at \(hex: Layout.directMapBase)")
    phases.mark("page-tables", tsc: tern_rdtsc())

    if DescriptorTables.install(image: image) != nil {
        Panic.fatal("descriptor tables: no free frame for the GDT/IDT")
    }
    Log.info("Descriptor tables: GDT, TSS with 7 IST stacks, IDT with 256 vectors (all on IST)")
    phases.mark("descriptor-tables", tsc: tern_rdtsc())

    LegacyPIC.remapAndMask()
    LAPIC.enable()
    guard let calibration = PIT.calibrate() else {
        Panic.fatal("timer: the PIT never completed its calibration countdown")
    }
    Platform.tscHz = calibration.tscHz
    CMOSClockEmulation.readMachineClock()   // before Dom0 owns the clock
    Log.info("Calibrated: TSC \(calibration.tscHz / 1000) kHz, LAPIC timer \(calibration.lapicCountsPerSecond / 1000) kHz (divide by \(LAPIC.timerDivisor))")
    phases.mark("timer-calibration", tsc: tern_rdtsc())

    startTimerAndWaitForTicks(calibration)
    phases.mark("timer-first-ticks", tsc: tern_rdtsc())

    if let error = SVM.enable() { Panic.fatal(SVM.message(error)) }
    Log.info("SVM: enabled with nested paging, \(SVM.asidCount) ASIDs; ports and MSRs intercepted by default")
    phases.mark("svm", tsc: tern_rdtsc())
    if let error = GuestFPU.enable() { Panic.fatal(GuestFPU.message(error)) }
    if GuestFPU.hasXSAVE {
        Log.info("FPU: each vCPU's x87/SSE/AVX registers are its own: XSAVE, XCR0 components \(hex: GuestFPU.managed), \(GuestFPU.areaBytes) bytes a vCPU")
    } else {
        Log.info("FPU: each vCPU's x87/SSE registers are its own: FXSAVE, \(GuestFPU.areaBytes) bytes a vCPU")
    }
    phases.mark("fpu", tsc: tern_rdtsc())

    Domains.freeFramesBeforeGuests = Platform.frames!.freeFrames
    Domains.totalFrames = Platform.frames!.freeFrames
    var dom0Kernel: BootInfo.Module?, dom0Initrd: BootInfo.Module?
    var guests: [BootInfo.Module] = []
    var linuxGuests: [(kernel: BootInfo.Module, initrd: BootInfo.Module?)] = []
    for module in info.modules {
        switch module.commandLine.withBytes({ ModuleOptions(parsing: $0) }).role {
        case .dom0Kernel: dom0Kernel = module
        case .dom0Initrd: dom0Initrd = module
        case .guest: guests.append(module)
        case .linuxKernel: linuxGuests.append((module, nil))
        case .linuxInitrd:
            // The initramfs of the Linux guest whose kernel came just before.
            if let last = linuxGuests.last, last.initrd == nil {
                linuxGuests[linuxGuests.count - 1].initrd = module
            } else {
                Log.error("a role=linux-initrd module follows no role=linux kernel; ignored")
            }
        }
    }
    // Dom0 first: its kernel's fixed load address must be free, so the
    // guests' modules (loaders put them low too) move to the top of memory.
    if let kernel = dom0Kernel {
        func moved(_ module: BootInfo.Module) -> BootInfo.Module {
            guard let moved = Domains.relocateToTop(module) else {
                Log.warning("no room at the top of memory to move a guest module; it stays where Dom0 may need it")
                return module
            }
            return moved
        }
        guests = guests.map(moved)
        linuxGuests = linuxGuests.map { (moved($0.kernel), $0.initrd.map(moved)) }
        Domains.createDom0(kernel: kernel, initrd: dom0Initrd, memoryBytes: options.dom0Memory, lapicPage: lapicPhysical)
    }
    for module in guests { Domains.createFromModule(module) }
    for linux in linuxGuests { Domains.createLinuxFromModule(linux.kernel, initrd: linux.initrd) }
    Domains.connectBootChannels()
    phases.mark("domains", tsc: tern_rdtsc())

    phases.log(tscHz: Platform.tscHz)
    Log.debug("Boot stack high-water mark: \(bootStackUsed(image)) of \(Layout.stackSize) bytes")
    Log.info("Boot complete: \(Platform.frames!.freeFrames) free frames; \(Domains.scheduler.vcpus.count) guest vCPUs (Ctrl-A X quits QEMU)")

    if options.benchEmptyExits { Benchmarks.emptyExits() }
    if options.selftest == .pageFault {
        Log.info("selftest: reading unmapped address \(hex: Layout.selftestFaultAddress) to test the panic report")
        tern_selftest_fault(Layout.selftestFaultAddress)
        Panic.fatal("selftest: the page fault did not happen")
    }
    RunLoop.run()
}

/// The timer's rate is checked against the TSC over the first ticks.
private func startTimerAndWaitForTicks(_ calibration: PIT.Calibration) {
    let wanted: UInt64 = 3
    HostTimer.start(countsPerSecond: calibration.lapicCountsPerSecond)
    let start = tern_rdtsc()
    let firstTick = Platform.ticks
    while Platform.ticks - firstTick < wanted {
        tern_sti_hlt()
    }
    tern_cli()
    let us = BootPhases.microseconds(cycles: tern_rdtsc() - start, tscHz: Platform.tscHz)
    Log.info("LAPIC timer: \(Layout.timerHz) Hz, \(wanted) ticks in \(us) us")
}

private func logBanner(_ info: BootInfo, _ options: BootOptions) {
    Log.info("Tern hypervisor \(TernVersion.string) (Embedded Swift, x86-64)")
    let loader: StaticString = info.loader == .multiboot2 ? "multiboot2" : "multiboot1"
    info.loaderName.withBytes { name in
        Log.info("Loaded by \(loader) loader: \(text: name)")
    }
    info.commandLine.withBytes { line in
        Log.info("Command line: \(text: line)")
        for problem in options.problems {
            Log.warning("command line: \(problem.what) '\(text: problem.token(in: line))', ignored")
        }
    }
    if info.commandLine.truncated { Log.warning("command line longer than \(BootString.capacity) bytes, cut") }
}

/// Bytes of the boot stack (slot 0) ever written: the stack starts zeroed
/// (.bss), so the lowest non-zero word marks the deepest point reached.
private func bootStackUsed(_ image: tern_image_symbols) -> UInt64 {
    let bottom = image.stacks_start + Layout.pageSize
    // SAFETY: slot 0's stack, stackSize bytes above its guard page, is
    // mapped RW (HostPaging) and page-aligned; the loop reads only inside it.
    let words = UnsafePointer<UInt64>(bitPattern: UInt(bottom))!
    var untouched: UInt64 = 0
    while untouched < Layout.stackSize / 8 && words[Int(untouched)] == 0 { untouched += 1 }
    return Layout.stackSize - untouched * 8
}

/// The assembly and Layout.swift must agree on the image and stack layout.
private func checkImageLayout(_ image: tern_image_symbols) {
    guard image.image_start == Layout.imageBase else {
        Panic.fatal("image loaded at \(hex: image.image_start), built for \(hex: Layout.imageBase) (linker.ld vs Layout.swift)")
    }
    guard MemoryLayout<GuestRegisters>.size == MemoryLayout<tern_guest_regs>.size else {
        Panic.fatal("GuestRegisters and tern_guest_regs differ in size (Model/VCPUContext.swift vs include/cpu.h)")
    }
    let stacks = image.stacks_end - image.stacks_start
    guard stacks == UInt64(Layout.stackSlots) * Layout.stackSlotSize else {
        Panic.fatal("stack area is \(stacks) bytes, Layout.swift expects \(UInt64(Layout.stackSlots) * Layout.stackSlotSize) (Boot/layout.inc out of step)")
    }
}

/// Memory map, then the frame allocator with everything that must never
/// be handed out reserved. Returns the frame bitmap's physical address.
private func setUpMemory(_ info: BootInfo, _ image: tern_image_symbols) -> UInt64 {
    Platform.memoryMap = info.memoryMap.normalized()
    let map = Platform.memoryMap
    Log.info("Memory map (\(map.count) regions):")
    for i in 0..<map.count {
        Log.info("  \(hex: map[i].range.start, digits: 16) - \(hex: map[i].range.end, digits: 16)  \(map[i].kind.name)")
    }
    if info.memoryMap.overflowed || map.overflowed {
        Log.warning("memory map has more than \(MemoryMap.capacity) regions; memory above the last one is unused")
    }
    let usable = map.totalBytes(of: .usable)
    Log.info("RAM: \(bytes: usable) usable, highest usable address \(hex: map.usableEnd)")

    let frameCount = Int(map.usableEnd >> FrameAllocator.frameShift)
    let imageRange = PhysicalRange(start: image.image_start, end: image.image_end)
    let avoid = [PhysicalRange(start: 0, end: Layout.lowMemoryEnd), imageRange] + info.modules.map { $0.range }

    let bitmapBytes = UInt64(FrameAllocator.bitmapBytes(frameCount: frameCount))
    let placement = FrameAllocator.bitmapPlacement(frameCount: frameCount, map: map, avoid: avoid)
    guard let bitmapAddress = placement, bitmapAddress + bitmapBytes <= Layout.earlyIdentityMapEnd,
          let bitmap = PhysicalWindow.early.mutableBytes(at: bitmapAddress, count: Int(bitmapBytes)) else {
        Panic.fatal("no room below 4 GiB for the frame bitmap (\(bitmapBytes) bytes)")
    }
    // SAFETY: the placement is usable RAM nobody else uses, mapped early.
    var frames = FrameAllocator(bitmap: bitmap.baseAddress!.bindMemory(to: UInt64.self, capacity: Int(bitmapBytes / 8)),
                                frameCount: frameCount)
    frames.reserve(PhysicalRange(start: 0, end: Layout.lowMemoryEnd), reason: "low memory (BIOS, EBDA, VGA)")
    frames.reserve(imageRange, reason: "hypervisor image")
    frames.reserve(PhysicalRange(start: bitmapAddress, end: bitmapAddress + bitmapBytes), reason: "frame bitmap")
    for module in info.modules { frames.reserve(module.range, reason: "boot module") }
    for region in map.regions where region.kind == .usable { frames.addUsable(region.range) }

    for r in frames.reservations {
        Log.info("Reserved \(hex: r.range.start, digits: 8) - \(hex: r.range.end, digits: 8): \(r.reason)")
    }
    for (i, module) in info.modules.enumerated() {
        module.commandLine.withBytes { name in
            Log.info("Module \(i): \(hex: module.range.start) - \(hex: module.range.end) (\(bytes: module.range.length)) \(text: name)")
        }
    }
    Log.info("Frame allocator: \(frames.freeFrames) free frames (\(bytes: UInt64(frames.freeFrames) << FrameAllocator.frameShift)) of \(frameCount)")
    Platform.frames = frames
    return bitmapAddress
}

private func mapErrorText(_ error: PageTable.MapError) -> LogMessage {
    switch error {
    case .misaligned(let v, let p, let s): return "misaligned \(hex: v) -> \(hex: p) size \(hex: s)"
    case .nonCanonical(let v): return "non-canonical address \(hex: v)"
    case .alreadyMapped(let v): return "\(hex: v) already mapped"
    case .outOfFrames: return "out of frames for page tables"
    case .tableUnreachable(let t): return "table frame \(hex: t) unreachable"
    case .physicalOutOfRange(let p): return "physical range at \(hex: p) out of range"
    }
}
