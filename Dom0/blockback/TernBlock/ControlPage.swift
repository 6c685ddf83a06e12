import TernABI

/// Why the backend refuses a frontend's half of the control page: the
/// TERN_BLKIF_ERROR_* it writes in backend_error before closing.
public enum ControlPageRefusal: Error, Equatable, CustomStringConvertible {
    case version(UInt32)
    case ringOrder(UInt32, max: UInt32)
    case ringRef(UInt32)
    case features(UInt32)
    case reservedNotZero

    public var errorCode: UInt32 {
        switch self {
        case .version: return UInt32(TERN_BLKIF_ERROR_VERSION)
        case .ringOrder: return UInt32(TERN_BLKIF_ERROR_RING_ORDER)
        case .ringRef: return UInt32(TERN_BLKIF_ERROR_RING_REF)
        case .features, .reservedNotZero: return UInt32(TERN_BLKIF_ERROR_FEATURES)
        }
    }

    public var description: String {
        switch self {
        case .version(let version): return "control page version \(version), need 1...\(TERN_BLKIF_CONTROL_VERSION)"
        case .ringOrder(let order, let max): return "ring order \(order), at most \(max) offered"
        case .ringRef(let ref): return "ring grant ref \(ref) reserved, invalid or repeated"
        case .features(let bits): return "frontend features \(bits) not offered"
        case .reservedNotZero: return "frontend's reserved control bytes not zero"
        }
    }
}

/// What the frontend asked for, checked: the ring's shape and grant refs.
public struct FrontendSettings: Equatable {
    public let version: UInt32
    public let features: BlockFeatures
    public let geometry: BlockRingGeometry
    /// Grant refs of the ring pages, page 0 first.
    public let ringRefs: [UInt32]
}

/// The block control page (tern/blkif.h, docs/abi.md "Block devices"):
/// the backend publishes its half, then copies the frontend's half once
/// and checks the copy.
public enum BlockControlPage {
    /// Step 2: writes the disk's properties, then `version` last.
    /// `control` is the device's mapped control page.
    public static func publish(_ disk: BlockDiskProperties, to control: UnsafeMutableRawPointer) {
        // SAFETY: the caller maps the control page (a whole page, page
        // aligned) at `control`; tern_blkif_control is its first 256 bytes.
        let page = control.bindMemory(to: tern_blkif_control.self, capacity: 1)
        var info: UInt32 = 0
        if disk.readOnly { info |= UInt32(TERN_BLKIF_INFO_READONLY) }
        // SAFETY: as above; the backend's own fields, each written once.
        page.pointee.backend_info = info
        page.pointee.sectors = disk.sectors
        page.pointee.sector_size = disk.sectorSize
        page.pointee.physical_sector_size = disk.physicalSectorSize
        // SAFETY: as above.
        page.pointee.backend_features = disk.features.rawValue
        page.pointee.max_indirect_segments = disk.maxIndirectSegments
        page.pointee.max_ring_order = disk.maxRingOrder
        tern_ring_wmb()                           // the fields before the version
        // SAFETY: as above.
        page.pointee.version = UInt32(TERN_BLKIF_CONTROL_VERSION)
    }

    /// Step 4: one volatile copy of the whole page's struct.
    public static func copy(from control: UnsafeRawPointer) -> tern_blkif_control {
        var copy = tern_blkif_control()
        // SAFETY: the caller maps the control page at `control`; any bytes
        // are a valid struct of integers; read once, volatile.
        tern_blkif_copy_control(&copy, control.assumingMemoryBound(to: tern_blkif_control.self))
        return copy
    }

    /// Checks the frontend's half of a copy against what `disk` offers.
    public static func frontendSettings(_ copy: tern_blkif_control,
                                        offering disk: BlockDiskProperties) -> Result<FrontendSettings, ControlPageRefusal> {
        let version = copy.frontend_version
        guard version >= 1, version <= UInt32(TERN_BLKIF_CONTROL_VERSION) else { return .failure(.version(version)) }
        let features = BlockFeatures(rawValue: copy.frontend_features)
        guard features.isSubset(of: BlockFeatures.frontendChoices.intersection(disk.features)) else {
            return .failure(.features(copy.frontend_features))
        }
        let reservedZero = withUnsafeBytes(of: copy.frontend_reserved) { $0.allSatisfy { $0 == 0 } }
        guard reservedZero else { return .failure(.reservedNotZero) }
        guard copy.ring_order <= disk.maxRingOrder, let geometry = BlockRingGeometry(order: copy.ring_order) else {
            return .failure(.ringOrder(copy.ring_order, max: disk.maxRingOrder))
        }
        let extra = copy.extra_ring_refs
        let refs = Array([copy.link.ring_ref, extra.0, extra.1, extra.2].prefix(geometry.pages))
        for (index, ref) in refs.enumerated() {
            guard ref >= UInt32(TERN_GRANT_REF_FIRST_FREE), ref != TERN_GRANT_REF_INVALID,
                  !refs[..<index].contains(ref) else { return .failure(.ringRef(ref)) }
        }
        return .success(FrontendSettings(version: version, features: features, geometry: geometry, ringRefs: refs))
    }
}
