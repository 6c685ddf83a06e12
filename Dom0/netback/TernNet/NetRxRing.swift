import TernABI

/// The backend's end of a netif rx ring: the frontend posts empty pages
/// (requests), the backend copies a packet into one and answers **in the
/// same slot** (xen-netfront ignores the response's id and relies on it):
/// requests are taken and answered in order, so the response to the
/// request taken n-th goes in slot n. Indices are checked before any slot
/// is read; each request is copied out once.
public struct NetRxRing {
    let ring: UnsafeMutableRawPointer
    let header: UnsafeMutablePointer<tern_ring_header>
    public private(set) var requestsConsumed: UInt32
    public private(set) var responsesProduced: UInt32
    var responsesPublished: UInt32
    public private(set) var broken: NetRingBroken?
    static let slotBytes = MemoryLayout<tern_netif_rx_slot>.size

    public init(attaching ring: UnsafeMutableRawPointer) {
        self.ring = ring
        // SAFETY: the caller maps a whole page at `ring`, page-aligned: its
        // first 64 bytes are the header, four u32 indices accessed volatile.
        header = ring.bindMemory(to: tern_ring_header.self, capacity: 1)
        // SAFETY: as above; one volatile read.
        let answered = tern_ring_load(&header.pointee.rsp_prod)
        requestsConsumed = answered
        responsesProduced = answered
        responsesPublished = answered
    }

    /// Pages taken and not yet answered.
    public var outstanding: UInt32 { requestsConsumed &- responsesProduced }

    /// The next page the frontend posted, copied once; nil when it posted
    /// none (the packet is dropped and counted, never queued).
    public mutating func takeRequest() -> Result<tern_netif_rx_request?, NetRingBroken> {
        if let broken { return .failure(broken) }
        // SAFETY: the header is mapped (init); one volatile read.
        let producer = tern_ring_load(&header.pointee.req_prod)
        tern_ring_rmb()   // the index before the slot
        let unconsumed = producer &- requestsConsumed
        guard unconsumed <= NetRingLayout.entries &- outstanding else {
            let failure = NetRingBroken(ring: "rx", producer: producer, consumed: requestsConsumed, answered: responsesProduced)
            broken = failure
            return .failure(failure)
        }
        guard unconsumed > 0 else { return .success(nil) }
        var copy = tern_netif_rx_request()
        let at = ring + NetRingLayout.offset(ofSlot: requestsConsumed, slotBytes: NetRxRing.slotBytes)
        // SAFETY: the slot lies inside the mapped page (64 + 256 * 8 bytes);
        // read once, volatile.
        tern_netif_copy_rx_request(&copy, at.assumingMemoryBound(to: tern_netif_rx_slot.self))
        requestsConsumed &+= 1
        return .success(copy)
    }

    /// Gives back the last page taken, not answered (nothing to put in it
    /// yet): the next `takeRequest` copies its slot again.
    public mutating func untake() {
        guard outstanding > 0 else { return }
        requestsConsumed &-= 1
    }

    /// Answers the oldest page taken, in its own slot: `status` bytes from
    /// `offset` (> 0), or a negative TERN_NETIF_RSP_*. False when none is
    /// outstanding.
    public mutating func respond(id: UInt16, offset: UInt16, flags: UInt16, status: Int16) -> Bool {
        guard outstanding > 0, broken == nil else { return false }
        let at = ring + NetRingLayout.offset(ofSlot: responsesProduced, slotBytes: NetRxRing.slotBytes)
        // SAFETY: the slot lies inside the mapped page; 8 bytes written whole.
        at.storeBytes(of: tern_netif_rx_response(id: id, offset: offset, flags: flags, status: status),
                      as: tern_netif_rx_response.self)
        responsesProduced &+= 1
        return true
    }

    /// As NetTxRing's: true when the frontend asked to be notified.
    public mutating func publishResponses() -> Bool {
        guard responsesPublished != responsesProduced else { return false }
        let old = responsesPublished
        tern_ring_wmb()
        // SAFETY: the header is mapped (init); one volatile write.
        tern_ring_store(&header.pointee.rsp_prod, responsesProduced)
        responsesPublished = responsesProduced
        tern_ring_mb()
        // SAFETY: as above; one volatile read.
        let event = tern_ring_load(&header.pointee.rsp_event)
        return responsesProduced &- event < responsesProduced &- old
    }

    /// With packets waiting and no page posted: asks to be notified when
    /// one is, then looks once more. True: a page is there.
    public mutating func finalCheckForPages() -> Bool {
        if broken != nil { return true }
        // SAFETY: the header is mapped (init); volatile accesses.
        if tern_ring_load(&header.pointee.req_prod) != requestsConsumed { return true }
        // SAFETY: as above.
        tern_ring_store(&header.pointee.req_event, requestsConsumed &+ 1)
        tern_ring_mb()
        // SAFETY: as above.
        return tern_ring_load(&header.pointee.req_prod) != requestsConsumed
    }
}
