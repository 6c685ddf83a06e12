/// Builds Dom0 (docs/dom0.md): Linux entered at its PVH entry, identity
/// mapped (guest-physical = host-physical). Dom0's RAM is `memoryBytes` of
/// frames taken from the allocator plus the usable RAM below 1 MiB (which
/// Tern never uses); device space below 4 GiB (firmware, PCI, IOAPIC, ACPI)
/// is mapped to it too, except the LAPIC page, which Tern keeps. RAM that
/// is not Dom0's (Tern's, other domains') is in neither its nested table
/// nor, as RAM, its memory map. On any failure every frame goes back.
public enum Dom0Builder {
    public enum Error: Swift.Error, Equatable {
        case badImage(ELFImage.Error)
        case noPVHEntry
        case outOfMemory(neededFrames: Int, freeFrames: Int)
        case kernelOutsideDom0Memory(start: UInt64, end: UInt64)
        case initrdDoesNotFit(size: UInt64)
        case startInfoDoesNotFit
        case mapping(PageTable.MapError)
        case hostMemoryUnreachable

        /// The PVH loader's errors, in Dom0's terms.
        init(_ error: PVHLoader.Error) {
            switch error {
            case .noPVHEntry: self = .noPVHEntry
            case .kernelOutsideMemory(let start, let end): self = .kernelOutsideDom0Memory(start: start, end: end)
            case .initrdDoesNotFit(let size): self = .initrdDoesNotFit(size: size)
            case .startInfoDoesNotFit: self = .startInfoDoesNotFit
            case .hostMemoryUnreachable: self = .hostMemoryUnreachable
            }
        }

        /// The shared building steps' errors, in Dom0's terms.
        init(_ error: DomainBuilder.Error) {
            switch error {
            case .outOfMemory(let needed, let free): self = .outOfMemory(neededFrames: needed, freeFrames: free)
            case .mapping(let e): self = .mapping(e)
            default: self = .hostMemoryUnreachable
            }
        }
    }

    public typealias StartState = PVHLoader.StartState

    static let lowMemoryEnd: UInt64 = 1 << 20
    static let deviceSpaceEnd: UInt64 = 4 << 30
    /// Page tables of the grant window: one per 2 MiB, a directory, a PDPT.
    static let grantWindowTables = GuestLayout.dom0GrantWindowFrames / 512 + 2

    public static func build<Host: PhysicalMemory>(
        domain: Domain, memoryBytes: UInt64, kernel: UnsafeRawBufferPointer, initrd: UnsafeRawBufferPointer?,
        commandLine: [UInt8], hostMap: MemoryMap, lapicPage: UInt64, host: Host, frames: inout FrameAllocator
    ) throws(Error) -> StartState {
        let elf: ELFImage
        do throws(ELFImage.Error) { elf = try ELFImage(parsing: kernel) } catch { throw .badImage(error) }
        guard elf.pvhEntry != nil else { throw .noPVHEntry }   // before taking any frame
        let needed = Int(memoryBytes / FrameAllocator.frameSize)
        guard needed > 0, frames.freeFrames >= needed + DomainBuilder.nestedTableEstimate(deviceSpaceEnd) + grantWindowTables else {
            throw .outOfMemory(neededFrames: needed, freeFrames: frames.freeFrames)
        }
        do throws(Error) {
            do throws(DomainBuilder.Error) {
                // Not zeroed: built at boot, before any other domain has had
                // a frame, and privileged (it may map any domain's frames),
                // Dom0 has nothing to learn from its RAM's old contents, as
                // a PC's OS from its RAM at power-on. Zeroing 512 MiB made
                // the host touch every page of it before Dom0 ran (make
                // run: 0.2-1.5 s of its boot; docs/results.md). .bss is zeroed.
                try DomainBuilder.populate(domain, frames: needed, identity: true, zeroed: false, host: host, allocator: &frames)
            } catch {
                throw Error(error)
            }
            let memory = GuestMemory(of: domain, host: host)
            let span = elf.span
            guard memory.contains(span.start, count: span.length) else {
                throw .kernelOutsideDom0Memory(start: span.start, end: span.end)
            }
            try mapNested(domain, hostMap: hostMap, lapicPage: lapicPage, host: host, allocator: &frames)
            do throws(PVHLoader.Error) {
                return try PVHLoader.loadKernel(elf: elf, kernel: kernel, initrd: initrd, commandLine: commandLine,
                                          memoryMap: memoryMap(domain, hostMap: hostMap), into: memory)
            } catch {
                throw Error(error)
            }
        } catch {
            DomainBuilder.release(domain, allocator: &frames)
            throw error
        }
    }

