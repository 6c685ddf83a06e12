/// A domain's guest-physical memory as the hypervisor sees it: guest
/// address -> host frame (through the domain's runs of contiguous frames),
/// reached through a host `PhysicalMemory` window. A DomU's runs are packed
/// from guest address 0; Dom0's runs sit at their own (identity) addresses,
/// with holes between them.
/// Every access is checked against the domain's size first, so a guest
/// pointer can only ever reach that guest's own frames: a range that
/// wraps, ends past the guest's memory, or is longer than `maxCopy` is
/// refused before any byte moves.
public struct GuestMemory<Host: PhysicalMemory>: PhysicalMemory {
    public let extents: [MemoryExtent]
    /// Guest-physical start of each extent (packed unless it says).
    let guestBases: [UInt64]
    public let frameCount: Int
    /// One past the highest guest-physical byte of any extent.
    public let size: UInt64
    public let host: Host
    public static var pageSize: UInt64 { 4096 }

    public init(extents: [MemoryExtent], host: Host) {
        self.extents = extents
        var count = 0
        var next: UInt64 = 0
        var bases: [UInt64] = []
        var end: UInt64 = 0
        for extent in extents {
            let base = extent.guestBase ?? next
            bases.append(base)
            next = base + UInt64(extent.frames) * GuestMemory.pageSize
            end = max(end, next)
            count += extent.frames
        }
        guestBases = bases
        frameCount = count
        size = end
        self.host = host
    }

    /// One extent per frame (tests, hand-built memories).
    public init(frames: [UInt64], host: Host) {
        self.init(extents: frames.map { MemoryExtent(hostBase: $0, frames: 1) }, host: host)
    }

    public init(of domain: Domain, host: Host) {
        self.init(extents: domain.memoryExtents, host: host)
    }

    /// The extent holding guest address `gpa`, if any: a linear search,
    /// guests have a handful of runs.
    func extentIndex(containing gpa: UInt64) -> Int? {
        for (i, extent) in extents.enumerated() {
            let base = guestBases[i]
            if gpa >= base && gpa - base < UInt64(extent.frames) * GuestMemory.pageSize { return i }
        }
        return nil
    }

    /// The host address backing guest address `gpa`, if it is guest memory.
    public func hostAddress(of gpa: UInt64) -> UInt64? {
        extentIndex(containing: gpa).map { extents[$0].hostBase + (gpa - guestBases[$0]) }
    }

    /// Whether [gpa, gpa+count) lies wholly inside guest memory (no hole).
    public func contains(_ gpa: UInt64, count: UInt64) -> Bool {
        let (end, overflow) = gpa.addingReportingOverflow(count)
        guard !overflow, end <= size else { return false }
        var at = gpa
        while at < end {
            guard let i = extentIndex(containing: at) else { return false }
            at = guestBases[i] + UInt64(extents[i].frames) * GuestMemory.pageSize
        }
        return true
    }

    /// Host bytes for a guest range that does not cross a page boundary
    /// (guest frames are not contiguous in host memory).
    public func bytes(at gpa: UInt64, count: Int) -> UnsafeRawBufferPointer? {
        mutableBytes(at: gpa, count: count).map { UnsafeRawBufferPointer($0) }
    }

    public func mutableBytes(at gpa: UInt64, count: Int) -> UnsafeMutableRawBufferPointer? {
        // gpa < size too: an empty range at the very end passes `contains`
        // but has no frame behind it.
        guard count >= 0, gpa < size, contains(gpa, count: UInt64(count)) else { return nil }
        let offset = gpa % GuestMemory.pageSize
        guard offset + UInt64(count) <= GuestMemory.pageSize else { return nil }
        guard let address = hostAddress(of: gpa) else { return nil }
        return host.mutableBytes(at: address, count: count)
    }

    /// Copies from guest memory (Xen's copy_from_guest), page by page. False (nothing promised about
    /// `destination`) if any of the range is outside the guest.
    public func copyFromGuest(at gpa: UInt64, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        forEachPage(from: gpa, count: UInt64(destination.count)) { guest, done in
            // SAFETY: `guest` is a checked piece (mutableBytes); the pieces'
            // counts add up to destination.count, so done + guest.count fits.
            UnsafeMutableRawBufferPointer(rebasing: destination[Int(done)..<(Int(done) + guest.count)])
                .copyMemory(from: UnsafeRawBufferPointer(guest))
        }
    }

    /// Copies into guest memory (copy_to_guest), page by page; false if outside the guest.
    public func copyToGuest(at gpa: UInt64, from source: UnsafeRawBufferPointer) -> Bool {
        forEachPage(from: gpa, count: UInt64(source.count)) { guest, done in
            // SAFETY: as in copyFromGuest, the other way.
            guest.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[Int(done)..<(Int(done) + guest.count)]))
        }
    }

    /// Calls `body(hostBytes, doneSoFar)` for each page-sized piece of the
    /// guest range, after checking the whole range first.
    private func forEachPage(
        from gpa: UInt64, count: UInt64, _ body: (UnsafeMutableRawBufferPointer, UInt64) -> Void
    ) -> Bool {
        guard contains(gpa, count: count) else { return false }
        var done: UInt64 = 0
        while done < count {
            let at = gpa + done
            let chunk = min(count - done, GuestMemory.pageSize - at % GuestMemory.pageSize)
            guard let piece = mutableBytes(at: at, count: Int(chunk)) else { return false }
            body(piece, done)
            done += chunk
        }
        return true
    }

    /// Zero-fills a guest range; false if outside the guest.
    public func zero(at gpa: UInt64, count: UInt64) -> Bool {
        // SAFETY: each piece is checked guest memory (mutableBytes).
        forEachPage(from: gpa, count: count) { guest, _ in guest.initializeMemory(as: UInt8.self, repeating: 0) }
    }
}
