import TernABI

/// The frontend moved a producer index where no honest frontend can: more
/// slots than the ring holds beyond those not yet answered, or backwards.
/// The interface is broken: closed with TERN_NETIF_ERROR_RING_BROKEN and
/// one log line; nothing more of the ring is read.
public struct NetRingBroken: Error, Equatable, CustomStringConvertible {
    public let ring: String
    public let producer: UInt32
    public let consumed: UInt32
    public let answered: UInt32

    public var description: String {
        "\(ring) ring broken: req_prod \(producer) with \(consumed) slots taken, \(answered) answered, 256 slots"
    }
}

/// Where slot `index` of a netif ring starts: after the 64-byte header,
/// `slotBytes` a slot, 256 slots (tern/netif.h).
enum NetRingLayout {
    static let entries = UInt32(TERN_NETIF_RING_ENTRIES)
    static let headerBytes = MemoryLayout<tern_ring_header>.size

    static func offset(ofSlot index: UInt32, slotBytes: Int) -> Int {
        headerBytes + Int(index & (entries - 1)) * slotBytes
    }
}
