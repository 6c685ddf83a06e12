import TernABI

/// One segment of a transfer, copied out of a request or an indirect page:
/// sectors `firstSector...lastSector` (512-byte units) of the page granted
/// as `grantRef`. Not yet checked: see `RequestValidator`.
public struct BlockSegment: Equatable {
    public let grantRef: UInt32
    public let firstSector: UInt8
    public let lastSector: UInt8

    public init(grantRef: UInt32, firstSector: UInt8, lastSector: UInt8) {
        self.grantRef = grantRef
        self.firstSector = firstSector
        self.lastSector = lastSector
    }

    init(_ raw: tern_blkif_segment) {
        self.init(grantRef: raw.gref, firstSector: raw.first_sect, lastSector: raw.last_sect)
    }

    /// The wire form (reserved bytes zero): for frontends and tests.
    public var raw: tern_blkif_segment {
        tern_blkif_segment(gref: grantRef, first_sect: firstSector, last_sect: lastSector, reserved: 0)
    }

    /// Whether the sectors lie in one page, in order (first <= last <= 7).
    public var isWithinPage: Bool {
        firstSector <= lastSector && lastSector < UInt8(TERN_BLKIF_SECTORS_PER_PAGE)
    }

    /// Sectors it covers; meaningful only when `isWithinPage`.
    public var sectorCount: UInt64 { UInt64(lastSector) - UInt64(firstSector) + 1 }
    /// Where its data starts in the granted page, in bytes.
    public var byteOffset: Int { Int(firstSector) * Int(TERN_BLKIF_SECTOR_SIZE) }
    public var byteCount: Int { Int(sectorCount) * Int(TERN_BLKIF_SECTOR_SIZE) }
}
