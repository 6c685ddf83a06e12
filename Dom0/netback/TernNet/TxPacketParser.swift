import TernABI

/// The limits a tx packet is checked against (docs/abi.md, "Network
/// interfaces", what the backend checks).
public struct TxLimits: Equatable {
    /// Data slots a packet may span: more are dropped (TERN_NETIF_NR_SLOTS_MIN, 18).
    public let maxSlots: Int
    /// Past this a frontend is not buggy but hostile: the interface is
    /// disabled (Linux netback's fatal_skb_slots, 20).
    public let fatalSlots: Int
    /// The largest packet without a GSO slot: the MTU plus an Ethernet
    /// header and a VLAN tag. With one, up to TERN_NETIF_MAX_TX_SIZE
    /// (the first request's u16 size field).
    public let maxPacket: Int
    /// Extra-info types the backend takes: GSO when the frontend took
    /// TERN_NETIF_FEATURE_GSO; multicast and hash are not offered.
    public let extraTypes: Set<UInt8>

    public static let ethernetHeader = Int(TERN_NETIF_ETH_HEADER)
    public static let vlanTag = 4

    public init(maxSlots: Int = Int(TERN_NETIF_NR_SLOTS_MIN), fatalSlots: Int = 20, mtu: Int = Int(TERN_NETIF_MTU_DEFAULT),
                extraTypes: Set<UInt8> = []) {
        self.maxSlots = maxSlots
        self.fatalSlots = max(fatalSlots, maxSlots)
        self.maxPacket = mtu + TxLimits.ethernetHeader + TxLimits.vlanTag
        self.extraTypes = extraTypes
    }
}

/// Reads one packet from tx slots the backend already copied out of the
/// ring (in ring order, from its consumer index; at most the ring's size),
/// as Linux netback's xenvif_count_requests and xenvif_get_extras do:
/// first request (the packet's size), its extra-info slots, then the
/// slots its TERN_NETTXF_MORE_DATA chain names. Pure: no memory but the
/// copies is read.
public enum TxPacketParser {
    static let pageSize = Int(TERN_NETIF_PAGE_SIZE)
    static let extraChainMax = Int(TERN_NETIF_EXTRA_TYPE_MAX) - 1

    public static func parse(_ slots: ArraySlice<TxSlot>, limits: TxLimits) -> TxParse {
        guard let first = slots.first else { return .incomplete }
        var taken: [(id: UInt16, isExtra: Bool)] = [(first.request.id, false)]
        var index = slots.startIndex + 1
        var refusal: TxFault?
        var gso: TxGso?
        // Extra information right after the first request, chained.
        if first.hasExtraInfo {
            var chained = 0
            while true {
                guard index < slots.endIndex else { return .incomplete }
                let extra = slots[index].extra
                taken.append((slots[index].request.id, true))
                index += 1
                chained += 1
                guard chained <= extraChainMax else { return .fatal(.extraChainTooLong(chained)) }
                guard extra.type > UInt8(TERN_NETIF_EXTRA_TYPE_NONE), extra.type < UInt8(TERN_NETIF_EXTRA_TYPE_MAX) else {
                    return .fatal(.extraType(extra.type))
                }
                if !limits.extraTypes.contains(extra.type) {
                    if refusal == nil { refusal = .extraNotOffered(extra.type) }
                } else if extra.type == UInt8(TERN_NETIF_EXTRA_TYPE_GSO) {
                    // As Linux netback's xenvif_set_skb_gso: a bad one is fatal.
                    let type = UInt8(truncatingIfNeeded: extra.u.1)
                    guard type == UInt8(TERN_NETIF_GSO_TYPE_TCPV4) || type == UInt8(TERN_NETIF_GSO_TYPE_TCPV6) else {
                        return .fatal(.gsoType(type))
                    }
                    guard extra.u.0 != 0 else { return .fatal(.gsoSizeZero) }
                    gso = TxGso(size: extra.u.0, type: type)
                }
                if extra.flags & UInt8(TERN_NETIF_EXTRA_FLAG_MORE) == 0 { break }
            }
        }
        // The data slots: the first, then each one its predecessor's
        // MORE_DATA names.
        var later: [TxSlot] = []
        var current = first
        while current.hasMoreData {
            guard index < slots.endIndex else { return .incomplete }
            current = slots[index]
            index += 1
            later.append(current)
            taken.append((current.request.id, false))
            guard 1 + later.count <= limits.fatalSlots else { return .fatal(.tooManySlots(1 + later.count, limit: limits.maxSlots)) }
        }
        let dataSlots = 1 + later.count
        let packetSize = Int(first.request.size)
        let laterBytes = later.reduce(0) { $0 + Int($1.request.size) }
        // Each part inside its page (the first's part: what the later ones
        // leave of the packet's size). A part past its page is no bug an
        // honest frontend has: fatal, as in Linux netback.
        let firstPart = max(0, packetSize - laterBytes)
        for (slot, (offset, size)) in ([(first.request.offset, UInt16(clamping: firstPart))]
                                         + later.map { ($0.request.offset, $0.request.size) }).enumerated() {
            guard Int(offset) + Int(size) <= pageSize else { return .fatal(.crossesPage(slot: slot, offset: offset, size: size)) }
        }
        if refusal == nil {
            if dataSlots > limits.maxSlots {
                refusal = .tooManySlots(dataSlots, limit: limits.maxSlots)
            } else if laterBytes > packetSize {
                refusal = .partsExceedPacket(packet: packetSize, parts: laterBytes)
            } else if packetSize < TxLimits.ethernetHeader {
                refusal = .tooShort(packetSize)
            } else if gso == nil && packetSize > limits.maxPacket {
                refusal = .tooLong(packetSize, limit: limits.maxPacket)
            }
        }
        let answered = TxSlots(slots: taken)
        if let refusal { return .dropped(answered, refusal) }
        let parts = [TxPacket.Part(gref: first.request.gref, offset: first.request.offset, size: UInt16(firstPart))]
            + later.map { TxPacket.Part(gref: $0.request.gref, offset: $0.request.offset, size: $0.request.size) }
        let flags = first.request.flags
        return .packet(TxPacket(parts: parts, size: packetSize,
                                checksumBlank: flags & UInt16(TERN_NETTXF_CSUM_BLANK) != 0,
                                dataValidated: flags & UInt16(TERN_NETTXF_DATA_VALIDATED) != 0, gso: gso), answered)
    }
}
