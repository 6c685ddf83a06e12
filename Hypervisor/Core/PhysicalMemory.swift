/// Access to physical memory by address. On bare metal this is a window
/// (the early identity map, then the direct map); in host tests, a buffer.
/// Implementations return nil for any range they cannot fully reach, so
/// that a bad address from a loader or a guest is an error, not a fault.
public protocol PhysicalMemory {
    func bytes(at address: UInt64, count: Int) -> UnsafeRawBufferPointer?
    func mutableBytes(at address: UInt64, count: Int) -> UnsafeMutableRawBufferPointer?
}

/// A half-open range of physical addresses [start, end).
public struct PhysicalRange: Equatable {
    public var start: UInt64
    public var end: UInt64

    public init(start: UInt64, end: UInt64) {
        self.start = start
        self.end = end
    }

    public var length: UInt64 { end &- start }
    public var isEmpty: Bool { end <= start }

    public func overlaps(_ other: PhysicalRange) -> Bool {
        start < other.end && other.start < end
    }

    public func contains(_ address: UInt64) -> Bool {
        address >= start && address < end
    }

    /// The largest page-aligned range inside this one (may be empty).
    public func alignedInward(to alignment: UInt64) -> PhysicalRange {
        let s = start.roundedUp(to: alignment)
        let e = end & ~(alignment - 1)
        return PhysicalRange(start: s, end: max(s, e))
    }

    /// The smallest page-aligned range covering this one.
    public func alignedOutward(to alignment: UInt64) -> PhysicalRange {
        PhysicalRange(start: start & ~(alignment - 1), end: end.roundedUp(to: alignment))
    }
}

extension UInt64 {
    /// Rounds up to a power-of-two `alignment`, saturating at the top.
    public func roundedUp(to alignment: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(alignment - 1)
        return overflow ? ~(alignment - 1) : sum & ~(alignment - 1)
    }
}

extension PhysicalRange {
    /// This range minus `hole`: the parts before and after it (either
    /// may be empty). Without an overlap, `before` is the whole range.
    public func subtracting(_ hole: PhysicalRange) -> (before: PhysicalRange, after: PhysicalRange) {
        guard overlaps(hole) else { return (self, PhysicalRange(start: end, end: end)) }
        return (PhysicalRange(start: start, end: Swift.max(start, hole.start)),
                PhysicalRange(start: Swift.min(end, hole.end), end: end))
    }
}
