import TernGuestC

/// TERN_HC_GRANT_COPY (tern/grant.h): Tern copies between this domain's
/// memory and frames other domains granted it, without mapping them. Each
/// op stays within one page on either side and gets its own status.
public enum GrantCopy {
    /// An op copying `length` bytes at `offset` of grant `ref` of `granter`
    /// into this domain's memory at `destination`.
    public static func fromGrant(_ ref: UInt32, of granter: UInt16, offset: UInt16 = 0,
                                 into destination: UnsafeMutableRawPointer, length: UInt16) -> tern_grant_copy {
        var op = tern_grant_copy()
        op.source.ref = ref
        op.source.domid = granter
        op.source.offset = offset
        op.dest.gpa = UInt64(UInt(bitPattern: destination))
        op.length = length
        op.flags = UInt16(TERN_GRANT_COPY_SOURCE_REF)
        return op
    }

    /// An op copying `length` bytes from this domain's memory at `source`
    /// into grant `ref` of `granter` at `offset` (a writable grant).
    public static func intoGrant(_ ref: UInt32, of granter: UInt16, offset: UInt16 = 0,
                                 from source: UnsafeRawPointer, length: UInt16) -> tern_grant_copy {
        var op = tern_grant_copy()
        op.source.gpa = UInt64(UInt(bitPattern: source))
        op.dest.ref = ref
        op.dest.domid = granter
        op.dest.offset = offset
        op.length = length
        op.flags = UInt16(TERN_GRANT_COPY_DEST_REF)
        return op
    }

    /// Performs `ops`, TERN_GRANT_COPY_MAX per hypercall; Tern writes each
    /// op's status (0 or -TERN_E*) into it. Returns 0, or the result of the
    /// first hypercall that failed as a whole (its ops and later ones not done).
    @discardableResult
    public static func perform(_ ops: UnsafeMutableBufferPointer<tern_grant_copy>) -> Int64 {
        guard let base = ops.baseAddress else { return 0 }
        var done = 0
        while done < ops.count {
            let batch = min(ops.count - done, Int(TERN_GRANT_COPY_MAX))
            // SAFETY: ops[done ..< done + batch], in this domain's memory
            // (identity-mapped): Tern reads and writes exactly those.
            let result = Tern.hypercall(TERN_HC_GRANT_COPY, UInt64(UInt(bitPattern: base + done)), UInt64(batch))
            guard result >= 0 else { return result }
            done += batch
        }
        return 0
    }
}
