import TernABI

/// Builds a PV domain from an ELF image (Tern's side of `create`): takes
/// zeroed frames, maps them with a nested page table, loads the image,
/// writes identity page tables, a GDT and the start-info page into guest
/// memory, and returns where the first vCPU starts. On any failure every
/// frame taken so far goes back to the allocator: nothing half-built stays.
public enum DomainBuilder {
    public enum Error: Swift.Error, Equatable {
        case badMemorySize(UInt64)
        case badImage(ELFImage.Error)
        /// A segment lies outside [0, start of Tern's reserved top area).
        case imageOutsideMemory(start: UInt64, end: UInt64, limit: UInt64)
        case outOfMemory(neededFrames: Int, freeFrames: Int)
        case mapping(PageTable.MapError)
        case hostMemoryUnreachable
    }

    /// Where the first vCPU starts (the arch layer puts it in the VMCB).
    public struct StartState: Equatable {
        public var entry: UInt64
        public var stackTop: UInt64
        public var startInfo: UInt64
        public var pageTableRoot: UInt64
        public var gdtBase: UInt64
        public var gdtLimit: UInt16
    }

    /// Guest identity map: supervisor, writable, executable.
    public static let guestFlags: PageFlags = [.present, .writable]
    /// GDT slots in the guest: null, 64-bit code (0x08), data (0x10), like Tern's.
    public static let guestGDT: [UInt64] = [0, Descriptors.code64, Descriptors.data]

    /// Memory taken, zeroed and mapped (nested table, Tern's area) for a
    /// domain of `memoryBytes`, with no image yet: LightVM's prepared shell.
    /// `build(shell:)` turns it into a domain by loading an image only.
    public struct Shell {
        public let memoryBytes: UInt64
        let extents: [MemoryExtent]
        let overheadFrames: [UInt64]
        let devicePage: UnsafeMutableRawPointer
        public var frameCount: Int { extents.reduce(0) { $0 + $1.frames } + overheadFrames.count }
    }

    /// A shell for a domain of `memoryBytes` (see Shell).
    public static func prepare<Host: PhysicalMemory>(
        memoryBytes: UInt64, host: Host, frames: inout FrameAllocator
    ) throws(Error) -> Shell {
        guard let layout = GuestLayout(memoryBytes: memoryBytes) else { throw .badMemorySize(memoryBytes) }
        let scratch = Domain(id: UInt16.max, name: [], privileged: false)
        let devicePage = try takeMemory(scratch, layout, host: host, frames: &frames)
        let taken = scratch.takeAllFrames()
        return Shell(memoryBytes: memoryBytes, extents: taken.memory, overheadFrames: taken.overhead, devicePage: devicePage)
    }

    /// Gives a shell's frames back (a pool being emptied).
    public static func release(_ shell: Shell, allocator: inout FrameAllocator) -> Int {
        let scratch = Domain(id: UInt16.max, name: [], privileged: false)
        scratch.adopt(extents: shell.extents, overheadFrames: shell.overheadFrames)
        return release(scratch, allocator: &allocator)
    }

    public static func build<Host: PhysicalMemory>(
        domain: Domain, memoryBytes: UInt64, image: UnsafeRawBufferPointer, commandLine: UnsafeRawBufferPointer,
        host: Host, frames: inout FrameAllocator, shell: Shell? = nil
    ) throws(Error) -> StartState {
        guard let layout = GuestLayout(memoryBytes: memoryBytes) else { throw .badMemorySize(memoryBytes) }
        let elf: ELFImage
        do throws(ELFImage.Error) { elf = try ELFImage(parsing: image) } catch { throw .badImage(error) }
        let span = elf.span
        guard span.end <= layout.reservedTop.start else {
            throw .imageOutsideMemory(start: span.start, end: span.end, limit: layout.reservedTop.start)
        }
        if let shell, shell.memoryBytes != memoryBytes { throw .badMemorySize(memoryBytes) }
        do throws(Error) {
            let devicePage: UnsafeMutableRawPointer
            if let shell {
                domain.adopt(extents: shell.extents, overheadFrames: shell.overheadFrames)
                devicePage = shell.devicePage
            } else {
                devicePage = try takeMemory(domain, layout, host: host, frames: &frames)
            }
            let memory = GuestMemory(of: domain, host: host)
            try load(elf, image: image, into: memory)
            let root = try buildIdentityMap(layout, memory: memory)
            writeGDT(layout, memory: memory)
            try setUpSharedPages(domain, layout, devicePage: devicePage, memory: memory)
            writeStartInfo(layout, domain: domain, imageEnd: span.end, commandLine: commandLine, memory: memory)
            return StartState(entry: elf.entry, stackTop: layout.stackTop, startInfo: layout.startInfo,
                              pageTableRoot: root, gdtBase: layout.gdt,
                              gdtLimit: UInt16(guestGDT.count * 8 - 1))
        } catch {
            release(domain, allocator: &frames)
            throw error
        }
    }

