import TernABI

/// What the backend offers an interface (its half of the control page).
public struct NetInterfaceProperties: Equatable {
    public let mac: [UInt8]
    public let mtu: UInt16
    public let features: UInt32
    public let maxTxSlots: UInt32

    public init?(mac: [UInt8], mtu: UInt16 = UInt16(TERN_NETIF_MTU_DEFAULT),
                 features: UInt32 = UInt32(TERN_NETIF_FEATURES),
                 maxTxSlots: UInt32 = UInt32(TERN_NETIF_NR_SLOTS_MIN)) {
        guard mac.count == 6, features & ~UInt32(TERN_NETIF_FEATURES) == 0,
              maxTxSlots >= UInt32(TERN_NETIF_NR_SLOTS_MIN) else { return nil }
        self.mac = mac
        self.mtu = mtu
        self.features = features
        self.maxTxSlots = maxTxSlots
    }
}

/// Why the backend refuses a frontend's half: the TERN_NETIF_ERROR_* it
/// writes in backend_error before closing.
public enum NetControlRefusal: Error, Equatable, CustomStringConvertible {
    case version(UInt32)
    case ringRef(UInt32)
    case features(UInt32)
    case reservedNotZero

    public var errorCode: UInt32 {
        switch self {
        case .version: return UInt32(TERN_NETIF_ERROR_VERSION)
        case .ringRef: return UInt32(TERN_NETIF_ERROR_RING_REF)
        case .features, .reservedNotZero: return UInt32(TERN_NETIF_ERROR_FEATURES)
        }
    }

    public var description: String {
        switch self {
        case .version(let v): return "control page version \(v), need 1...\(TERN_NETIF_CONTROL_VERSION)"
        case .ringRef(let ref): return "ring grant ref \(ref) reserved, invalid or the same for both rings"
        case .features(let bits): return "frontend features \(bits) not offered (or GSO without SG and CSUM)"
        case .reservedNotZero: return "frontend's reserved control bytes not zero"
        }
    }
}

/// The frontend's half, checked.
public struct NetFrontendSettings: Equatable {
    public let version: UInt32
    public let features: UInt32
    public let txRingRef: UInt32
    public let rxRingRef: UInt32
    public var persistent: Bool { features & UInt32(TERN_NETIF_FEATURE_PERSISTENT) != 0 }
    public var offloads: NetOffloads { NetOffloads(features: features) }
}

/// The netif control page (tern/netif.h, docs/abi.md "Network
/// interfaces"): the backend publishes its half, `version` last; then
/// copies the frontend's half once and checks the copy.
public enum NetControlPage {
    public static func publish(_ interface: NetInterfaceProperties, carrier: Bool, to control: UnsafeMutableRawPointer) {
        // SAFETY: the caller maps the control page (a whole page, page
        // aligned) at `control`; tern_netif_control is its first 256 bytes;
        // the backend's own fields, each written once.
        let page = control.bindMemory(to: tern_netif_control.self, capacity: 1)
        let m = interface.mac
        // SAFETY: as above.
        page.pointee.mac = (m[0], m[1], m[2], m[3], m[4], m[5])
        page.pointee.mtu = interface.mtu
        page.pointee.backend_features = interface.features
        page.pointee.max_tx_slots = interface.maxTxSlots
        page.pointee.carrier = carrier ? 1 : 0
        tern_ring_wmb()   // the fields before the version
        // SAFETY: as above.
        page.pointee.version = UInt32(TERN_NETIF_CONTROL_VERSION)
    }

    public static func copy(from control: UnsafeRawPointer) -> tern_netif_control {
        var copy = tern_netif_control()
        // SAFETY: the caller maps the control page at `control`; any bytes
        // are a valid struct of integers; read once, volatile.
        tern_netif_copy_control(&copy, control.assumingMemoryBound(to: tern_netif_control.self))
        return copy
    }

    public static func frontendSettings(_ copy: tern_netif_control,
                                        offering interface: NetInterfaceProperties) -> Result<NetFrontendSettings, NetControlRefusal> {
        let version = copy.frontend_version
        guard version >= 1, version <= UInt32(TERN_NETIF_CONTROL_VERSION) else { return .failure(.version(version)) }
        guard copy.frontend_features & ~interface.features == 0 else { return .failure(.features(copy.frontend_features)) }
        // Segmentation needs the packets over several slots and checksums
        // filled in per segment (netif.h).
        let needed = UInt32(TERN_NETIF_FEATURE_SG | TERN_NETIF_FEATURE_CSUM)
        guard copy.frontend_features & UInt32(TERN_NETIF_FEATURE_GSO) == 0 || copy.frontend_features & needed == needed else {
            return .failure(.features(copy.frontend_features))
        }
        let reservedZero = withUnsafeBytes(of: copy.frontend_reserved) { $0.allSatisfy { $0 == 0 } }
        guard reservedZero else { return .failure(.reservedNotZero) }
        let tx = copy.link.ring_ref, rx = copy.rx_ring_ref
        for ref in [tx, rx] {
            guard ref >= UInt32(TERN_GRANT_REF_FIRST_FREE), ref != TERN_GRANT_REF_INVALID else { return .failure(.ringRef(ref)) }
        }
        guard tx != rx else { return .failure(.ringRef(rx)) }
        return .success(NetFrontendSettings(version: version, features: copy.frontend_features, txRingRef: tx, rxRingRef: rx))
    }
}
