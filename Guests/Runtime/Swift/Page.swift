import TernGuestC

/// x86-64's 4 KiB page: the unit of grants, the grant window and the
/// shared pages Tern sets up.
public enum Page {
    public static let size = 4096
    public static let shift: UInt64 = 12

    /// The next free page: pages come from the memory Tern leaves free
    /// between the loaded image and its page tables (start info free_gpa
    /// and page_tables_gpa), never given back. (The Swift heap cannot give
    /// page alignment: Embedded Swift's allocate ignores an alignment
    /// above 16.)
    // SAFETY: one vCPU; `allocate` runs in the guest's main flow (the
    // SDK's upcall entry never allocates pages).
    nonisolated(unsafe) static var next: UInt64 = 0

    /// `count` zeroed, page-aligned pages. Identity-mapped: the pointer is
    /// the guest-physical address. Out of free memory, the domain stops.
    public static func allocate(count: Int = 1) -> UnsafeMutableRawPointer {
        // SAFETY: the start-info page (StartInfo.current), mapped for life.
        let info = StartInfo.current.page.pointee
        let pageSize = UInt64(size)
        if next == 0 { next = (info.free_gpa + pageSize - 1) & ~(pageSize - 1) }
        let bytes = UInt64(count) * pageSize
        // SAFETY: identity-mapped, so the free memory's address is the
        // pointer; the range is checked against the page tables here.
        guard count > 0, next < info.page_tables_gpa, bytes <= info.page_tables_gpa - next,
              let pages = UnsafeMutableRawPointer(bitPattern: UInt(next)) else {
            print("guest out of free pages: \(count) more wanted")
            Tern.shutdown(TERN_SHUTDOWN_CRASH)
        }
        next += bytes
        // SAFETY: [pages, pages + bytes) is free memory of this domain
        // (checked above, below the page tables), handed out once.
        pages.initializeMemory(as: UInt8.self, repeating: 0, count: Int(bytes))
        return pages
    }

    /// The guest frame number of a page-aligned address of this domain.
    public static func frame(of page: UnsafeRawPointer) -> UInt64 { UInt64(UInt(bitPattern: page)) >> shift }

    public static func isAligned(_ address: UnsafeRawPointer) -> Bool { UInt(bitPattern: address) % UInt(size) == 0 }
}
