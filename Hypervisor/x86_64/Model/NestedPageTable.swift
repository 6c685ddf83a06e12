/// A domain's nested (second-level) page table, guest-physical to
/// host-physical, in the terms Core asks for it: a page or run mapped
/// read-only or read-write, a page replaced or removed. The entry format
/// is the arch's: SVM's nested table is a long-mode page table walked with
/// guest accesses counting as user accesses, so U is set on every leaf
/// (AMD APM vol. 2, 15.25.5); a VMX backend would write EPT entries behind
/// the same calls.
public enum NestedPageTable {
    public enum Access: Equatable {
        case readOnly   // a write is a nested page fault
        case readWrite
    }

    static func flags(_ access: Access) -> PageFlags {
        access == .readWrite ? [.present, .writable, .user] : [.present, .user]
    }

    /// Maps `size` bytes of host memory at `host` to guest-physical `gpa`
    /// (2 MiB leaves where both are aligned); new table frames come from
    /// `allocateFrame`.
    public static func map<Memory: PhysicalMemory>(
        root: UInt64, gpa: UInt64, host: UInt64, size: UInt64, access: Access,
        memory: Memory, allocateFrame: () -> UInt64?
    ) throws(PageTable.MapError) {
        try PageTable.map(root: root, virtual: gpa, physical: host, size: size, flags: flags(access),
                          memory: memory, allocateFrame: allocateFrame)
    }

    /// Points the 4 KiB page at `gpa` (its table already made) to
    /// `hostFrame`; false if there is no 4 KiB leaf slot there.
    public static func replacePage<Memory: PhysicalMemory>(
        root: UInt64, gpa: UInt64, hostFrame: UInt64, access: Access, memory: Memory
    ) -> Bool {
        PageTable.replaceLeaf(root: root, virtual: gpa, entry: hostFrame | flags(access).rawValue, memory: memory) == 0
    }

    /// Makes the 4 KiB page at `gpa` absent (its table stays).
    public static func removePage<Memory: PhysicalMemory>(root: UInt64, gpa: UInt64, memory: Memory) {
        _ = PageTable.replaceLeaf(root: root, virtual: gpa, entry: 0, memory: memory)
    }
}
