import TernABI

/// The backend's end of a netif tx ring (tern/ring.h protocol; docs/abi.md
/// "Network interfaces"). It reads req_prod once per look, checks it
/// before touching a slot, copies the published slots out once
/// (`TxSlot`, what `TxPacketParser` reads), and writes whole responses
/// and its own indices; it trusts nothing else the frontend wrote.
public struct NetTxRing {
    let ring: UnsafeMutableRawPointer
    let header: UnsafeMutablePointer<tern_ring_header>
    /// Slots taken (whole packets), responses written and published: the
    /// backend's own counts, free-running, never read back from the ring.
    public private(set) var slotsConsumed: UInt32
    public private(set) var responsesProduced: UInt32
    var responsesPublished: UInt32
    public private(set) var broken: NetRingBroken?
    static let slotBytes = MemoryLayout<tern_netif_tx_slot>.size

    /// Attaches to a ring the frontend initialised: a page mapped at
    /// `ring` for as long as this is used. Slots published and not
    /// answered (a restarted backend) are taken again.
    public init(attaching ring: UnsafeMutableRawPointer) {
        self.ring = ring
        // SAFETY: the caller maps a whole page at `ring`, page-aligned: its
        // first 64 bytes are the header, four u32 indices accessed volatile.
        header = ring.bindMemory(to: tern_ring_header.self, capacity: 1)
        // SAFETY: as above; one volatile read.
        let answered = tern_ring_load(&header.pointee.rsp_prod)
        slotsConsumed = answered
        responsesProduced = answered
        responsesPublished = answered
    }

    /// Slots taken and not yet answered.
    public var outstanding: UInt32 { slotsConsumed &- responsesProduced }

    /// Reads req_prod once, checks it, and copies out every slot
    /// published and not taken yet (a packet's slots are taken with
    /// `consume` once it is read whole; the rest are copied again at the
    /// next look, and only that copy is used).
    public mutating func published() -> Result<[TxSlot], NetRingBroken> {
        if let broken { return .failure(broken) }
        // SAFETY: the header is mapped (init); one volatile read.
        let producer = tern_ring_load(&header.pointee.req_prod)
        tern_ring_rmb()   // the index before the slots
        let unconsumed = producer &- slotsConsumed
        guard unconsumed <= NetRingLayout.entries &- outstanding else {
            let failure = NetRingBroken(ring: "tx", producer: producer, consumed: slotsConsumed, answered: responsesProduced)
            broken = failure
            return .failure(failure)
        }
        var slots: [TxSlot] = []
        slots.reserveCapacity(Int(unconsumed))
        for i in 0..<unconsumed {
            let at = ring + NetRingLayout.offset(ofSlot: slotsConsumed &+ i, slotBytes: NetTxRing.slotBytes)
            var copy = tern_netif_tx_request()
            // SAFETY: the slot lies inside the mapped page (offset < 64 +
            // 256 * 12); read once, volatile (Xen XSA-155).
            tern_netif_copy_tx_request(&copy, at.assumingMemoryBound(to: tern_netif_tx_slot.self))
            slots.append(TxSlot(copy))
        }
        return .success(slots)
    }

    /// The first `count` slots `published` returned are taken (a packet's,
    /// dropped or sent): each must then be answered with `push`.
    public mutating func consume(_ count: Int) {
        slotsConsumed &+= UInt32(count)
    }

    /// Writes a response (whole: id and status) into the next response
    /// slot. False, and nothing written, when every slot taken is answered.
    public mutating func push(id: UInt16, status: Int16) -> Bool {
        guard outstanding > 0, broken == nil else { return false }
        let at = ring + NetRingLayout.offset(ofSlot: responsesProduced, slotBytes: NetTxRing.slotBytes)
        // SAFETY: the slot lies inside the mapped page; a 4-byte response
        // written whole (no stale byte of the backend's: Xen XSA-216).
        at.storeBytes(of: tern_netif_tx_response(id: id, status: status), as: tern_netif_tx_response.self)
        responsesProduced &+= 1
        return true
    }

    /// Makes the pushed responses visible; true when the frontend asked to
    /// be notified (its rsp_event passed).
    public mutating func publishResponses() -> Bool {
        guard responsesPublished != responsesProduced else { return false }
        let old = responsesPublished
        tern_ring_wmb()   // the responses before the index
        // SAFETY: the header is mapped (init); one volatile write.
        tern_ring_store(&header.pointee.rsp_prod, responsesProduced)
        responsesPublished = responsesProduced
        tern_ring_mb()    // the index before reading the event
        // SAFETY: as above; one volatile read.
        let event = tern_ring_load(&header.pointee.rsp_event)
        return responsesProduced &- event < responsesProduced &- old
    }

    /// Before sleeping: asks to be notified when req_prod passes `waitingFor`
    /// slots beyond those taken (1: any new slot; more: the rest of a packet
    /// published in part), then looks once more. True: look again instead
    /// of sleeping.
    public mutating func finalCheck(waitingFor count: UInt32 = 1) -> Bool {
        if broken != nil { return true }
        // SAFETY: the header is mapped (init); volatile accesses.
        if tern_ring_load(&header.pointee.req_prod) &- slotsConsumed >= count { return true }
        // SAFETY: as above.
        tern_ring_store(&header.pointee.req_event, slotsConsumed &+ count)
        tern_ring_mb()
        // SAFETY: as above.
        return tern_ring_load(&header.pointee.req_prod) &- slotsConsumed >= count
    }
}
