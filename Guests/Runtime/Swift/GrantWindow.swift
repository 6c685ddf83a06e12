import TernGuestC

/// A page another domain granted, mapped into this domain's grant window.
public struct GrantMapping {
    /// TERN_HC_GRANT_MAP's handle, for TERN_HC_GRANT_UNMAP.
    public let handle: UInt64
    /// Where the page is: a page of the grant window, identity-mapped.
    public let address: UnsafeMutableRawPointer
    /// Mapped read-only: a write is refused with #GP.
    public let readOnly: Bool
    let slot: Int
}

/// The grant window (tern/abi.h, struct tern_shared_layout): the pages
/// just after this domain's memory where TERN_HC_GRANT_MAP puts other
/// domains' granted frames, one per page. The SDK picks the page.
public enum GrantWindow {
    /// Window pages in use (index = slot).
    // SAFETY: one vCPU; only map and unmap, in the guest's main flow, touch
    // it (the SDK's upcall entry does not).
    nonisolated(unsafe) static var slotsTaken: [Bool] = []

    /// Maps grant `ref` of `granter` at a free window page. Tern refuses
    /// with -TERN_EPERM a grant that is not this domain's (or was revoked,
    /// or is read-only and asked writable), -TERN_EINVAL a ref outside the
    /// granter's table.
    public static func map(_ ref: UInt32, of granter: UInt16, readOnly: Bool = false) throws(TernError) -> GrantMapping {
        let layout = StartInfo.current.shared
        if slotsTaken.count != Int(layout.grant_window_frames) {
            slotsTaken = [Bool](repeating: false, count: Int(layout.grant_window_frames))
        }
        guard let slot = slotsTaken.firstIndex(of: false) else { throw TernError(TERN_ENOSPC) }
        let gpa = layout.grant_window_gpa + UInt64(slot) * UInt64(Page.size)
        let flags = readOnly ? UInt64(TERN_GRANT_MAP_READONLY) : 0
        let handle = try TernError.check(Tern.hypercall(TERN_HC_GRANT_MAP, UInt64(granter), UInt64(ref), gpa, flags))
        slotsTaken[slot] = true
        // SAFETY: the window page at gpa now maps the granted frame, and
        // Tern's identity map covers the window (abi.h).
        return GrantMapping(handle: UInt64(handle), address: UnsafeMutableRawPointer(bitPattern: UInt(gpa))!,
                            readOnly: readOnly, slot: slot)
    }

    /// Unmaps; the page's address is not to be touched after this (it is
    /// outside this domain's memory). 0 or -TERN_EINVAL.
    @discardableResult
    public static func unmap(_ mapping: GrantMapping) -> Int64 {
        let result = Tern.hypercall(TERN_HC_GRANT_UNMAP, mapping.handle)
        if result >= 0, mapping.slot < slotsTaken.count { slotsTaken[mapping.slot] = false }
        return result
    }
}
