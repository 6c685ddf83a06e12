/// Builds an unprivileged Linux guest (a DomU entered at its PVH entry,
/// Xen's docs/misc/pvh.pandoc; docs/porting.md, "Linux guests"): the
/// PVH loader's packed plan, guest RAM at [0, memoryBytes) backed by
/// frames from anywhere, nothing else in its nested table. The LAPIC page
/// (0xFEE00000) stays absent so that its accesses fault to the virtual
/// LAPIC; ports go to the domain's emulated devices or read all ones.
/// Unlike a PV guest (DomainBuilder) there are no page tables, GDT, event
/// page or device page: Linux builds its own, and a Linux guest has no
/// Tern frontend yet. On any failure every frame goes back.
public enum LinuxGuestBuilder {
    public enum Error: Swift.Error, Equatable {
        case badImage(ELFImage.Error)
        case noPVHEntry
        /// Not a whole number of 2 MiB units, or above `maximumMemory`.
        case badMemorySize(UInt64)
        case outOfMemory(neededFrames: Int, freeFrames: Int)
        case kernelOutsideMemory(start: UInt64, end: UInt64)
        case initrdDoesNotFit(size: UInt64)
        case startInfoDoesNotFit
        case mapping(PageTable.MapError)
        case hostMemoryUnreachable

        init(_ error: PVHLoader.Error) {
            switch error {
            case .noPVHEntry: self = .noPVHEntry
            case .kernelOutsideMemory(let start, let end): self = .kernelOutsideMemory(start: start, end: end)
            case .initrdDoesNotFit(let size): self = .initrdDoesNotFit(size: size)
            case .startInfoDoesNotFit: self = .startInfoDoesNotFit
            case .hostMemoryUnreachable: self = .hostMemoryUnreachable
            }
        }

        init(_ error: DomainBuilder.Error) {
            switch error {
            case .outOfMemory(let needed, let free): self = .outOfMemory(neededFrames: needed, freeFrames: free)
            case .mapping(let e): self = .mapping(e)
            case .badMemorySize(let bytes): self = .badMemorySize(bytes)
            default: self = .hostMemoryUnreachable
            }
        }
    }

    public typealias StartState = PVHLoader.StartState

    /// Where its ACPI tables go (ACPITables): one page in the BIOS area
    /// below 1 MiB, where a PC's firmware puts them too (ACPI 6.5,
    /// 5.2.5.1), typed ACPI in its memory map. The kernel (PVH entry at
    /// 16 MiB) and its initrd come far above.
    public static let acpiTables = PhysicalRange(start: 0xE_0000, end: 0xE_1000)

    /// The packed plan keeps RAM below the 32-bit device hole (which holds
    /// the LAPIC page at 0xFEE00000) so that its map is one RAM entry.
    public static let maximumMemory: UInt64 = 3 << 30

    public static func build<Host: PhysicalMemory>(
        domain: Domain, memoryBytes: UInt64, kernel: UnsafeRawBufferPointer, initrd: UnsafeRawBufferPointer?,
        commandLine: [UInt8], localAPICAddress: UInt32, host: Host, frames: inout FrameAllocator
    ) throws(Error) -> StartState {
        guard memoryBytes > 0, memoryBytes % GuestLayout.memoryUnit == 0, memoryBytes <= maximumMemory else {
            throw .badMemorySize(memoryBytes)
        }
        let elf: ELFImage
        do throws(ELFImage.Error) { elf = try ELFImage(parsing: kernel) } catch { throw .badImage(error) }
        guard elf.pvhEntry != nil else { throw .noPVHEntry }   // before taking any frame
        let span = elf.span
        guard span.end <= memoryBytes, span.start >= acpiTables.end || span.end <= acpiTables.start, memoryBytes > acpiTables.end else { throw .kernelOutsideMemory(start: span.start, end: span.end) }
        let needed = Int(memoryBytes / FrameAllocator.frameSize)
        guard frames.freeFrames >= needed + DomainBuilder.nestedTableEstimate(memoryBytes) else {
            throw .outOfMemory(neededFrames: needed, freeFrames: frames.freeFrames)
        }
        do throws(Error) {
            do throws(DomainBuilder.Error) {
                try DomainBuilder.populate(domain, frames: needed, host: host, allocator: &frames)
                try DomainBuilder.mapPacked(domain, host: host, allocator: &frames)
            } catch {
                throw Error(error)
            }
            let memory = GuestMemory(of: domain, host: host)
            // One vCPU, APIC ID 0 (what its virtual LAPIC's ID register reads).
            let tables = ACPITables.build(base: acpiTables.start, localAPICAddress: localAPICAddress, apicIDs: [0])
            guard tables.count <= Int(acpiTables.length),
                  tables.withUnsafeBytes({ memory.copyToGuest(at: acpiTables.start, from: $0) }) else {
                throw .hostMemoryUnreachable
            }
            do throws(PVHLoader.Error) {
                return try PVHLoader.loadKernel(elf: elf, kernel: kernel, initrd: initrd, commandLine: commandLine,
                                                memoryMap: PVHLoader.packedMemoryMap(memoryBytes: memoryBytes,
                                                                                     acpiTables: acpiTables),
                                                rsdp: acpiTables.start, into: memory)
            } catch {
                throw Error(error)
            }
        } catch {
            DomainBuilder.release(domain, allocator: &frames)
            throw error
        }
    }
}

extension LinuxGuestBuilder.Error {
    /// Why the Linux guest could not be built, for the log.
    public var message: LogMessage {
        switch self {
        case .badImage(let e): return "kernel is not a loadable x86-64 ELF (\(e.message))"
        case .noPVHEntry: return "kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); boot the uncompressed vmlinux"
        case .badMemorySize(let bytes): return "mem=\(bytes) bytes: must be 2 MiB steps, at most 3 GiB"
        case .outOfMemory(let needed, let free): return "out of memory: needs \(needed) frames, \(free) free"
        case .kernelOutsideMemory(let s, let e): return "kernel spans \(hex: s)-\(hex: e), beyond its memory (raise mem=)"
        case .initrdDoesNotFit(let size): return "initramfs (\(size) bytes) does not fit after the kernel (raise mem=)"
        case .startInfoDoesNotFit: return "start info does not fit"
        case .mapping: return "nested page table mapping failed"
        case .hostMemoryUnreachable: return "host memory unreachable"
        }
    }
}
