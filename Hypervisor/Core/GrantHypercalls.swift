import TernABI

/// Grant-table hypercalls (tern/grant.h, docs/abi.md "Grant tables").
/// Every use of a grant reads the granter's entry afresh and checks it:
/// the entry grants access, names the caller, allows writing when the use
/// writes, and points into the granter's own memory. A mapping goes into
/// the caller's grant window only (a nested page table leaf, read-only
/// when asked or granted so) and is counted on the granter, whose memory
/// then outlives it until the mapping is gone.
extension Hypercalls {
    static func grantTable<Host: HypercallHost>(
        _ number: UInt64, _ a: (UInt64, UInt64, UInt64, UInt64, UInt64), caller: Domain, host: Host
    ) -> HypercallOutcome {
        guard caller.grants.entries != 0 else { return error(TERN_ENOSYS) }   // no grant table (Dom0, for now)
        switch number {
        case UInt64(TERN_HC_GRANT_MAP): return map(granter: a.0, ref: a.1, gpa: a.2, flags: a.3, caller: caller, host: host)
        case UInt64(TERN_HC_GRANT_UNMAP): return unmap(handle: a.0, caller: caller, host: host)
        case UInt64(TERN_HC_GRANT_COPY): return copy(ops: a.0, count: a.1, caller: caller, host: host)
        case UInt64(TERN_HC_GRANT_TABLE_QUERY): return query(out: a.0, caller: caller, host: host)
        case UInt64(TERN_HC_GRANT_TABLE_SETUP): return setUpTable(gpa: a.0, entries: a.1, caller: caller, host: host)
        case UInt64(TERN_HC_GRANT_MAP_BATCH): return mapBatch(ops: a.0, count: a.1, caller: caller, host: host)
        case UInt64(TERN_HC_GRANT_UNMAP_BATCH): return unmapBatch(ops: a.0, count: a.1, caller: caller, host: host)
        default: return error(TERN_ENOSYS)
        }
    }

    /// A grant of `granter` the caller may use: the entry's bytes in the
    /// granter's memory and the granted frame's host address.
    struct UsableGrant {
        var entry: UnsafeMutableRawPointer
        var readOnly: Bool
        var hostFrame: UInt64
    }

    /// Checks `ref` of `granter` for use by `caller`; the error code if not.
    static func usableGrant<Host: HypercallHost>(
        granter: Domain, ref: UInt64, caller: Domain, write: Bool, host: Host
    ) -> Result<UsableGrant, GrantRefusal> {
        guard ref < UInt64(granter.grants.entries) else { return .failure(GrantRefusal(TERN_EINVAL)) }
        let memory = host.memory(of: granter)
        guard let bytes = memory.mutableBytes(at: granter.grants.gpa + ref * GrantEntry.size, count: Int(GrantEntry.size)),
              let raw = bytes.baseAddress else { return .failure(GrantRefusal(TERN_EFAULT)) }
        // SAFETY: 8 bytes of the granter's memory, checked just above; the
        // table is 8-byte aligned (set up page-aligned), so the loads are.
        let entry = GrantEntry(flags: raw.load(as: UInt16.self), domid: raw.load(fromByteOffset: 2, as: UInt16.self),
                               frame: raw.load(fromByteOffset: 4, as: UInt32.self))
        guard entry.grantsAccess, entry.domid == caller.id else { return .failure(GrantRefusal(TERN_EPERM)) }
        guard !write || !entry.readOnly else { return .failure(GrantRefusal(TERN_EPERM)) }
        guard let frame = memory.hostAddress(of: UInt64(entry.frame) * FrameAllocator.frameSize),
              UInt64(entry.frame) * FrameAllocator.frameSize < memory.size else { return .failure(GrantRefusal(TERN_EINVAL)) }
        return .success(UsableGrant(entry: raw, readOnly: entry.readOnly, hostFrame: frame))
    }

    struct GrantRefusal: Error { let code: Int32; init(_ code: Int32) { self.code = code } }

    static func setInUse(_ entry: UnsafeMutableRawPointer, _ inUse: Bool) {
        // SAFETY: the entry's flags, in the granter's memory (usableGrant).
        let flags = entry.load(as: UInt16.self)
        let bit = UInt16(TERN_GRANT_IN_USE)
        entry.storeBytes(of: inUse ? flags | bit : flags & ~bit, as: UInt16.self)
    }