    /// Zeroed guest memory, its nested table and Tern's area (the device
    /// page): everything a domain of this size needs before an image.
    /// Returns the device page. On failure the frames stay with `domain`
    /// (the caller releases them).
    private static func takeMemory<Host: PhysicalMemory>(
        _ domain: Domain, _ layout: GuestLayout, host: Host, frames: inout FrameAllocator
    ) throws(Error) -> UnsafeMutableRawPointer {
        let needed = Int(layout.memoryBytes / FrameAllocator.frameSize)
        guard frames.freeFrames >= needed + nestedTableEstimate(layout.memoryBytes) else {
            throw .outOfMemory(neededFrames: needed, freeFrames: frames.freeFrames)
        }
        do throws(Error) {
            try populate(domain, frames: needed, host: host, allocator: &frames)
            try mapPacked(domain, host: host, allocator: &frames)
            return try mapTernArea(domain, layout, host: host, allocator: &frames)
        } catch {
            release(domain, allocator: &frames)
            throw error
        }
    }

    /// Returns every frame of a domain to the allocator (build failure or
    /// destroy). A frame that will not free is a bookkeeping bug: counted.
    @discardableResult
    public static func release(_ domain: Domain, allocator: inout FrameAllocator) -> Int {
        var failures = 0
        let taken = domain.takeAllFrames()
        for extent in taken.memory {
            for i in 0..<extent.frames {
                do throws(FrameAllocator.FreeError) {
                    try allocator.free(extent.hostBase + UInt64(i) * FrameAllocator.frameSize)
                } catch {
                    failures += 1
                }
            }
        }
        for frame in taken.overhead {
            do throws(FrameAllocator.FreeError) { try allocator.free(frame) } catch { failures += 1 }
        }
        return failures
    }

    /// Upper bound of the nested table pages for `bytes` of guest memory
    /// mapped with 4 KiB pages: one page table per 2 MiB, plus the PD,
    /// PDPT and PML4 levels.
    static func nestedTableEstimate(_ bytes: UInt64) -> Int {
        let tables = bytes / (2 << 20)
        return Int(tables + tables / 512 + 3) + ternAreaFrames
    }

    /// Tern's area costs the device page and, at most, a page table and a
    /// page directory of the nested table.
    static let ternAreaFrames = 3

    /// Tern's area in the nested table: the device page (a Tern frame,
    /// read-only to the guest: only Tern writes it) at the start of a 2 MiB
    /// stretch whose page table then also holds the grant window's leaves,
    /// so a grant map never allocates. Returns the device page's frame.
    private static func mapTernArea<Host: PhysicalMemory>(
        _ domain: Domain, _ layout: GuestLayout, host: Host, allocator: inout FrameAllocator
    ) throws(Error) -> UnsafeMutableRawPointer {
        guard let frame = allocator.allocate() else { throw .outOfMemory(neededFrames: 1, freeFrames: 0) }
        domain.addOverheadFrame(frame)
        guard let page = host.mutableBytes(at: frame, count: Int(FrameAllocator.frameSize)), let base = page.baseAddress else {
            throw .hostMemoryUnreachable
        }
        // SAFETY: `page` is the frame just allocated, reachable for exactly
        // its 4 KiB (mutableBytes checked); no one else holds it yet.
        page.initializeMemory(as: UInt8.self, repeating: 0)
        var outOfFrames = false
        do throws(PageTable.MapError) {
            try NestedPageTable.map(root: domain.nestedRoot, gpa: layout.devicePage, host: frame, size: FrameAllocator.frameSize,
                                    access: .readOnly, memory: host, allocateFrame: {
                                        guard let table = allocator.allocate() else { outOfFrames = true; return nil }
                                        domain.addOverheadFrame(table)
                                        return table
                                    })
        } catch {
            if outOfFrames { throw .outOfMemory(neededFrames: 1, freeFrames: 0) }
            throw .mapping(error)
        }
        return base
    }

