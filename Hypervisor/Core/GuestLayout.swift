import TernABI

/// Where Tern puts things in a new PV guest's memory (docs/abi.md, "Start
/// of day"). Counting down from the top of guest memory:
///   start-info page | GDT page | boot stack (16 KiB) | event page |
///   grant table | device control pages | guest page tables
/// and the image where its ELF program headers say, below all of that.
/// Above guest memory, Tern's area (2 MiB): the read-only device page,
/// then the grant window (tern/abi.h, struct tern_shared_layout).
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
    public var eventPage: UInt64 { stackBottom - GuestLayout.pageSize }
    public var grantTable: UInt64 { eventPage - GuestLayout.grantTablePages * GuestLayout.pageSize }
    public var controlPages: UInt64 { grantTable - UInt64(TERN_DEVICE_CONTROL_PAGES) * GuestLayout.pageSize }
    /// Page tables are allocated downwards from here.
    public var pageTablesTop: UInt64 { controlPages }

    public static let grantTablePages = UInt64(TERN_GRANT_ENTRIES_DEFAULT) * UInt64(MemoryLayout<tern_grant_entry>.size) / pageSize
    /// Tern's area above guest memory: the device page, then the window.
    public static let ternAreaSize: UInt64 = 2 << 20
    public var devicePage: UInt64 { memoryBytes }
    public var grantWindow: UInt64 { devicePage + GuestLayout.pageSize }
    public static let grantWindowFrames = Int(ternAreaSize / pageSize) - 1
    /// Dom0's grant window (TERN_HC_ATTACH): 4 MiB at 256 GiB, above
    /// any RAM or device range of the machines Tern runs on (QEMU puts its
    /// 64-bit PCI window right above RAM) and below the 40-bit physical
    /// addresses QEMU's CPUs report. Its page tables exist from Dom0's
    /// build on, so a map never allocates.
    public static let dom0GrantWindow: UInt64 = 256 << 30
    /// 64 MiB of address space: every disk's persistent grants (352 pages
    /// each, docs/blockback.md) of dozens of guests at once. Its page
    /// tables (34 frames) are made at Dom0's build.
    public static let dom0GrantWindowFrames = 16384
    /// What the guest's identity map covers: its memory and Tern's area.
    public var mappedBytes: UInt64 { memoryBytes + GuestLayout.ternAreaSize }

    /// Pages the identity map of `mappedBytes` needs: PML4, PDPT(s), PDs.
    public var pageTablePages: UInt64 {
        let gib: UInt64 = 1 << 30
        let pds = (mappedBytes + gib - 1) / gib
        let pdpts = (pds + 511) / 512
        return 1 + pdpts + pds
    }
    public var pageTablesBottom: UInt64 { pageTablesTop - pageTablePages * GuestLayout.pageSize }
    /// Everything Tern itself places at the top of guest memory.
    public var reservedTop: PhysicalRange { PhysicalRange(start: pageTablesBottom, end: memoryBytes) }

    public var sharedLayout: tern_shared_layout {
        tern_shared_layout(event_page_gpa: eventPage, grant_table_gpa: grantTable,
                           grant_entries: UInt32(TERN_GRANT_ENTRIES_DEFAULT),
                           grant_window_frames: UInt32(GuestLayout.grantWindowFrames), grant_window_gpa: grantWindow,
                           device_page_gpa: devicePage, control_pages_gpa: controlPages)
    }

    /// nil if the size is not a whole number of 2 MiB units in range.
    public init?(memoryBytes: UInt64) {
        guard memoryBytes >= GuestLayout.minimumMemory, memoryBytes <= GuestLayout.maximumMemory,
              memoryBytes % GuestLayout.memoryUnit == 0 else { return nil }
        self.memoryBytes = memoryBytes
    }
}
