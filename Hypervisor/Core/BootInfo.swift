/// What the boot loader told Tern, copied out of the loader's structures
/// so that nothing points back into memory the frame allocator hands out.
public struct BootInfo {
    public enum Loader: Equatable {
        case multiboot1
        case multiboot2
    }

    /// A boot module (a guest image, later Dom0's kernel and initramfs).
    public struct Module: Equatable {
        public var range: PhysicalRange
        public var commandLine: BootString

        public init(range: PhysicalRange, commandLine: BootString) {
            self.range = range
            self.commandLine = commandLine
        }
    }

    public static let maxModules = 16

    public var loader: Loader
    public var memoryMap = MemoryMap()
    public var commandLine = BootString()
    public var loaderName = BootString()
    public var modules: [Module] = []

    public init(loader: Loader) {
        self.loader = loader
    }

    /// Multiboot magic values in EAX at entry (Multiboot 3.2, Multiboot2 3.2).
    public static let multiboot1Magic: UInt32 = 0x2BAD_B002
    public static let multiboot2Magic: UInt32 = 0x36D7_6289

    /// Parses the loader's information at `address`, as told by `magic`.
    public static func parse<Memory: PhysicalMemory>(
        magic: UInt32, address: UInt64, memory: Memory
    ) throws(BootInfoError) -> BootInfo {
        switch magic {
        case multiboot1Magic: return try Multiboot1.parse(address: address, memory: memory)
        case multiboot2Magic: return try Multiboot2.parse(address: address, memory: memory)
        default: throw .unknownMagic(magic)
        }
    }
}

/// A short string copied from loader memory (command lines, names), up to
/// the first NUL. Longer strings are cut and flagged.
public struct BootString: Equatable {
    public static let capacity = 1024
    public private(set) var bytes: [UInt8] = []
    public private(set) var truncated = false

    public init() {}

    public init(_ source: UnsafeRawBufferPointer) {
        for byte in source {
            if byte == 0 { break }
            guard bytes.count < BootString.capacity else {
                truncated = true
                break
            }
            bytes.append(byte)
        }
    }

    public var count: Int { bytes.count }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes(body)
    }
}

/// Why the loader's information could not be used. Each case carries what
/// a person needs to find the problem; `log()` says it in words.
public enum BootInfoError: Error, Equatable {
    case unknownMagic(UInt32)
    /// A structure at `address` (`count` bytes) is outside reachable memory.
    case unreadable(address: UInt64, count: Int)
    /// The info structure is misaligned or has an impossible total size.
    case badHeader(address: UInt64, size: UInt64)
    /// A multiboot2 tag of `type` at `offset` has a bad size or runs past the end.
    case badTag(type: UInt32, offset: Int, size: UInt32)
    /// No end tag before the declared total size.
    case missingEndTag
    /// A memory map whose entry size or length is inconsistent.
    case badMemoryMap(entrySize: UInt32, length: UInt32)
    case noMemoryMap
    case tooManyModules
    /// Module `index` ends before it starts.
    case badModule(index: Int, start: UInt64, end: UInt64)
    /// A string at `address` has no terminating NUL within reach.
    case unterminatedString(address: UInt64)

    public func log() {
        switch self {
        case .unknownMagic(let magic):
            Log.error("boot error: unknown loader magic \(hex: magic); start Tern with a multiboot1 or multiboot2 loader (GRUB multiboot2, QEMU -kernel)")
        case .unreadable(let address, let count):
            Log.error("boot error: boot information at \(hex: address) (\(count) bytes) is outside reachable memory")
        case .badHeader(let address, let size):
            Log.error("boot error: boot information at \(hex: address) has a bad header (total size \(size))")
        case .badTag(let type, let offset, let size):
            Log.error("boot error: multiboot2 tag type \(type) at offset \(offset) has bad size \(size)")
        case .missingEndTag:
            Log.error("boot error: multiboot2 information has no end tag")
        case .badMemoryMap(let entrySize, let length):
            Log.error("boot error: memory map is malformed (entry size \(entrySize), length \(length))")
        case .noMemoryMap:
            Log.error("boot error: the loader gave no memory map")
        case .tooManyModules:
            Log.error("boot error: more than \(BootInfo.maxModules) boot modules")
        case .badModule(let index, let start, let end):
            Log.error("boot error: module \(index) ends (\(hex: end)) before it starts (\(hex: start))")
        case .unterminatedString(let address):
            Log.error("boot error: string at \(hex: address) is not NUL-terminated")
        }
    }
}
