import TernABI

/// Where Tern puts things in a new PV guest's memory (docs/abi.md, "Start
/// of day"). Counting down from the top of guest memory:
///   start-info page | GDT page | boot stack (16 KiB) | guest page tables
/// and the image where its ELF program headers say, below all of that.
public struct GuestLayout: Equatable {
    public static let pageSize: UInt64 = 4096
    /// Guest memory comes in 2 MiB units: the guest's identity map uses
    /// 2 MiB pages, and nested paging can then use them too.
    public static let memoryUnit: UInt64 = 2 << 20
    public static let minimumMemory: UInt64 = 2 << 20
    public static let maximumMemory: UInt64 = 64 << 30
    public static let stackSize: UInt64 = 16 << 10

    public let memoryBytes: UInt64
    public var startInfo: UInt64 { memoryBytes - GuestLayout.pageSize }
    public var gdt: UInt64 { startInfo - GuestLayout.pageSize }
    public var stackTop: UInt64 { gdt }
    public var stackBottom: UInt64 { stackTop - GuestLayout.stackSize }
    /// Page tables are allocated downwards from here.
    public var pageTablesTop: UInt64 { stackBottom }
    /// Pages the identity map of `memoryBytes` needs: PML4, PDPT(s), PDs.
    public var pageTablePages: UInt64 {
        let gib: UInt64 = 1 << 30
        let pds = (memoryBytes + gib - 1) / gib
        let pdpts = (pds + 511) / 512
        return 1 + pdpts + pds
    }
    public var pageTablesBottom: UInt64 { pageTablesTop - pageTablePages * GuestLayout.pageSize }
    /// Everything Tern itself places at the top of guest memory.
    public var reservedTop: PhysicalRange { PhysicalRange(start: pageTablesBottom, end: memoryBytes) }

    /// nil if the size is not a whole number of 2 MiB units in range.
    public init?(memoryBytes: UInt64) {
        guard memoryBytes >= GuestLayout.minimumMemory, memoryBytes <= GuestLayout.maximumMemory,
              memoryBytes % GuestLayout.memoryUnit == 0 else { return nil }
        self.memoryBytes = memoryBytes
    }
}
