import TernCore
import TernABI
import TernCPU

/// Guests: built from a boot module or at the toolstack's request
/// (TERN_HC_DOMAIN_CREATE), then started.
extension Domains {
    /// A guest module's options and image, or nil after logging why the
    /// module is not started (a bad option, an image Tern cannot reach).
    /// PV guests and Linux guests alike (LinuxGuestBoot.swift).
    static func moduleToStart(_ module: BootInfo.Module) -> (options: ModuleOptions, image: UnsafeRawBufferPointer)? {
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
            return nil
        }
        guard let image = PhysicalWindow.directMap.bytes(at: module.range.start, count: Int(module.range.length)) else {
            label.withUnsafeBytes { Log.error("module \(text: $0): image at \(hex: module.range.start) unreachable") }
            return nil
        }
        return (options, image)
    }

    /// Builds and starts a domain from a boot module; logs why not if not.
    static func createFromModule(_ module: BootInfo.Module) {
        guard let (options, image) = moduleToStart(module) else { return }
        let label = options.name
        let built = options.guestCommandLine.withUnsafeBytes { line in
            build(name: options.name, memoryBytes: options.memoryBytes, weight: options.weight,
                  emulation: options.emulation, image: image, commandLine: line, shell: nil)
        }
        switch built {
        case .failure(let failure):
            label.withUnsafeBytes { name in
                switch failure {
                case .noFreeID: Log.error("module \(text: name): no free domain id (at most \(maxDomains - 1) guests)")
                case .build(let error): Log.error("module \(text: name): cannot build the domain: \(error.message)")
                case .linux(let error): Log.error("module \(text: name): cannot build the Linux guest: \(error.message)")
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
        case linux(LinuxGuestBuilder.Error)
        case noVMCB
    }

    /// A new domain in the table, built (from `shell` if given) and paused:
    /// `start` runs it. Logs what it took. On failure nothing of it is left.
    static func build(name: [UInt8], memoryBytes: UInt64, weight: Int, emulation: Emulation = [],
                      image: UnsafeRawBufferPointer, commandLine: UnsafeRawBufferPointer,
                      shell: DomainBuilder.Shell?) -> Result<Domain, BuildFailure> {
        guard let id = freeID() else {
            if let shell { _ = DomainBuilder.release(shell, allocator: &Platform.frames!) }
            return .failure(.noFreeID)
        }
        let domain = Domain(id: id, name: name, privileged: false, weight: weight)
        domain.chooseEmulation(emulation)   // ModuleOptions admits only sets Tern can give
        domain.timing.buildStart = tern_rdtsc()
        domain.createdNanoseconds = SystemTime.nowNanoseconds()
        let freeBefore = Platform.frames!.freeFrames + (shell?.frameCount ?? 0)
        let start: DomainBuilder.StartState
        do throws(DomainBuilder.Error) {
            start = try DomainBuilder.build(domain: domain, memoryBytes: memoryBytes, image: image, commandLine: commandLine,
                                            host: PhysicalWindow.directMap, frames: &Platform.frames!, shell: shell)
        } catch {
            return .failure(.build(error))
        }
        guard setUpVCPU(domain, .pv64(start)) else {
            DomainBuilder.release(domain, allocator: &Platform.frames!)
            return .failure(.noVMCB)
        }
        addToTable(domain)
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

    /// A built domain (its vCPU set up) takes its id in the table and its
    /// place in the scheduler, paused: PV and Linux guests alike.
    static func addToTable(_ domain: Domain) {
        table[Int(domain.id)] = domain
        domain.markBuilt()
        for vcpu in domain.vcpus { scheduler.add(vcpu, weight: domain.weight) }
        domain.timing.built = tern_rdtsc()
    }

    /// Lets a built (paused) domain's vCPUs run.
    static func start(_ domain: Domain) { domain.unpause() }

    /// A file from Dom0's frames, gathered into one contiguous run of
    /// scratch frames (at the top of memory: guests fill it from the
    /// bottom, so a first fit from below would walk past every guest's
    /// small holes, a cost that grew with the number of guests).
    struct Scratch {
        let base: UInt64
        let pages: Int
        let bytes: UnsafeRawBufferPointer

        static func gather(_ file: CallerFrames) -> Result<Scratch, DomainCreateFailure> {
            let pages = (file.bytes + Int(Layout.pageSize) - 1) / Int(Layout.pageSize)
            guard let base = Platform.frames!.allocateContiguousFromTop(count: pages) else { return .failure(.outOfMemory) }
            // SAFETY: an empty buffer (no address, no bytes): nothing is read through it.
            let scratch = Scratch(base: base, pages: pages, bytes: UnsafeRawBufferPointer(start: nil, count: 0))
            guard let buffer = PhysicalWindow.directMap.mutableBytes(at: base, count: pages * Int(Layout.pageSize)) else {
                scratch.free()
                return .failure(.outOfMemory)
            }
            for i in 0..<min(pages, file.count) {
                guard let frame = file.frame(i),
                      let page = PhysicalWindow.directMap.bytes(at: frame, count: Int(Layout.pageSize)) else {
                    scratch.free()
                    return .failure(.hostMemoryUnreachable)
                }
                // SAFETY: page i of the scratch run (i < pages); `page`: 4 KiB,
                // checked, of a frame of the caller's memory (CallerFrames).
                UnsafeMutableRawBufferPointer(rebasing: buffer[(i * Int(Layout.pageSize))..<((i + 1) * Int(Layout.pageSize))])
                    .copyMemory(from: page)
            }
            return .success(Scratch(base: base, pages: pages, bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<file.bytes])))
        }

        func free() {
            for i in 0..<pages {
                do throws(FrameAllocator.FreeError) { try Platform.frames!.free(base + UInt64(i) * Layout.pageSize) } catch {
                    Log.error("create: scratch frame \(hex: base + UInt64(i) * Layout.pageSize) would not free")
                }
            }
        }
    }

    /// TERN_HC_DOMAIN_CREATE (checked by Core/DomainControl.swift): the
    /// image (and a ramdisk) gathered from Dom0's frames into scratch
    /// frames, built as the kind of guest the image is (a PVH entry note:
    /// a Linux guest, LinuxGuestBoot.swift), the scratch frames freed.
    static func create(_ request: DomainRequest) -> Result<CreatedDomain, DomainCreateFailure> {
        let begin = tern_rdtsc()
        let image: Scratch
        switch Scratch.gather(request.image) {
        case .failure(let failure): return .failure(failure)
        case .success(let gathered): image = gathered
        }
        defer { image.free() }
        var ramdisk: Scratch?
        if let file = request.ramdisk {
            switch Scratch.gather(file) {
            case .failure(let failure): return .failure(failure)
            case .success(let gathered): ramdisk = gathered
            }
        }
        defer { ramdisk?.free() }
        let kind: GuestKind = ELFImage.hasPVHEntry(image.bytes) ? .linux : .pv
        let built: Result<Domain, BuildFailure>
        var fromPool = false
        switch kind {
        case .linux:
            built = buildLinux(name: request.name, memoryBytes: request.memoryBytes, weight: request.weight,
                               kernel: image.bytes, initrd: ramdisk?.bytes, commandLine: request.commandLine)
        case .pv:
            guard ramdisk == nil, request.commandLine.count < Int(TERN_PV_CMDLINE_MAX) else {
                request.name.withUnsafeBytes { name in
                    Log.warning("create \(text: name): refused: a PV guest takes no ramdisk and a command line below \(Int(TERN_PV_CMDLINE_MAX)) bytes")
                }
                return .failure(.notForThisKind)
            }
            let shell = request.fromPool ? DomainPool.take(memoryBytes: request.memoryBytes) : nil
            fromPool = shell != nil
            built = request.commandLine.withUnsafeBytes { line in
                build(name: request.name, memoryBytes: request.memoryBytes, weight: request.weight, image: image.bytes,
                      commandLine: line, shell: shell)
            }
        }
        switch built {
        case .failure(let failure):
            request.name.withUnsafeBytes { name in
                switch failure {
                case .noFreeID: Log.warning("create \(text: name): no free domain id")
                case .build(let error): Log.warning("create \(text: name): refused: \(error.message)")
                case .linux(let error): Log.warning("create \(text: name): refused: \(error.message)")
                case .noVMCB: Log.warning("create \(text: name): no memory for its VMCB")
                }
            }
            return .failure(failure.createFailure)
        case .success(let domain):
            domain.keepWhenStopped = request.keepWhenStopped
            domain.consoleToSerial = request.consoleToSerial
            if request.start { start(domain) }
            let ns = BootPhases.microseconds(cycles: tern_rdtsc() &- begin, tscHz: Platform.tscHz) &* 1000
            return .success(CreatedDomain(id: domain.id, buildNanoseconds: ns, fromPool: fromPool, kind: kind))
        }
    }
}

extension Domains.BuildFailure {
    /// What TERN_HC_DOMAIN_CREATE answers for it.
    var createFailure: DomainCreateFailure {
        switch self {
        case .noFreeID: return .noFreeID
        case .noVMCB: return .outOfMemory
        case .build(let error):
            switch error {
            case .outOfMemory: return .outOfMemory
            case .badMemorySize: return .badMemorySize
            case .badImage, .imageOutsideMemory: return .badImage
            case .mapping, .hostMemoryUnreachable: return .hostMemoryUnreachable
            }
        case .linux(let error):
            switch error {
            case .outOfMemory: return .outOfMemory
            case .badMemorySize: return .badMemorySize
            case .badImage, .noPVHEntry, .kernelOutsideMemory, .initrdDoesNotFit, .startInfoDoesNotFit: return .badImage
            case .mapping, .hostMemoryUnreachable: return .hostMemoryUnreachable
            }
        }
    }
}
