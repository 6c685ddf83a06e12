/// The PVH boot protocol's start-of-day block (Xen's public
/// arch-x86/hvm/start_info.h, version 1), which Linux reads when it enters
/// at its XEN_ELFNOTE_PHYS32_ENTRY point with EBX pointing here: the
/// memory map Dom0 must use, its command line and its boot modules (the
/// initramfs). Tern builds it as bytes for one place in Dom0's memory.
///
///   offset 0   hvm_start_info: magic u32, version u32, flags u32,
///              nr_modules u32, modlist_paddr u64, cmdline_paddr u64,
///              rsdp_paddr u64, memmap_paddr u64, memmap_entries u32,
///              reserved u32                                  (56 bytes)
///   then       hvm_modlist_entry[]: paddr, size, cmdline_paddr, reserved (u64 each)
///   then       hvm_memmap_table_entry[]: addr u64, size u64, type u32, reserved u32
///   then       the NUL-terminated strings
public enum PVHStartInfo {
    public static let magic: UInt32 = 0x336E_C578
    public static let version: UInt32 = 1
    static let headerSize = 56
    static let moduleEntrySize = 32
    static let memmapEntrySize = 24

    /// E820-style types for the memory map (same numbers as multiboot's).
    public enum MemoryType: UInt32 {
        case ram = 1
        case reserved = 2
        case acpi = 3
        case nvs = 4
        case unusable = 5
    }

    public struct MapEntry: Equatable {
        public var address: UInt64
        public var size: UInt64
        public var type: MemoryType
        public init(address: UInt64, size: UInt64, type: MemoryType) {
            self.address = address
            self.size = size
            self.type = type
        }
    }

    public struct Module: Equatable {
        public var address: UInt64
        public var size: UInt64
        public var commandLine: [UInt8]
        public init(address: UInt64, size: UInt64, commandLine: [UInt8]) {
            self.address = address
            self.size = size
            self.commandLine = commandLine
        }
    }

    /// The block's bytes, to be placed at guest-physical `base`; nil if
    /// it would be larger than `limit` bytes.
    public static func build(base: UInt64, limit: Int, commandLine: [UInt8], modules: [Module],
                             memoryMap: [MapEntry], rsdp: UInt64 = 0) -> [UInt8]? {
        let modulesAt = headerSize.roundedUp8
        let memmapAt = modulesAt + modules.count * moduleEntrySize
        let stringsAt = memmapAt + memoryMap.count * memmapEntrySize
        var size = stringsAt + commandLine.count + 1
        for module in modules { size += module.commandLine.count + 1 }
        guard size <= limit else { return nil }

        var bytes = [UInt8](repeating: 0, count: size)
        var strings = stringsAt
        func addString(_ text: [UInt8]) -> UInt64 {
            let at = strings
            for (i, byte) in text.enumerated() { bytes[at + i] = byte }
            strings += text.count + 1   // the NUL is already there
            return base + UInt64(at)
        }
        let cmdline = addString(commandLine)
        bytes.store32(magic, at: 0)
        bytes.store32(version, at: 4)
        bytes.store32(0, at: 8)
        bytes.store32(UInt32(modules.count), at: 12)
        bytes.store64(modules.isEmpty ? 0 : base + UInt64(modulesAt), at: 16)
        bytes.store64(cmdline, at: 24)
        bytes.store64(rsdp, at: 32)
        bytes.store64(base + UInt64(memmapAt), at: 40)
        bytes.store32(UInt32(memoryMap.count), at: 48)
        for (i, module) in modules.enumerated() {
            let at = modulesAt + i * moduleEntrySize
            bytes.store64(module.address, at: at)
            bytes.store64(module.size, at: at + 8)
            bytes.store64(addString(module.commandLine), at: at + 16)
        }
        for (i, entry) in memoryMap.enumerated() {
            let at = memmapAt + i * memmapEntrySize
            bytes.store64(entry.address, at: at)
            bytes.store64(entry.size, at: at + 8)
            bytes.store32(entry.type.rawValue, at: at + 16)
        }
        return bytes
    }
}

extension Int {
    var roundedUp8: Int { (self + 7) & ~7 }
}

extension Array where Element == UInt8 {
    mutating func store32(_ value: UInt32, at offset: Int) {
        for i in 0..<4 { self[offset + i] = UInt8(truncatingIfNeeded: value >> UInt32(8 * i)) }
    }
    mutating func store64(_ value: UInt64, at offset: Int) {
        for i in 0..<8 { self[offset + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }
}
