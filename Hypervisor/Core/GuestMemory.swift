/// A domain's guest-physical memory as the hypervisor sees it: guest frame
/// number -> host frame, reached through a host `PhysicalMemory` window.
/// Every access is checked against the domain's size first, so a guest
/// pointer can only ever reach that guest's own frames: a range that
/// wraps, ends past the guest's memory, or is longer than `maxCopy` is
/// refused before any byte moves.
public struct GuestMemory<Host: PhysicalMemory>: PhysicalMemory {
    public let frames: [UInt64]   // host physical address of each guest frame
    public let host: Host
    public static var pageSize: UInt64 { 4096 }

    public init(frames: [UInt64], host: Host) {
        self.frames = frames
        self.host = host
    }

    public var size: UInt64 { UInt64(frames.count) * GuestMemory.pageSize }

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
        guard count >= 0, contains(gpa, count: UInt64(count)) else { return nil }
        let offset = gpa % GuestMemory.pageSize
        guard offset + UInt64(count) <= GuestMemory.pageSize else { return nil }
        let frame = frames[Int(gpa / GuestMemory.pageSize)]
        return host.mutableBytes(at: frame + offset, count: count)
    }

    /// Copies guest memory out, page by page. False (nothing promised about
    /// `destination`) if any of the range is outside the guest.
    public func copyOut(from gpa: UInt64, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        guard contains(gpa, count: UInt64(destination.count)) else { return false }
        var done = 0
        while done < destination.count {
            let at = gpa + UInt64(done)
            let chunk = min(destination.count - done, Int(GuestMemory.pageSize - at % GuestMemory.pageSize))
            guard let source = bytes(at: at, count: chunk) else { return false }
            UnsafeMutableRawBufferPointer(rebasing: destination[done..<(done + chunk)]).copyMemory(from: source)
            done += chunk
        }
        return true
    }

    /// Copies into guest memory, page by page; false if outside the guest.
    public func copyIn(to gpa: UInt64, from source: UnsafeRawBufferPointer) -> Bool {
        guard contains(gpa, count: UInt64(source.count)) else { return false }
        var done = 0
        while done < source.count {
            let at = gpa + UInt64(done)
            let chunk = min(source.count - done, Int(GuestMemory.pageSize - at % GuestMemory.pageSize))
            guard let target = mutableBytes(at: at, count: chunk) else { return false }
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[done..<(done + chunk)]))
            done += chunk
        }
        return true
    }

    /// Zero-fills a guest range; false if outside the guest.
    public func zero(at gpa: UInt64, count: UInt64) -> Bool {
        guard contains(gpa, count: count) else { return false }
        var done: UInt64 = 0
        while done < count {
            let at = gpa + done
            let chunk = min(count - done, GuestMemory.pageSize - at % GuestMemory.pageSize)
            guard let target = mutableBytes(at: at, count: Int(chunk)) else { return false }
            target.initializeMemory(as: UInt8.self, repeating: 0)
            done += chunk
        }
        return true
    }
}
