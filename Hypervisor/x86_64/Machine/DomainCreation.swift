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
        table[Int(id)] = domain
        domain.markBuilt()
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
        for i in 0..<min(pages, request.imageFrameCount) {
            guard let frame = request.imageFrame(i) else { return .failure(.hostMemoryUnreachable) }
            guard let page = PhysicalWindow.directMap.bytes(at: frame, count: Int(Layout.pageSize)) else {
                return .failure(.hostMemoryUnreachable)
            }
            // SAFETY: page i of the scratch run (i < pages); `page`: 4 KiB,
            // checked, of a frame of the caller's memory (imageFrame).
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
                case .build(let error): Log.warning("create \(text: name): refused: \(error.message)")
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
            domain.keepWhenStopped = request.keepWhenStopped
            domain.consoleToSerial = request.consoleToSerial
            if request.start { start(domain) }
            let ns = BootPhases.microseconds(cycles: tern_rdtsc() &- begin, tscHz: Platform.tscHz) &* 1000
            return .success(CreatedDomain(id: domain.id, buildNanoseconds: ns, fromPool: shell != nil))
        }
    }
}
