import TernGuestC

/// This domain's grant table (tern/grant.h): sharing its own pages, each
/// with one other domain. A grant is an entry of the table (in this
/// domain's memory, where Tern set it up); its index, the grant reference,
/// is what the grantee passes to TERN_HC_GRANT_MAP or TERN_HC_GRANT_COPY.
/// Refs 0 ..< TERN_GRANT_REF_FIRST_FREE are Tern's (device control pages).
/// The SDK hands refs out round-robin, so an ended ref is not reused at
/// once: a peer still holding the old number finds a revoked grant, not a
/// newer grant of another page.
public enum Grants {
    // SAFETY (both): one vCPU; only Grants' functions, in the guest's main
    // flow, touch them (the SDK's upcall entry does not).
    /// Refs this SDK handed out and not yet ended (index = ref).
    nonisolated(unsafe) static var taken: [Bool] = []
    /// Where the round-robin search for a free ref starts.
    nonisolated(unsafe) static var cursor = UInt32(TERN_GRANT_REF_FIRST_FREE)

    /// Entries in the table Tern set up.
    public static var entryCount: UInt32 { StartInfo.current.shared.grant_entries }

    static func entry(_ ref: UInt32) -> UnsafeMutablePointer<tern_grant_entry> {
        // SAFETY: callers pass ref < entryCount; the table is entryCount
        // struct tern_grant_entry in this domain's memory at grant_table_gpa
        // (identity-mapped).
        UnsafeMutablePointer<tern_grant_entry>(bitPattern: UInt(StartInfo.current.shared.grant_table_gpa))! + Int(ref)
    }

    /// Grants the page at `page` (page-aligned, this domain's memory) to
    /// `domid`, read-only if asked; returns the ref. The frame and domain
    /// are written before the flags that make the entry valid (grant.h).
    public static func grant(_ page: UnsafeRawPointer, to domid: UInt16, readOnly: Bool = false) throws(TernError) -> UInt32 {
        guard Page.isAligned(page) else { throw TernError(TERN_EINVAL) }
        guard let ref = takeRef() else { throw TernError(TERN_ENOSPC) }
        let entry = self.entry(ref)
        // SAFETY: an entry of the table (takeRef: ref < entryCount).
        entry.pointee.frame = UInt32(truncatingIfNeeded: Page.frame(of: page))
        entry.pointee.domid = domid
        tern_ring_wmb()
        let flags = TERN_GRANT_ACCESS | (readOnly ? TERN_GRANT_READONLY : 0)
        tern_guest_store16(tern_guest_grant_flags(entry), UInt16(flags))
        return ref
    }

    /// Ends (revokes) a grant: 0, or -TERN_EBUSY while the grantee has it
    /// mapped (TERN_GRANT_IN_USE: the grant stays; try again after its
    /// unmap), -TERN_EINVAL for a ref this SDK did not hand out. The flags
    /// are cleared with a compare-and-exchange, so a mapping Tern makes at
    /// the same moment is never cut off unnoticed.
    @discardableResult
    public static func end(_ ref: UInt32) -> Int64 {
        guard ref < UInt32(taken.count), taken[Int(ref)] else { return -Int64(TERN_EINVAL) }
        // SAFETY: an entry of the table (ref < taken.count == entryCount).
        let flags = tern_guest_grant_flags(entry(ref))
        while true {
            let old = tern_guest_load16(flags)
            if UInt32(old) & TERN_GRANT_IN_USE != 0 { return -Int64(TERN_EBUSY) }
            if tern_guest_compare_exchange16(flags, old, 0) == old { break }
        }
        taken[Int(ref)] = false
        return 0
    }

    /// Ends a grant, giving the grantee up to `nanoseconds` to unmap it
    /// (yielding the CPU meanwhile): as `end(_:)`.
    @discardableResult
    public static func end(_ ref: UInt32, waitingUpTo nanoseconds: UInt64) -> Int64 {
        let deadline = Tern.now() &+ nanoseconds
        while true {
            let result = end(ref)
            if result != -Int64(TERN_EBUSY) || Tern.now() >= deadline { return result }
            Tern.yield()
        }
    }

    /// True while another domain has the grant mapped.
    public static func isInUse(_ ref: UInt32) -> Bool {
        guard ref < entryCount else { return false }
        // SAFETY: an entry of the table (checked just above).
        return UInt32(tern_guest_load16(tern_guest_grant_flags(entry(ref)))) & TERN_GRANT_IN_USE != 0
    }

    /// The next free ref at or after the cursor, wrapping; nil if none.
    static func takeRef() -> UInt32? {
        let count = entryCount
        let first = UInt32(TERN_GRANT_REF_FIRST_FREE)
        guard count > first else { return nil }
        if taken.count != Int(count) { taken = [Bool](repeating: false, count: Int(count)) }
        for _ in first..<count {
            let ref = cursor < count && cursor >= first ? cursor : first
            cursor = ref + 1 < count ? ref + 1 : first
            if !taken[Int(ref)] {
                taken[Int(ref)] = true
                return ref
            }
        }
        return nil
    }
}