    /// Dom0's nested table: its RAM, all of low memory, and every gap
    /// between usable RAM regions below 4 GiB (device space) but the LAPIC.
    private static func mapNested<Host: PhysicalMemory>(
        _ domain: Domain, hostMap: MemoryMap, lapicPage: UInt64, host: Host, allocator: inout FrameAllocator
    ) throws(Error) {
        let root: UInt64
        do throws(DomainBuilder.Error) { root = try DomainBuilder.newNestedRoot(domain, host: host, allocator: &allocator) } catch {
            throw Error(error)
        }
        func identity(_ range: PhysicalRange) throws(Error) {
            let r = range.alignedInward(to: GuestLayout.pageSize)
            guard !r.isEmpty else { return }
            do throws(DomainBuilder.Error) {
                try DomainBuilder.mapNested(domain, root: root, virtual: r.start, physical: r.start, size: r.length,
                                            host: host, allocator: &allocator)
            } catch {
                throw Error(error)
            }
        }
        for extent in domain.memoryExtents {
            try identity(PhysicalRange(start: extent.hostBase,
                                       end: extent.hostBase + UInt64(extent.frames) * FrameAllocator.frameSize))
        }
        try identity(PhysicalRange(start: 0, end: lowMemoryEnd))
        // Gaps between usable RAM, from 1 MiB to 4 GiB, minus the LAPIC page.
        var cursor = lowMemoryEnd
        func gap(until end: UInt64) throws(Error) {
            guard end > cursor else { return }
            let lapic = PhysicalRange(start: lapicPage, end: lapicPage + GuestLayout.pageSize)
            let pieces = PhysicalRange(start: cursor, end: end).subtracting(lapic)
            try identity(pieces.before)
            try identity(pieces.after)
        }
        for region in hostMap.regions where region.kind == .usable && region.range.end > lowMemoryEnd {
            try gap(until: min(region.range.start, deviceSpaceEnd))
            cursor = max(cursor, region.range.end)
        }
        try gap(until: deviceSpaceEnd)
        try prepareGrantWindow(domain, root: root, host: host, allocator: &allocator)
    }

    /// The page tables of Dom0's grant window, with no leaf present: one
    /// leaf mapped (to frame 0, never used) and taken out again per 2 MiB.
    private static func prepareGrantWindow<Host: PhysicalMemory>(
        _ domain: Domain, root: UInt64, host: Host, allocator: inout FrameAllocator
    ) throws(Error) {
        let window = GuestLayout.dom0GrantWindow
        let end = window + UInt64(GuestLayout.dom0GrantWindowFrames) * GuestLayout.pageSize
        var table = window
        while table < end {
            do throws(DomainBuilder.Error) {
                try DomainBuilder.mapNested(domain, root: root, virtual: table, physical: 0, size: GuestLayout.pageSize,
                                            host: host, allocator: &allocator)
            } catch {
                throw Error(error)
            }
            NestedPageTable.removePage(root: root, gpa: table, memory: host)
            table += GuestLayout.memoryUnit
        }
        domain.grants.setUp(gpa: 0, entries: 0, windowGPA: window, windowFrames: GuestLayout.dom0GrantWindowFrames)
    }

    /// The map Linux sees: Dom0's RAM and low usable RAM as RAM; other RAM
    /// reserved; firmware regions as the loader reported them.
    static func memoryMap(_ domain: Domain, hostMap: MemoryMap) -> [PVHStartInfo.MapEntry] {
        var map = MemoryMap()
        for region in hostMap.regions {
            let kind: MemoryKind = region.kind == .usable ? .reserved : region.kind
            if region.kind == .usable && region.range.start < lowMemoryEnd {
                map.add(MemoryRegion(start: region.range.start, end: min(region.range.end, lowMemoryEnd), kind: .usable))
                if region.range.end > lowMemoryEnd {
                    map.add(MemoryRegion(start: lowMemoryEnd, end: region.range.end, kind: .reserved))
                }
            } else {
                map.add(MemoryRegion(start: region.range.start, end: region.range.end, kind: kind))
            }
        }
        // Then Dom0's own runs, carved out of the (now reserved) RAM.
        var result: [PVHStartInfo.MapEntry] = []
        let runs = domain.memoryExtents.sorted { $0.hostBase < $1.hostBase }
        for region in map.normalized().regions {
            var start = region.range.start
            for extent in runs {
                let e = PhysicalRange(start: extent.hostBase, end: extent.hostBase + UInt64(extent.frames) * FrameAllocator.frameSize)
                guard e.overlaps(PhysicalRange(start: start, end: region.range.end)), e.start >= start else { continue }
                if e.start > start { result.append(entry(start, e.start, region.kind)) }
                result.append(entry(e.start, min(e.end, region.range.end), .usable))
                start = min(e.end, region.range.end)
            }
            if start < region.range.end { result.append(entry(start, region.range.end, region.kind)) }
        }
        return merged(result)
    }

    static func entry(_ start: UInt64, _ end: UInt64, _ kind: MemoryKind) -> PVHStartInfo.MapEntry {
        let type: PVHStartInfo.MemoryType
        switch kind {
        case .usable: type = .ram
        case .acpiReclaimable: type = .acpi
        case .acpiNVS: type = .nvs
        case .reserved: type = .reserved
        case .defective: type = .unusable
        }
        return PVHStartInfo.MapEntry(address: start, size: end - start, type: type)
    }

    static func merged(_ entries: [PVHStartInfo.MapEntry]) -> [PVHStartInfo.MapEntry] {
        var out: [PVHStartInfo.MapEntry] = []
        for e in entries where e.size > 0 {
            if let last = out.last, last.type == e.type, last.address + last.size == e.address {
                out[out.count - 1].size += e.size
            } else {
                out.append(e)
            }
        }
        return out
    }
}

extension Dom0Builder.Error {
    /// Why Dom0 could not be built, for the log.
    public var message: LogMessage {
        switch self {
        case .badImage(let e): return "kernel is not a loadable x86-64 ELF (\(e.message))"
        case .noPVHEntry: return "kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); boot the uncompressed vmlinux"
        case .outOfMemory(let needed, let free): return "out of memory: needs \(needed) frames, \(free) free (lower dom0_mem=)"
        case .kernelOutsideDom0Memory(let s, let e): return "kernel at \(hex: s)-\(hex: e) is not in Dom0's memory"
        case .initrdDoesNotFit(let size): return "initramfs (\(size) bytes) does not fit in Dom0's memory (raise dom0_mem=)"
        case .startInfoDoesNotFit: return "start info does not fit"
        case .mapping: return "nested page table mapping failed"
        case .hostMemoryUnreachable: return "host memory unreachable"
        }
    }
}