    /// The event page, grant table and devices (the console) in Tern's
    /// bookkeeping; the pages themselves are zeroed guest memory.
    private static func setUpSharedPages<Host: PhysicalMemory>(
        _ domain: Domain, _ layout: GuestLayout, devicePage: UnsafeMutableRawPointer, memory: GuestMemory<Host>
    ) throws(Error) {
        guard let events = memory.mutableBytes(at: layout.eventPage, count: Int(GuestLayout.pageSize))?.baseAddress else {
            throw .hostMemoryUnreachable
        }
        domain.attachEvents(page: EventPage(base: events), upcall: .virtualInterrupt)
        domain.grants.setUp(gpa: layout.grantTable, entries: UInt32(TERN_GRANT_ENTRIES_DEFAULT),
                            windowGPA: layout.grantWindow, windowFrames: GuestLayout.grantWindowFrames)
        domain.devices.setUp(page: devicePage, controlPagesGPA: layout.controlPages)
        domain.sharedLayout = layout.sharedLayout
        guard Devices.addConsole(to: domain) else { throw .hostMemoryUnreachable }
    }

    /// Takes guest memory 2 MiB at a time where the allocator has an
    /// aligned free 2 MiB run (then the nested table can use one 2 MiB page
    /// and zeroing is one call), frame by frame otherwise. `identity`: the
    /// guest sees each run at its host address (Dom0).
    static func populate<Host: PhysicalMemory>(
        _ domain: Domain, frames count: Int, identity: Bool = false, zeroed: Bool = true, host: Host,
        allocator: inout FrameAllocator
    ) throws(Error) {
        let chunk = Int(GuestLayout.memoryUnit / FrameAllocator.frameSize)
        var runsLeft = true   // once no aligned 2 MiB run is free, stop looking
        while domain.memoryFrameCount < count {
            var base: UInt64
            var run = chunk
            if runsLeft, count - domain.memoryFrameCount >= chunk,
               let big = allocator.allocateContiguous(count: chunk, alignmentFrames: chunk) {
                base = big
            } else {
                runsLeft = false
                guard let frame = allocator.allocate() else {
                    throw .outOfMemory(neededFrames: count, freeFrames: allocator.freeFrames)
                }
                base = frame
                run = 1
            }
            domain.addMemory(hostBase: base, frames: run, identity: identity)
            guard zeroed else { continue }
            // A guest must never see what a frame held before.
            guard let bytes = host.mutableBytes(at: base, count: run * Int(FrameAllocator.frameSize)) else {
                throw .hostMemoryUnreachable
            }
            // SAFETY: the run just allocated, reachable for exactly its
            // frames (mutableBytes checked); the guest does not exist yet.
            bytes.initializeMemory(as: UInt8.self, repeating: 0)
        }
    }

    /// GPA -> host frame in the domain's own nested table, a run at a time
    /// from GPA 0 (the packed plan: a PV guest, a Linux guest);
    /// 2 MiB-aligned stretches get 2 MiB pages.
    static func mapPacked<Host: PhysicalMemory>(
        _ domain: Domain, host: Host, allocator: inout FrameAllocator
    ) throws(Error) {
        let root = try newNestedRoot(domain, host: host, allocator: &allocator)
        var gfn = 0
        for extent in domain.memoryExtents {
            try mapNested(domain, root: root, virtual: UInt64(gfn) * FrameAllocator.frameSize, physical: extent.hostBase,
                          size: UInt64(extent.frames) * FrameAllocator.frameSize, host: host, allocator: &allocator)
            gfn += extent.frames
        }
    }

    /// An empty nested page table root, counted as the domain's overhead.
    static func newNestedRoot<Host: PhysicalMemory>(
        _ domain: Domain, host: Host, allocator: inout FrameAllocator
    ) throws(Error) -> UInt64 {
        guard let root = allocator.allocate() else { throw .outOfMemory(neededFrames: 1, freeFrames: 0) }
        domain.addOverheadFrame(root)
        guard let rootBytes = host.mutableBytes(at: root, count: Int(FrameAllocator.frameSize)) else {
            throw .hostMemoryUnreachable
        }
        // SAFETY: the frame just allocated, reachable for its 4 KiB (checked).
        rootBytes.initializeMemory(as: UInt8.self, repeating: 0)
        return root
    }

