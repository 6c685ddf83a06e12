/// Parser for the multiboot2 boot information (Multiboot2 spec 1.6, 3.6):
/// a header (total_size, reserved) followed by 8-byte aligned tags, each
/// (type, size, payload), ending with a type-0 tag of size 8.
/// Every size and offset is checked against the declared total size before
/// anything is read; the total size itself is bounded.
enum Multiboot2 {
    static let headerSize = 8
    static let tagHeaderSize = 8
    /// GRUB's structure is a few KiB; anything this large is garbage.
    static let maxTotalSize: UInt32 = 1 << 20

    enum Tag: UInt32 {
        case end = 0
        case commandLine = 1
        case loaderName = 2
        case module = 3
        case memoryMap = 6
    }

    static func parse<Memory: PhysicalMemory>(address: UInt64, memory: Memory) throws(BootInfoError) -> BootInfo {
        guard address & 7 == 0 else { throw .badHeader(address: address, size: 0) }
        guard let header = memory.bytes(at: address, count: headerSize) else {
            throw .unreadable(address: address, count: headerSize)
        }
        let totalSize = header.u32(at: 0)!
        guard totalSize >= UInt32(headerSize + tagHeaderSize), totalSize <= maxTotalSize else {
            throw .badHeader(address: address, size: UInt64(totalSize))
        }
        guard let info = memory.bytes(at: address, count: Int(totalSize)) else {
            throw .unreadable(address: address, count: Int(totalSize))
        }

        var result = BootInfo(loader: .multiboot2)
        var sawMemoryMap = false
        var offset = headerSize
        while true {
            guard let type = info.u32(at: offset), let size = info.u32(at: offset + 4) else {
                throw .missingEndTag
            }
            guard size >= UInt32(tagHeaderSize), UInt64(offset) + UInt64(size) <= UInt64(totalSize) else {
                throw .badTag(type: type, offset: offset, size: size)
            }
            let tag = UnsafeRawBufferPointer(rebasing: info[offset..<(offset + Int(size))])
            let payload = UnsafeRawBufferPointer(rebasing: tag[tagHeaderSize...])
            switch Tag(rawValue: type) {
            case .end:
                guard sawMemoryMap else { throw .noMemoryMap }
                return result
            case .commandLine:
                result.commandLine = try string(payload, tagAddress: address + UInt64(offset))
            case .loaderName:
                result.loaderName = try string(payload, tagAddress: address + UInt64(offset))
            case .module:
                try parseModule(payload, tagOffset: offset, tagAddress: address + UInt64(offset), size: size, into: &result)
            case .memoryMap:
                try parseMemoryMap(payload, into: &result.memoryMap)
                sawMemoryMap = true
            case nil:
                break  // tags Tern does not use (framebuffer, ACPI, ...)
            }
            offset = (offset + Int(size) + 7) & ~7
        }
    }

    private static func string(_ payload: UnsafeRawBufferPointer, tagAddress: UInt64) throws(BootInfoError) -> BootString {
        guard payload.contains(0) else { throw .unterminatedString(address: tagAddress + UInt64(tagHeaderSize)) }
        return BootString(payload)
    }

    /// Payload: mod_start u32, mod_end u32, NUL-terminated string.
    private static func parseModule(
        _ payload: UnsafeRawBufferPointer, tagOffset: Int, tagAddress: UInt64, size: UInt32, into result: inout BootInfo
    ) throws(BootInfoError) {
        guard let start = payload.u32(at: 0), let end = payload.u32(at: 4) else {
            throw .badTag(type: Tag.module.rawValue, offset: tagOffset, size: size)
        }
        let index = result.modules.count
        guard start <= end else { throw .badModule(index: index, start: UInt64(start), end: UInt64(end)) }
        let name = try string(UnsafeRawBufferPointer(rebasing: payload[8...]), tagAddress: tagAddress + 8)
        let module = BootInfo.Module(range: PhysicalRange(start: UInt64(start), end: UInt64(end)), commandLine: name)
        guard result.modules.count < BootInfo.maxModules else { throw .tooManyModules }
        result.modules.append(module)
    }

    /// Payload: entry_size u32, entry_version u32, then entries of
    /// base u64, length u64, type u32, reserved u32 (entry_size >= 24).
    private static func parseMemoryMap(_ payload: UnsafeRawBufferPointer, into map: inout MemoryMap) throws(BootInfoError) {
        guard let entrySize = payload.u32(at: 0) else { throw .badMemoryMap(entrySize: 0, length: UInt32(payload.count)) }
        let entries = payload.count - 8
        guard entrySize >= 24, entrySize % 8 == 0, entries >= 0, entries % Int(entrySize) == 0 else {
            throw .badMemoryMap(entrySize: entrySize, length: UInt32(payload.count))
        }
        var at = 8
        while at < payload.count {
            let base = payload.u64(at: at)!
            let length = payload.u64(at: at + 8)!
            let type = payload.u32(at: at + 16)!
            let (end, overflow) = base.addingReportingOverflow(length)
            map.add(MemoryRegion(start: base, end: overflow ? UInt64.max : end, kind: MemoryKind(multibootType: type)))
            at += Int(entrySize)
        }
    }
}