    private static func map<Host: HypercallHost>(
        granter raw: UInt64, ref: UInt64, gpa: UInt64, flags: UInt64, caller: Domain, host: Host
    ) -> HypercallOutcome {
        switch mapOne(granter: raw, ref: ref, gpa: gpa, flags: flags, caller: caller, host: host) {
        case .success(let slot): return .resume(Int64(slot))
        case .failure(let refusal): return error(refusal.code)
        }
    }

    /// One mapping into the caller's window (TERN_HC_GRANT_MAP, and each op
    /// of a batch): the window slot, or why not.
    private static func mapOne<Host: HypercallHost>(
        granter raw: UInt64, ref: UInt64, gpa: UInt64, flags: UInt64, caller: Domain, host: Host
    ) -> Result<Int, GrantRefusal> {
        func error(_ code: Int32) -> Result<Int, GrantRefusal> { .failure(GrantRefusal(code)) }
        let known = UInt64(TERN_GRANT_MAP_READONLY | TERN_GRANT_MAP_FOREIGN)
        guard flags & ~known == 0 else { return error(TERN_EINVAL) }
        let foreign = flags & UInt64(TERN_GRANT_MAP_FOREIGN) != 0
        guard !foreign || caller.privileged else { return error(TERN_EPERM) }
        guard let slot = caller.grants.windowSlot(of: gpa) else { return error(TERN_EINVAL) }
        guard caller.grants.mapping(at: slot) == nil else { return error(TERN_EBUSY) }
        guard let granter = liveDomain(raw, caller: caller, host: host), granter !== caller else { return error(TERN_ENOENT) }
        var readOnly = flags & UInt64(TERN_GRANT_MAP_READONLY) != 0
        var entry: UnsafeMutableRawPointer?
        let hostFrame: UInt64
        if foreign {
            // Any frame of the other domain's memory, as its toolstack may.
            let memory = host.memory(of: granter)
            guard ref < memory.size / FrameAllocator.frameSize,
                  let frame = memory.hostAddress(of: ref * FrameAllocator.frameSize) else { return error(TERN_EINVAL) }
            hostFrame = frame
        } else {
            switch usableGrant(granter: granter, ref: ref, caller: caller, write: !readOnly, host: host) {
            case .success(let g): hostFrame = g.hostFrame; entry = g.entry; readOnly = g.readOnly || readOnly
            case .failure(let refusal): return .failure(refusal)
            }
        }
        guard NestedPageTable.replacePage(root: caller.nestedRoot, gpa: gpa, hostFrame: hostFrame,
                                          access: readOnly ? .readOnly : .readWrite, memory: host.memory(of: caller).host) else {
            return error(TERN_EINVAL)   // no window table here (or taken): Tern's bookkeeping says free
        }
        caller.grants.hold(GrantMapping(granter: granter.id, ref: UInt32(truncatingIfNeeded: ref), hostFrame: hostFrame,
                                        readOnly: readOnly, foreign: foreign), at: slot)
        if let entry {
            if granter.grants.lend(UInt32(ref)) { setInUse(entry, true) }
        } else {
            granter.grants.lendForeign()
        }
        return .success(slot)
    }

    /// TERN_HC_GRANT_MAP_BATCH: each op copied in once, done as
    /// TERN_HC_GRANT_MAP, its handle and status copied out.
    private static func mapBatch<Host: HypercallHost>(ops gpa: UInt64, count: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        forEachOp(of: tern_grant_map_op.self, at: gpa, count: count, caller: caller, host: host) { op in
            switch mapOne(granter: UInt64(op.domid), ref: UInt64(op.ref), gpa: op.gpa, flags: UInt64(op.flags),
                          caller: caller, host: host) {
            case .success(let slot): op.handle = UInt32(slot); op.status = 0
            case .failure(let refusal): op.handle = 0; op.status = -refusal.code
            }
        }
    }

    /// TERN_HC_GRANT_UNMAP_BATCH: each op as TERN_HC_GRANT_UNMAP.
    private static func unmapBatch<Host: HypercallHost>(ops gpa: UInt64, count: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        forEachOp(of: tern_grant_unmap_op.self, at: gpa, count: count, caller: caller, host: host) { op in
            if caller.grants.mapping(at: Int(op.handle)) != nil {
                unmap(slot: Int(op.handle), of: caller, host: host)
                op.status = 0
            } else {
                op.status = -TERN_EINVAL
            }
        }
    }

