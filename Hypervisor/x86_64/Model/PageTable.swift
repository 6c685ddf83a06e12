/// x86-64 4-level page tables (AMD APM vol. 2, 5.3 "Long-Mode Page
/// Translation"): entry encoding, a builder that maps ranges with 2 MiB or
/// 4 KiB pages, and a walker. Pure logic over `PhysicalMemory`, so the
/// host tests can build and check real tables in a buffer.

/// Page table entry bits (APM vol. 2, 5.4.1).
public struct PageFlags: OptionSet, Equatable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let present = PageFlags(rawValue: 1 << 0)
    public static let writable = PageFlags(rawValue: 1 << 1)
    public static let user = PageFlags(rawValue: 1 << 2)
    public static let writeThrough = PageFlags(rawValue: 1 << 3)
    public static let cacheDisable = PageFlags(rawValue: 1 << 4)
    public static let accessed = PageFlags(rawValue: 1 << 5)
    public static let dirty = PageFlags(rawValue: 1 << 6)
    /// PS: in a PDE, maps a 2 MiB page instead of pointing to a table.
    public static let largePage = PageFlags(rawValue: 1 << 7)
    public static let global = PageFlags(rawValue: 1 << 8)
    public static let noExecute = PageFlags(rawValue: 1 << 63)

    /// Bits that are permissions of a mapping (what tests compare).
    public static let permissionMask: PageFlags = [.present, .writable, .user, .noExecute]

    // Common leaf permissions.
    public static let text: PageFlags = [.present]
    public static let readOnlyData: PageFlags = [.present, .noExecute]
    public static let data: PageFlags = [.present, .writable, .noExecute]
    public static let device: PageFlags = [.present, .writable, .noExecute, .cacheDisable, .writeThrough]
}

public enum PageTable {
    public static let entriesPerTable = 512
    /// Physical address bits 12..51 of an entry.
    public static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
    /// One past the highest physical address an entry can hold (52 bits).
    public static let maxPhysicalAddress: UInt64 = 1 << 52
    static let levels = 4
    /// Upper tables are permissive; the leaf decides (permissions AND
    /// across levels, APM vol. 2, 5.6). A user leaf needs U at every level:
    /// nested page tables always do, since the CPU makes every nested walk
    /// a user access (APM vol. 2, 15.25.5).
    static func tableFlags(for leaf: PageFlags) -> PageFlags {
        PageFlags([.present, .writable]).union(leaf.intersection(.user))
    }

    public enum MapError: Error, Equatable {
        case misaligned(virtual: UInt64, physical: UInt64, size: UInt64)
        case nonCanonical(UInt64)
        /// The physical range wraps or goes past the 52-bit physical limit.
        case physicalOutOfRange(UInt64)
        case alreadyMapped(virtual: UInt64)
        case outOfFrames
        case tableUnreachable(UInt64)
    }

    public struct Translation: Equatable {
        public var physical: UInt64
        public var flags: PageFlags
        public var pageSize: UInt64
    }

    static func index(_ virtual: UInt64, level: Int) -> Int {
        Int((virtual >> (12 + 9 * UInt64(level))) & 0x1FF)
    }

    public static func isCanonical(_ virtual: UInt64) -> Bool {
        let top = virtual >> 47
        return top == 0 || top == 0x1FFFF
    }

    /// Maps [virtual, virtual+size) to [physical, ...). Uses 2 MiB pages
    /// where both addresses are 2 MiB aligned and enough remains, 4 KiB
    /// pages elsewhere. New tables come from `allocateFrame` and are
    /// zeroed through `memory`. Refuses to replace an existing mapping.
    public static func map<Memory: PhysicalMemory>(
        root: UInt64, virtual: UInt64, physical: UInt64, size: UInt64, flags: PageFlags,
        memory: Memory, allocateFrame: () -> UInt64?
    ) throws(MapError) {
        let page = Layout.pageSize
        guard virtual % page == 0, physical % page == 0, size % page == 0 else {
            throw .misaligned(virtual: virtual, physical: physical, size: size)
        }
        guard size > 0 else { return }
        let (physicalEnd, wraps) = physical.addingReportingOverflow(size)
        guard !wraps, physicalEnd <= maxPhysicalAddress else { throw .physicalOutOfRange(physical) }
        guard isCanonical(virtual), isCanonical(virtual &+ size &- 1),
              (virtual >> 47) == ((virtual &+ size &- 1) >> 47) else { throw .nonCanonical(virtual) }

        var offset: UInt64 = 0
        while offset < size {
            let v = virtual + offset, p = physical + offset
            let large = v % Layout.largePageSize == 0 && p % Layout.largePageSize == 0
                && size - offset >= Layout.largePageSize
            let leafLevel = large ? 1 : 0
            var table = root
            for level in stride(from: levels - 1, to: leafLevel, by: -1) {
                table = try nextTable(table, index: index(v, level: level), virtual: v, flags: tableFlags(for: flags),
                                      memory: memory, allocateFrame: allocateFrame)
            }
            guard let entries = entries(of: table, memory: memory) else { throw .tableUnreachable(table) }
            let i = index(v, level: leafLevel)
            guard entries[i] & PageFlags.present.rawValue == 0 else { throw .alreadyMapped(virtual: v) }
            let leafFlags = large ? flags.union(.largePage) : flags.subtracting(.largePage)
            entries[i] = (p & addressMask) | leafFlags.rawValue
            offset += large ? Layout.largePageSize : page
        }
    }

