/// Loading a kernel at its PVH entry (Xen's docs/misc/pvh.pandoc): the
/// ELF's segments at their physical addresses, the initrd in the next
/// 2 MiB unit after the kernel, then the start info (command line,
/// modules, memory map) after it. The same for Dom0 and, next, a Linux
/// guest; what differs is the memory plan, which gives the map the kernel
/// sees and decides where guest-physical memory is:
/// - identity (Dom0): guest-physical = host-physical, its runs carved out
///   of the host's map (Dom0Builder.memoryMap);
/// - packed (an unprivileged guest): RAM at [0, memoryBytes), nothing else.
public enum PVHLoader {
    public struct StartState: Equatable {
        public var entry: UInt32
        public var startInfo: UInt64
    }

    public enum Error: Swift.Error, Equatable {
        case noPVHEntry
        case kernelOutsideMemory(start: UInt64, end: UInt64)
        case initrdDoesNotFit(size: UInt64)
        case startInfoDoesNotFit
        case hostMemoryUnreachable
    }

    /// The most the start info may take (header, modules, map, strings).
    static let startInfoLimit = 8192

    /// The packed plan's map: the guest's RAM, from 0.
    public static func packedMemoryMap(memoryBytes: UInt64) -> [PVHStartInfo.MapEntry] {
        [PVHStartInfo.MapEntry(address: 0, size: memoryBytes, type: .ram)]
    }

    /// The packed map with the ACPI tables' range (inside the RAM) typed
    /// as ACPI (E820 type 3): Linux keeps it until it has read them.
    public static func packedMemoryMap(memoryBytes: UInt64, acpiTables: PhysicalRange) -> [PVHStartInfo.MapEntry] {
        var map: [PVHStartInfo.MapEntry] = []
        if acpiTables.start > 0 { map.append(PVHStartInfo.MapEntry(address: 0, size: acpiTables.start, type: .ram)) }
        map.append(PVHStartInfo.MapEntry(address: acpiTables.start, size: acpiTables.length, type: .acpi))
        if acpiTables.end < memoryBytes {
            map.append(PVHStartInfo.MapEntry(address: acpiTables.end, size: memoryBytes - acpiTables.end, type: .ram))
        }
        return map
    }

    /// Loads `kernel` (parsed as `elf`) and `initrd` into `memory` and
    /// writes the start info; where the vCPU starts.
    public static func loadKernel<M: PhysicalMemory>(
        elf: ELFImage, kernel: UnsafeRawBufferPointer, initrd: UnsafeRawBufferPointer?, commandLine: [UInt8],
        memoryMap: [PVHStartInfo.MapEntry], rsdp: UInt64 = 0, into memory: GuestMemory<M>
    ) throws(Error) -> StartState {
        guard let entry = elf.pvhEntry else { throw .noPVHEntry }
        let span = elf.span
        guard memory.contains(span.start, count: span.length) else {
            throw .kernelOutsideMemory(start: span.start, end: span.end)
        }
        // Dom0's memory is not zeroed when it is built (512 MiB): .bss is.
        guard elf.copySegments(of: kernel, into: memory, zeroingBSS: true) else { throw .hostMemoryUnreachable }
        var modules: [PVHStartInfo.Module] = []
        var next = span.end.roundedUp(to: GuestLayout.memoryUnit)
        if let initrd {
            guard memory.copyToGuest(at: next, from: initrd) else { throw .initrdDoesNotFit(size: UInt64(initrd.count)) }
            modules.append(PVHStartInfo.Module(address: next, size: UInt64(initrd.count), commandLine: []))
            next = (next + UInt64(initrd.count)).roundedUp(to: GuestLayout.pageSize)
        }
        guard let block = PVHStartInfo.build(base: next, limit: startInfoLimit, commandLine: commandLine,
                                             modules: modules, memoryMap: memoryMap, rsdp: rsdp),
              block.withUnsafeBytes({ memory.copyToGuest(at: next, from: $0) }) else {
            throw .startInfoDoesNotFit
        }
        return StartState(entry: entry, startInfo: next)
    }
}
