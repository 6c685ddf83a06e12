import TernABI

/// A packet the guest sent, checked (TxPacketParser): its bytes are the
/// parts in order, each inside one granted page.
public struct TxPacket: Equatable {
    public struct Part: Equatable {
        public let gref: UInt32
        public let offset: UInt16
        public let size: UInt16
    }
    public let parts: [Part]
    /// The packet's length: the parts' sizes added up (at least an
    /// Ethernet header, at most the MTU's frame).
    public let size: Int
    /// The first request's TERN_NETTXF_CSUM_BLANK / _DATA_VALIDATED.
    public let checksumBlank: Bool
    public let dataValidated: Bool
    /// Its GSO extra slot (TERN_NETIF_FEATURE_GSO), checked: to be cut
    /// into segments of `size` payload bytes.
    public let gso: TxGso?

    public init(parts: [Part], size: Int, checksumBlank: Bool, dataValidated: Bool, gso: TxGso? = nil) {
        self.parts = parts
        self.size = size
        self.checksumBlank = checksumBlank
        self.dataValidated = dataValidated
        self.gso = gso
    }
}

/// A tx packet's segmentation (netif.h, a GSO extra slot).
public struct TxGso: Equatable {
    /// The segments' payload size (the MSS), not zero.
    public let size: UInt16
    /// TERN_NETIF_GSO_TYPE_TCPV4 or _TCPV6.
    public let type: UInt8

    public init(size: UInt16, type: UInt8) {
        self.size = size
        self.type = type
    }
}

/// How many ring slots a packet (or a dropped one) took, and their ids:
/// each gets a response (the data slots the packet's status, the extra
/// slots TERN_NETIF_RSP_NULL; netif.h).
public struct TxSlots: Equatable {
    /// (id, isExtra) of each slot, in ring order.
    public let slots: [(id: UInt16, isExtra: Bool)]
    public var count: Int { slots.count }

    public static func == (a: TxSlots, b: TxSlots) -> Bool {
        a.slots.count == b.slots.count && zip(a.slots, b.slots).allSatisfy { $0.id == $1.id && $0.isExtra == $1.isExtra }
    }
}

/// What the backend does with the slots at the ring's consumer index.
public enum TxParse: Equatable {
    /// A packet to send; its slots answered OKAY (or DROPPED if sending fails).
    case packet(TxPacket, TxSlots)
    /// Malformed, but within what a buggy frontend may do: its slots are
    /// answered ERROR and counted (Linux netback's `xenvif_tx_err`).
    case dropped(TxSlots, TxFault)
    /// Past what any honest frontend does: the interface is disabled
    /// (TERN_NETIF_ERROR_MALFORMED; `xenvif_fatal_tx_err`).
    case fatal(TxFault)
    /// The packet's slots are not all published yet: look again later.
    case incomplete
}

/// Why a packet was refused, in words for the one log line.
public enum TxFault: Equatable, CustomStringConvertible {
    case tooManySlots(Int, limit: Int)
    case crossesPage(slot: Int, offset: UInt16, size: UInt16)
    case partsExceedPacket(packet: Int, parts: Int)
    case tooShort(Int)
    case tooLong(Int, limit: Int)
    case extraType(UInt8)
    case extraNotOffered(UInt8)
    case extraChainTooLong(Int)
    case noSpaceForExtras
    case gsoType(UInt8)
    case gsoSizeZero

    public var description: String {
        switch self {
        case .tooManySlots(let n, let limit): return "a packet over \(n) slots (at most \(limit))"
        case .crossesPage(let slot, let offset, let size): return "slot \(slot) crosses its page: offset \(offset) + size \(size) > 4096"
        case .partsExceedPacket(let packet, let parts): return "the later slots hold \(parts) bytes, more than the packet's \(packet)"
        case .tooShort(let n): return "a packet of \(n) bytes (an Ethernet header is 14)"
        case .tooLong(let n, let limit): return "a packet of \(n) bytes (at most \(limit) without segmentation offload)"
        case .extraType(let t): return "extra info of type \(t) (types are 1-4)"
        case .extraNotOffered(let t): return "extra info of type \(t), not offered"
        case .extraChainTooLong(let n): return "\(n) extra-info slots chained"
        case .noSpaceForExtras: return "extra info claimed past the end of the ring"
        case .gsoType(let t): return "GSO of type \(t) (TCPv4 is 1, TCPv6 2)"
        case .gsoSizeZero: return "GSO with a segment size of 0"
        }
    }
}