    /// Walks the tables for `virtual`; nil when it is not mapped.
    public static func translate<Memory: PhysicalMemory>(root: UInt64, virtual: UInt64, memory: Memory) -> Translation? {
        var table = root
        for level in stride(from: levels - 1, through: 0, by: -1) {
            guard let entries = entries(of: table, memory: memory) else { return nil }
            let entry = entries[index(virtual, level: level)]
            guard entry & PageFlags.present.rawValue != 0 else { return nil }
            let isLeaf = level == 0 || (level <= 2 && entry & PageFlags.largePage.rawValue != 0)
            if isLeaf {
                let pageSize: UInt64 = 1 << (12 + 9 * UInt64(level))
                let base = entry & addressMask & ~(pageSize - 1)
                return Translation(physical: base | (virtual & (pageSize - 1)),
                                   flags: PageFlags(rawValue: entry & ~addressMask), pageSize: pageSize)
            }
            table = entry & addressMask
        }
        return nil
    }

    /// Replaces the 4 KiB leaf entry for `virtual` with `entry` (0 unmaps)
    /// where the tables down to it already exist: no allocation, so it
    /// cannot fail halfway. Returns the old entry; nil (nothing changed)
    /// if a table is missing or a large page covers `virtual`. The caller
    /// flushes the TLBs that may hold the old entry.
    public static func replaceLeaf<Memory: PhysicalMemory>(
        root: UInt64, virtual: UInt64, entry: UInt64, memory: Memory
    ) -> UInt64? {
        guard virtual % Layout.pageSize == 0, isCanonical(virtual) else { return nil }
        var table = root
        for level in stride(from: levels - 1, to: 0, by: -1) {
            guard let entries = entries(of: table, memory: memory) else { return nil }
            let upper = entries[index(virtual, level: level)]
            guard upper & PageFlags.present.rawValue != 0, upper & PageFlags.largePage.rawValue == 0 else { return nil }
            table = upper & addressMask
        }
        guard let leaves = entries(of: table, memory: memory) else { return nil }
        let old = leaves[index(virtual, level: 0)]
        leaves[index(virtual, level: 0)] = entry
        return old
    }

    private static func entries<Memory: PhysicalMemory>(of table: UInt64, memory: Memory) -> UnsafeMutablePointer<UInt64>? {
        // SAFETY: a table is one whole, 4 KiB-aligned frame of 512 u64s.
        memory.mutableBytes(at: table, count: Int(Layout.pageSize))?.baseAddress?
            .assumingMemoryBound(to: UInt64.self)
    }

    private static func nextTable<Memory: PhysicalMemory>(
        _ table: UInt64, index i: Int, virtual: UInt64, flags: PageFlags, memory: Memory,
        allocateFrame: () -> UInt64?
    ) throws(MapError) -> UInt64 {
        guard let entries = entries(of: table, memory: memory) else { throw .tableUnreachable(table) }
        let entry = entries[i]
        if entry & PageFlags.present.rawValue != 0 {
            // A large page already covers this range: mapping inside it
            // would silently split or shadow it.
            guard entry & PageFlags.largePage.rawValue == 0 else { throw .alreadyMapped(virtual: virtual) }
            entries[i] = entry | flags.rawValue
            return entry & addressMask
        }
        guard let frame = allocateFrame() else { throw .outOfFrames }
        guard let fresh = memory.mutableBytes(at: frame, count: Int(Layout.pageSize)) else {
            throw .tableUnreachable(frame)
        }
        // SAFETY: the new table's frame, just allocated, 4 KiB (checked).
        fresh.initializeMemory(as: UInt8.self, repeating: 0)
        entries[i] = (frame & addressMask) | flags.rawValue
        return frame
    }
}
