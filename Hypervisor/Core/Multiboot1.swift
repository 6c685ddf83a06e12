/// Parser for the multiboot1 boot information (Multiboot 0.6.96, 3.3): a
/// fixed structure whose `flags` say which fields are valid; the command
/// line, module list and memory map are elsewhere in memory, by address.
enum Multiboot1 {
    // Offsets into the info structure and the flag bits that validate them.
    static let flagsOffset = 0
    static let memLowerOffset = 4, memUpperOffset = 8
    static let commandLineOffset = 16
    static let modsCountOffset = 20, modsAddressOffset = 24
    static let mmapLengthOffset = 44, mmapAddressOffset = 48
    static let loaderNameOffset = 64
    static let infoSize = 68

    static let flagMemory: UInt32 = 1 << 0
    static let flagCommandLine: UInt32 = 1 << 2
    static let flagModules: UInt32 = 1 << 3
    static let flagMemoryMap: UInt32 = 1 << 6
    static let flagLoaderName: UInt32 = 1 << 9

    static let moduleEntrySize = 16
    static let mmapEntryMinSize: UInt32 = 20  // size field excluded
    /// Longest string Tern reads from loader memory, NUL included.
    static let maxStringLength = 4096
    static let lowMemoryEnd: UInt64 = 640 << 10
    static let highMemoryStart: UInt64 = 1 << 20

    static func parse<Memory: PhysicalMemory>(address: UInt64, memory: Memory) throws(BootInfoError) -> BootInfo {
        guard let info = memory.bytes(at: address, count: infoSize) else {
            throw .unreadable(address: address, count: infoSize)
        }
        let flags = info.u32(at: flagsOffset)!
        var result = BootInfo(loader: .multiboot1)

        if flags & flagCommandLine != 0 {
            result.commandLine = try string(at: UInt64(info.u32(at: commandLineOffset)!), memory: memory)
        }
        if flags & flagLoaderName != 0 {
            result.loaderName = try string(at: UInt64(info.u32(at: loaderNameOffset)!), memory: memory)
        }
        if flags & flagModules != 0 {
            let count = Int(info.u32(at: modsCountOffset)!)
            let table = UInt64(info.u32(at: modsAddressOffset)!)
            guard count <= BootInfo.maxModules else { throw .tooManyModules }
            for index in 0..<count {
                let at = table + UInt64(index * moduleEntrySize)
                guard let entry = memory.bytes(at: at, count: moduleEntrySize) else {
                    throw .unreadable(address: at, count: moduleEntrySize)
                }
                let start = UInt64(entry.u32(at: 0)!), end = UInt64(entry.u32(at: 4)!)
                guard start <= end else { throw .badModule(index: index, start: start, end: end) }
                let name = try string(at: UInt64(entry.u32(at: 8)!), memory: memory)
                result.modules.append(BootInfo.Module(range: PhysicalRange(start: start, end: end), commandLine: name))
            }
        }
        if flags & flagMemoryMap != 0 {
            try parseMemoryMap(
                length: info.u32(at: mmapLengthOffset)!, address: UInt64(info.u32(at: mmapAddressOffset)!),
                memory: memory, into: &result.memoryMap)
        } else if flags & flagMemory != 0 {
            // No map: the two classic sizes, in KiB, describe RAM below
            // 640 KiB and RAM from 1 MiB up.
            let lower = UInt64(info.u32(at: memLowerOffset)!) << 10
            let upper = UInt64(info.u32(at: memUpperOffset)!) << 10
            result.memoryMap.add(MemoryRegion(start: 0, end: min(lower, lowMemoryEnd), kind: .usable))
            result.memoryMap.add(MemoryRegion(start: highMemoryStart, end: highMemoryStart + upper, kind: .usable))
        } else {
            throw .noMemoryMap
        }
        return result
    }

    /// Entries: size u32 (of what follows), base u64, length u64, type u32.
    /// The next entry starts size + 4 bytes further.
    private static func parseMemoryMap<Memory: PhysicalMemory>(
        length: UInt32, address: UInt64, memory: Memory, into map: inout MemoryMap
    ) throws(BootInfoError) {
        guard let entries = memory.bytes(at: address, count: Int(length)) else {
            throw .unreadable(address: address, count: Int(length))
        }
        var at = 0
        while at < entries.count {
            guard let size = entries.u32(at: at), size >= mmapEntryMinSize, at + 4 + Int(size) <= entries.count else {
                throw .badMemoryMap(entrySize: entries.u32(at: at) ?? 0, length: length)
            }
            let base = entries.u64(at: at + 4)!
            let bytes = entries.u64(at: at + 12)!
            let type = entries.u32(at: at + 20)!
            let (end, overflow) = base.addingReportingOverflow(bytes)
            map.add(MemoryRegion(start: base, end: overflow ? UInt64.max : end, kind: MemoryKind(multibootType: type)))
            at += 4 + Int(size)
        }
    }

    /// Reads a NUL-terminated string at a physical address, byte by byte so
    /// that a string near the end of reachable memory is still found.
    private static func string<Memory: PhysicalMemory>(at address: UInt64, memory: Memory) throws(BootInfoError) -> BootString {
        var length = 0
        while length < maxStringLength {
            guard let byte = memory.bytes(at: address &+ UInt64(length), count: 1) else {
                throw .unreadable(address: address &+ UInt64(length), count: 1)
            }
            if byte[0] == 0 {
                guard let all = memory.bytes(at: address, count: length) else {
                    throw .unreadable(address: address, count: length)
                }
                return BootString(all)
            }
            length += 1
        }
        throw .unterminatedString(address: address)
    }
}