    /// A batch's array: at most TERN_GRANT_BATCH_MAX ops, all in the
    /// caller's memory (checked before any is done); each op copied in,
    /// done, and copied back out. The count done.
    private static func forEachOp<Op, Host: HypercallHost>(
        of: Op.Type, at gpa: UInt64, count: UInt64, caller: Domain, host: Host, _ body: (inout Op) -> Void
    ) -> HypercallOutcome {
        guard count <= UInt64(TERN_GRANT_BATCH_MAX) else { return error(TERN_EINVAL) }
        let memory = host.memory(of: caller)
        let size = UInt64(MemoryLayout<Op>.size)
        guard memory.contains(gpa, count: count * size) else { return error(TERN_EFAULT) }
        for i in 0..<count {
            guard var op = readOp(Op.self, at: gpa + i * size, memory) else { return error(TERN_EFAULT) }
            body(&op)
            guard withUnsafeBytes(of: &op, { memory.copyToGuest(at: gpa + i * size, from: $0) }) else { return error(TERN_EFAULT) }
        }
        return .resume(Int64(count))
    }

    /// One op copied from the caller's memory (a plain C struct: any bytes
    /// are a value of it).
    private static func readOp<Op, M: PhysicalMemory>(_: Op.Type, at gpa: UInt64, _ memory: GuestMemory<M>) -> Op? {
        let bytes = [UInt8](unsafeUninitializedCapacity: MemoryLayout<Op>.size) { buffer, initialized in
            initialized = memory.copyFromGuest(at: gpa, into: UnsafeMutableRawBufferPointer(buffer)) ? buffer.count : 0
        }
        guard bytes.count == MemoryLayout<Op>.size else { return nil }
        // SAFETY: exactly MemoryLayout<Op>.size bytes, and Op is a C struct
        // of integers (tern/grant.h): every bit pattern is a value.
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: Op.self) }
    }

    private static func unmap<Host: HypercallHost>(handle: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        guard handle < UInt64(caller.grants.windowFrames), caller.grants.mapping(at: Int(handle)) != nil else {
            return error(TERN_EINVAL)
        }
        unmap(slot: Int(handle), of: caller, host: host)
        return .resume(0)
    }

    /// Removes one of `mapper`'s mappings: the nested leaf, its TLB
    /// entries, and the granter's count (the last one lets a dying
    /// granter's memory go).
    static func unmap<Host: HypercallHost>(slot: Int, of mapper: Domain, host: Host) {
        guard let mapping = mapper.grants.drop(slot: slot) else { return }
        NestedPageTable.removePage(root: mapper.nestedRoot, gpa: mapper.grants.slotGPA(slot), memory: host.memory(of: mapper).host)
        for vcpu in mapper.vcpus { vcpu.context.flushTLB = true }
        guard let granter = host.domain(withID: mapping.granter) else { return }
        if mapping.foreign {
            granter.grants.giveBackForeign()
        } else if granter.grants.giveBack(mapping.ref), !granter.state.isStopped,
           mapping.ref < granter.grants.entries,
           let entry = host.memory(of: granter).mutableBytes(at: granter.grants.gpa + UInt64(mapping.ref) * GrantEntry.size,
                                                              count: Int(GrantEntry.size))?.baseAddress {
            setInUse(entry, false)
        }
        if granter.state == .dying && granter.grants.mappedByOthers == 0 { host.releaseDying(granter) }
    }

    /// One side of a copy: host bytes the caller may use.
    private static func copySide<Host: HypercallHost>(
        _ side: tern_grant_copy_side, isRef: Bool, length: Int, write: Bool, caller: Domain, host: Host
    ) -> Result<UnsafeMutableRawBufferPointer, GrantRefusal> {
        if !isRef {
            // The caller's own memory, within one page.
            guard let bytes = host.memory(of: caller).mutableBytes(at: side.gpa, count: length) else {
                return .failure(GrantRefusal(TERN_EFAULT))
            }
            return .success(bytes)
        }
        guard Int(side.offset) + length <= Int(FrameAllocator.frameSize) else { return .failure(GrantRefusal(TERN_EINVAL)) }
        guard let granter = liveDomain(UInt64(side.domid), caller: caller, host: host), granter !== caller else {
            return .failure(GrantRefusal(TERN_ENOENT))
        }
        switch usableGrant(granter: granter, ref: UInt64(side.ref), caller: caller, write: write, host: host) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let grant):
            guard let bytes = host.memory(of: granter).host.mutableBytes(at: grant.hostFrame + UInt64(side.offset), count: length) else {
                return .failure(GrantRefusal(TERN_EFAULT))
            }
            return .success(bytes)
        }
    }

    private static func copy<Host: HypercallHost>(ops gpa: UInt64, count: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        guard count <= UInt64(TERN_GRANT_COPY_MAX) else { return error(TERN_EINVAL) }
        let memory = host.memory(of: caller)
        let opSize = UInt64(MemoryLayout<tern_grant_copy>.size)
        guard memory.contains(gpa, count: count * opSize) else { return error(TERN_EFAULT) }
        for i in 0..<count {
            var op = tern_grant_copy()
            guard withUnsafeMutableBytes(of: &op, { memory.copyFromGuest(at: gpa + i * opSize, into: $0) }) else { return error(TERN_EFAULT) }
            op.status = copyStatus(op, caller: caller, host: host)
            guard withUnsafeBytes(of: &op, { memory.copyToGuest(at: gpa + i * opSize, from: $0) }) else { return error(TERN_EFAULT) }
        }
        return .resume(0)
    }

    private static func copyStatus<Host: HypercallHost>(_ op: tern_grant_copy, caller: Domain, host: Host) -> Int32 {
        let known = UInt16(TERN_GRANT_COPY_SOURCE_REF | TERN_GRANT_COPY_DEST_REF)
        guard op.flags & ~known == 0, op.length <= UInt16(FrameAllocator.frameSize) else { return -TERN_EINVAL }
        let length = Int(op.length)
        let source = copySide(op.source, isRef: UInt32(op.flags) & TERN_GRANT_COPY_SOURCE_REF != 0, length: length,
                              write: false, caller: caller, host: host)
        let dest = copySide(op.dest, isRef: UInt32(op.flags) & TERN_GRANT_COPY_DEST_REF != 0, length: length,
                            write: true, caller: caller, host: host)
        switch (source, dest) {
        case (.failure(let refusal), _), (_, .failure(let refusal)):
            return -refusal.code
        case (.success(let from), .success(let to)):
            // SAFETY: copySide checked both ranges: `length` bytes inside one
            // page of the granted or own memory; they may overlap (copyMemory
            // is memmove).
            to.copyMemory(from: UnsafeRawBufferPointer(from))
            return 0
        }
    }

    private static func query<Host: HypercallHost>(out: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        var info = tern_grant_table_info()
        info.gpa = caller.grants.gpa
        info.entries = caller.grants.entries
        info.mapped_by_others = UInt32(caller.grants.mappedByOthers)
        info.maps_held = UInt32(caller.grants.mapsHeld)
        return copyToGuest(&info, to: out, domain: caller, host: host)
    }

    /// Moves the table to `entries` entries at `gpa` (page-aligned, the
    /// caller's memory); the entries it had come along. Refused while any
    /// of its grants is mapped: their entries must stay where they are.
    private static func setUpTable<Host: HypercallHost>(gpa: UInt64, entries: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        let perPage = FrameAllocator.frameSize / GrantEntry.size
        guard entries >= perPage, entries <= UInt64(TERN_GRANT_ENTRIES_MAX), entries % perPage == 0,
              gpa % FrameAllocator.frameSize == 0 else { return error(TERN_EINVAL) }
        let memory = host.memory(of: caller)
        guard memory.contains(gpa, count: entries * GrantEntry.size) else { return error(TERN_EFAULT) }
        guard caller.grants.mappedByOthers == 0 else { return error(TERN_EBUSY) }
        var old = [UInt8](repeating: 0, count: Int(UInt64(caller.grants.entries) * GrantEntry.size))
        guard old.withUnsafeMutableBytes({ memory.copyFromGuest(at: caller.grants.gpa, into: $0) }) else { return error(TERN_EFAULT) }
        let kept = min(old.count, Int(entries * GrantEntry.size))
        guard memory.zero(at: gpa, count: entries * GrantEntry.size),
              old.withUnsafeBytes({ memory.copyToGuest(at: gpa, from: UnsafeRawBufferPointer(rebasing: $0[0..<kept])) }) else {
            return error(TERN_EFAULT)
        }
        caller.grants.move(to: gpa, entries: UInt32(entries))
        return .resume(0)
    }
}
