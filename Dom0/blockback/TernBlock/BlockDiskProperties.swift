import TernABI

/// What the backend offers, in tern/blkif.h's feature bits.
public struct BlockFeatures: OptionSet, Equatable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let flush = BlockFeatures(rawValue: UInt32(TERN_BLKIF_FEATURE_FLUSH))
    public static let discard = BlockFeatures(rawValue: UInt32(TERN_BLKIF_FEATURE_DISCARD))
    public static let secureDiscard = BlockFeatures(rawValue: UInt32(TERN_BLKIF_FEATURE_DISCARD_SECURE))
    public static let persistent = BlockFeatures(rawValue: UInt32(TERN_BLKIF_FEATURE_PERSISTENT))

    /// Every bit control page version 1 defines.
    public static let known: BlockFeatures = [.flush, .discard, .secureDiscard, .persistent]
    /// The bits a frontend may ask for (TERN_BLKIF_FRONTEND_FEATURES).
    public static let frontendChoices = BlockFeatures(rawValue: UInt32(TERN_BLKIF_FRONTEND_FEATURES))
}

/// The disk a backend serves, as requests are checked against it and as
/// the control page advertises it.
public struct BlockDiskProperties: Equatable {
    /// Size in 512-byte sectors (the unit of every sector field).
    public let sectors: UInt64
    /// Logical sector size in bytes: a power of two, at least 512, at most
    /// a page. Requests must be aligned to it.
    public let sectorSize: UInt32
    public let physicalSectorSize: UInt32
    public let readOnly: Bool
    public let features: BlockFeatures
    /// Segments an INDIRECT request may have; 0: INDIRECT not offered.
    public let maxIndirectSegments: UInt32
    public let maxRingOrder: UInt32

    /// nil when a value cannot be advertised: a sector size that is not a
    /// power of two in 512...4096, a physical size not a multiple of it,
    /// more indirect segments than 8 pages hold, a ring order above the
    /// maximum, an unknown feature bit, secure discard without discard.
    public init?(sectors: UInt64, sectorSize: UInt32 = UInt32(TERN_BLKIF_SECTOR_SIZE), physicalSectorSize: UInt32? = nil,
                 readOnly: Bool, features: BlockFeatures = [], maxIndirectSegments: UInt32 = 0, maxRingOrder: UInt32 = 0) {
        let physical = physicalSectorSize ?? sectorSize
        guard sectorSize >= UInt32(TERN_BLKIF_SECTOR_SIZE), sectorSize <= UInt32(TERN_BLKIF_PAGE_SIZE),
              sectorSize & (sectorSize - 1) == 0,
              physical >= sectorSize, physical % sectorSize == 0,
              maxIndirectSegments <= UInt32(TERN_BLKIF_INDIRECT_SEGMENTS_LIMIT),
              maxRingOrder <= UInt32(TERN_BLKIF_MAX_RING_ORDER),
              features.isSubset(of: .known),
              !features.contains(.secureDiscard) || features.contains(.discard)
        else { return nil }
        self.sectors = sectors
        self.sectorSize = sectorSize
        self.physicalSectorSize = physical
        self.readOnly = readOnly
        self.features = features
        self.maxIndirectSegments = maxIndirectSegments
        self.maxRingOrder = maxRingOrder
    }

    /// 512-byte sectors per logical sector: offsets and lengths are
    /// multiples of it.
    public var sectorsPerLogicalSector: UInt64 { UInt64(sectorSize) / UInt64(TERN_BLKIF_SECTOR_SIZE) }
}
