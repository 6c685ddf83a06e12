import TernABI
import TernRing

/// The backend's end of a netif tx ring (tern/ring.h protocol through
/// TernRing's BackRing: req_prod read once per look and checked before a
/// slot is read; docs/abi.md "Network interfaces"). Every published slot
/// is copied out once into `pending`, where `TxPacketParser` reads whole
/// packets; a packet's slots are then consumed and each answered.
public struct NetTxRing {
    var ring: BackRing<tern_netif_tx_request, tern_netif_tx_response>
    /// Slots copied out and not yet part of a packet taken (the start of a
    /// packet the frontend has published only in part).
    var pending: [TxSlot] = []
    public private(set) var broken: NetRingBroken?

    /// Attaches to a ring the frontend initialised: a page mapped at
    /// `ring` for as long as this is used. Slots published and not
    /// answered (a restarted backend) are taken again.
    public init(attaching ring: UnsafeMutableRawPointer) {
        self.ring = BackRing(attaching: ring, pageSize: Int(TERN_NETIF_PAGE_SIZE))!   // 12-byte slots fit a page
    }

    /// Slots taken off the ring and not yet answered.
    public var outstanding: UInt32 { ring.requestsConsumed &- ring.responsesProduced }

    /// The slots published and not yet consumed by a packet: those copied
    /// before, then every one published since (each copied once).
    public mutating func published() -> Result<[TxSlot], NetRingBroken> {
        if let broken { return .failure(broken) }
        do throws(RingError) {
            while let request = try ring.takeRequest() { pending.append(TxSlot(request)) }
        } catch {
            let failure = NetRingBroken(ring: "tx", error)
            broken = failure
            return .failure(failure)
        }
        return .success(pending)
    }

    /// The first `count` slots `published` returned are a packet's (sent
    /// or dropped): each must now be answered with `push`.
    public mutating func consume(_ count: Int) {
        pending.removeFirst(min(count, pending.count))
    }

    /// Writes a response (whole: id and status) into the next response
    /// slot. False, and nothing written, when every slot taken is answered
    /// (or the slot is still pending).
    public mutating func push(id: UInt16, status: Int16) -> Bool {
        guard broken == nil, outstanding > UInt32(pending.count) else { return false }
        do throws(RingError) { try ring.push(tern_netif_tx_response(id: id, status: status)) } catch { return false }
        return true
    }

    /// Makes the pushed responses visible; true when the frontend asked to
    /// be notified (its rsp_event passed).
    public mutating func publishResponses() -> Bool { ring.publish() }

    /// Before sleeping: asks to be notified of the next slot, then looks
    /// once more. True: look again instead of sleeping.
    public mutating func finalCheck() -> Bool {
        if broken != nil { return true }
        return (try? ring.finalCheckForRequests()) ?? true
    }
}
