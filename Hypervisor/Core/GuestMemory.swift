/// A domain's guest-physical memory as the hypervisor sees it: guest frame
/// number -> host frame (through the domain's runs of contiguous frames),
/// reached through a host `PhysicalMemory` window.
/// Every access is checked against the domain's size first, so a guest
/// pointer can only ever reach that guest's own frames: a range that
/// wraps, ends past the guest's memory, or is longer than `maxCopy` is
/// refused before any byte moves.
public struct GuestMemory<Host: PhysicalMemory>: PhysicalMemory {
    public let extents: [MemoryExtent]
    public let frameCount: Int
    public let host: Host
    public static var pageSize: UInt64 { 4096 }

    public init(extents: [MemoryExtent], host: Host) {
        self.extents = extents
        var count = 0
        for extent in extents { count += extent.frames }
        frameCount = count
        self.host = host
    }

    /// One extent per frame (tests, hand-built memories).
    public init(frames: [UInt64], host: Host) {
        self.init(extents: frames.map { MemoryExtent(hostBase: $0, frames: 1) }, host: host)
    }

    public init(of domain: Domain, host: Host) {
        self.init(extents: domain.memoryExtents, host: host)
    }

    public var size: UInt64 { UInt64(frameCount) * GuestMemory.pageSize }

    /// The host frame backing guest frame `gfn` (< frameCount): a binary
    /// search would pay off only with many runs; guests have a handful.
    func hostFrame(_ gfn: Int) -> UInt64 {
        var first = 0
        for extent in extents {
            if gfn < first + extent.frames { return extent.hostBase + UInt64(gfn - first) * GuestMemory.pageSize }
            first += extent.frames
        }
        return 0  // unreachable: callers check gfn < frameCount
    }

    /// Whether [gpa, gpa+count) lies wholly inside guest memory.
    public func contains(_ gpa: UInt64, count: UInt64) -> Bool {
        let (end, overflow) = gpa.addingReportingOverflow(count)
        return !overflow && end <= size
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
        return host.mutableBytes(at: hostFrame(Int(gpa / GuestMemory.pageSize)) + offset, count: count)
    }

    /// Copies guest memory out, page by page. False (nothing promised about
    /// `destination`) if any of the range is outside the guest.
    public func copyOut(from gpa: UInt64, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        forEachPage(from: gpa, count: UInt64(destination.count)) { guest, done in
            UnsafeMutableRawBufferPointer(rebasing: destination[Int(done)..<(Int(done) + guest.count)])
                .copyMemory(from: UnsafeRawBufferPointer(guest))
        }
    }

    /// Copies into guest memory, page by page; false if outside the guest.
    public func copyIn(to gpa: UInt64, from source: UnsafeRawBufferPointer) -> Bool {
        forEachPage(from: gpa, count: UInt64(source.count)) { guest, done in
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
        forEachPage(from: gpa, count: count) { guest, _ in guest.initializeMemory(as: UInt8.self, repeating: 0) }
    }
}
