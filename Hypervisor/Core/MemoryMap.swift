/// What a range of physical address space is, as the loader reported it.
/// Ordered from least to most restrictive: where reports overlap, the more
/// restrictive kind wins (a range both "usable" and "reserved" is reserved).
public enum MemoryKind: UInt8, Comparable {
    case usable = 0
    case acpiReclaimable = 1
    case acpiNVS = 2
    case reserved = 3
    case defective = 4

    public static func < (a: MemoryKind, b: MemoryKind) -> Bool { a.rawValue < b.rawValue }

    /// Memory type codes shared by multiboot1/2 and the E820 map they carry.
    public init(multibootType: UInt32) {
        switch multibootType {
        case 1: self = .usable
        case 3: self = .acpiReclaimable
        case 4: self = .acpiNVS
        case 5: self = .defective
        default: self = .reserved
        }
    }

    public var name: StaticString {
        switch self {
        case .usable: return "usable"
        case .acpiReclaimable: return "ACPI data"
        case .acpiNVS: return "ACPI NVS"
        case .reserved: return "reserved"
        case .defective: return "defective"
        }
    }
}

public struct MemoryRegion: Equatable {
    public var range: PhysicalRange
    public var kind: MemoryKind

    public init(start: UInt64, end: UInt64, kind: MemoryKind) {
        range = PhysicalRange(start: start, end: end)
        self.kind = kind
    }
}

/// The physical memory map: at most `MemoryMap.capacity` regions (a bound
/// on what a buggy or hostile loader can make Tern allocate).
public struct MemoryMap {
    public static let capacity = 128
    public private(set) var regions: [MemoryRegion] = []
    /// Set when a region did not fit. Regions are added in address order
    /// by normalized(), so what was lost there is the top of memory: the
    /// map then under-reports usable memory, never over-reports it.
    public private(set) var overflowed = false

    public init() {}

    /// Adds a region; empty ones are ignored. False when the map is full.
    @discardableResult
    public mutating func add(_ region: MemoryRegion) -> Bool {
        if region.range.isEmpty { return true }
        guard regions.count < MemoryMap.capacity else {
            overflowed = true
            return false
        }
        regions.append(region)
        return true
    }

    public var count: Int { regions.count }
    public subscript(index: Int) -> MemoryRegion { regions[index] }

    /// Loaders may report regions unsorted, overlapping or split. This gives
    /// the same map sorted, without overlaps (the most restrictive kind wins
    /// where reports overlap), with touching regions of one kind merged.
    public func normalized() -> MemoryMap {
        // Every start and end is a boundary; between two consecutive
        // boundaries the kind is constant. 2 * capacity boundaries at most.
        var boundaries: [UInt64] = []
        boundaries.reserveCapacity(regions.count * 2)
        for region in regions {
            boundaries.append(region.range.start)
            boundaries.append(region.range.end)
        }
        boundaries.sort()

        var result = MemoryMap()
        guard boundaries.count >= 2 else { return result }
        for b in 0..<(boundaries.count - 1) {
            let piece = PhysicalRange(start: boundaries[b], end: boundaries[b + 1])
            guard !piece.isEmpty else { continue }  // a repeated boundary
            var kind: MemoryKind?
            for region in regions where region.range.overlaps(piece) {
                kind = max(kind ?? region.kind, region.kind)
            }
            guard let kind else { continue }
            let last = result.regions.count - 1
            if last >= 0, result.regions[last].kind == kind, result.regions[last].range.end == piece.start {
                result.regions[last].range.end = piece.end
            } else if !result.add(MemoryRegion(start: piece.start, end: piece.end, kind: kind)) {
                break  // the rest is higher memory; see `overflowed`
            }
        }
        return result
    }

    /// Total bytes of the given kind (meaningful on a normalized map).
    public func totalBytes(of kind: MemoryKind) -> UInt64 {
        var total: UInt64 = 0
        for region in regions where region.kind == kind { total &+= region.range.length }
        return total
    }

    /// One past the highest address of any usable region, 0 if none.
    public var usableEnd: UInt64 {
        var end: UInt64 = 0
        for region in regions where region.kind == .usable { end = max(end, region.range.end) }
        return end
    }
}