    /// Maps guest [virtual, +size) to host `physical` in the domain's
    /// nested table; new table frames become the domain's overhead.
    static func mapNested<Host: PhysicalMemory>(
        _ domain: Domain, root: UInt64, virtual: UInt64, physical: UInt64, size: UInt64, host: Host,
        allocator: inout FrameAllocator
    ) throws(Error) {
        var outOfFrames = false
        do throws(PageTable.MapError) {
            try NestedPageTable.map(root: root, gpa: virtual, host: physical, size: size, access: .readWrite,
                                    memory: host, allocateFrame: {
                                        guard let frame = allocator.allocate() else { outOfFrames = true; return nil }
                                        domain.addOverheadFrame(frame)
                                        return frame
                                    })
        } catch {
            if outOfFrames { throw .outOfMemory(neededFrames: 1, freeFrames: 0) }
            throw .mapping(error)
        }
    }

    private static func load<Host: PhysicalMemory>(
        _ elf: ELFImage, image: UnsafeRawBufferPointer, into memory: GuestMemory<Host>
    ) throws(Error) {
        // The rest of each segment (.bss) is already zero: the frames were zeroed.
        guard elf.copySegments(of: image, into: memory, zeroingBSS: false) else { throw .hostMemoryUnreachable }
    }

    /// Identity map of all guest memory and Tern's area with 2 MiB pages, in guest pages
    /// taken downwards from layout.pageTablesTop. Returns the PML4's GPA.
    private static func buildIdentityMap<Host: PhysicalMemory>(
        _ layout: GuestLayout, memory: GuestMemory<Host>
    ) throws(Error) -> UInt64 {
        var next = layout.pageTablesTop
        func take() -> UInt64? {
            guard next > layout.pageTablesBottom else { return nil }
            next -= GuestLayout.pageSize
            return next
        }
        guard let root = take() else { throw .outOfMemory(neededFrames: 1, freeFrames: 0) }
        do throws(PageTable.MapError) {
            try PageTable.map(root: root, virtual: 0, physical: 0, size: layout.mappedBytes, flags: guestFlags,
                              memory: memory, allocateFrame: take)
        } catch {
            throw .mapping(error)
        }
        return root
    }

    private static func writeGDT<Host: PhysicalMemory>(_ layout: GuestLayout, memory: GuestMemory<Host>) {
        guestGDT.withUnsafeBytes { _ = memory.copyToGuest(at: layout.gdt, from: $0) }
    }

    private static func writeStartInfo<Host: PhysicalMemory>(
        _ layout: GuestLayout, domain: Domain, imageEnd: UInt64, commandLine: UnsafeRawBufferPointer,
        memory: GuestMemory<Host>
    ) {
        var info = tern_start_info()
        info.magic = TERN_START_INFO_MAGIC
        info.abi_version = UInt32(TERN_ABI_VERSION)
        info.domid = UInt32(domain.id)
        info.memory_bytes = layout.memoryBytes
        info.page_tables_gpa = layout.pageTablesBottom
        info.page_tables_size = layout.pageTablePages * GuestLayout.pageSize
        info.free_gpa = imageEnd.roundedUp(to: GuestLayout.pageSize)
        info.console = UInt32(TERN_CONSOLE_HYPERCALL | TERN_CONSOLE_DEVICE)
        info.shared = layout.sharedLayout
        withUnsafeMutableBytes(of: &info.cmdline) { line in
            for (i, byte) in commandLine.prefix(line.count - 1).enumerated() { line[i] = byte }
        }
        withUnsafeBytes(of: &info) { _ = memory.copyToGuest(at: layout.startInfo, from: $0) }
    }
}

extension DomainBuilder.Error {
    /// Why the domain could not be built, for the log.
    public var message: LogMessage {
        switch self {
        case .badMemorySize(let bytes):
            return "mem=\(bytes) bytes: must be 2 MiB to 64 GiB, in 2 MiB steps"
        case .badImage(let e):
            return "not a loadable x86-64 ELF executable (\(e.message))"
        case .imageOutsideMemory(let s, let e, let limit):
            return "image spans \(hex: s)-\(hex: e), guest memory for it ends at \(hex: limit) (give the domain more memory)"
        case .outOfMemory(let needed, let free):
            return "out of memory: needs \(needed) frames, \(free) free"
        case .mapping:
            return "nested page table mapping failed"
        case .hostMemoryUnreachable:
            return "host memory unreachable"
        }
    }
}
