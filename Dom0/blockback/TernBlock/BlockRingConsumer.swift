import TernABI

/// The frontend moved its request producer index where no honest frontend
/// can: more requests than the ring holds beyond those still unanswered,
/// or backwards. The device is broken; stop serving it
/// (TERN_BLKIF_ERROR_RING_BROKEN) and log this once.
public struct RingBroken: Error, Equatable, CustomStringConvertible {
    /// req_prod as read.
    public let producer: UInt32
    /// Requests the backend had taken, and answered, when it read it.
    public let consumed: UInt32
    public let answered: UInt32
    public let entries: UInt32

    public var description: String {
        "ring broken: req_prod \(producer) with \(consumed) requests taken, \(answered) answered, \(entries) slots"
    }
}

/// What one look at the ring found.
public enum RequestBatch: Equatable {
    /// The requests published since the last batch, each copied once, in
    /// ring order; empty when there were none.
    case requests([BlockRequestCopy])
    /// The frontend's index is impossible; this consumer stays broken.
    case ringBroken(RingBroken)
}

/// The backend's end of a blkif ring (tern/ring.h protocol). It reads the
/// frontend's req_prod once per batch, checks it before touching a slot,
/// copies every new request out once, and never reads a slot again; it
/// writes complete responses and its own indices, and trusts nothing else
/// the frontend wrote. All of a batch is bounded by the ring's size:
/// a hostile index gives `ringBroken`, never a long loop.
public struct BlockRingConsumer {
    public let geometry: BlockRingGeometry
    let ring: UnsafeMutableRawPointer
    let header: UnsafeMutablePointer<tern_ring_header>
    /// Requests copied out, responses written, responses published: the
    /// backend's own counts (free-running), never read back from the ring.
    public private(set) var requestsConsumed: UInt32
    public private(set) var responsesProduced: UInt32
    var responsesPublished: UInt32
    public private(set) var broken: RingBroken?

    /// Attaches to a ring the frontend initialised: `ring` is its
    /// geometry.bytes, mapped (contiguously) for as long as the consumer is
    /// used. Requests published and not answered (a restarted backend)
    /// are taken again, as io/ring.h's BACK_RING_ATTACH.
    public init(attaching ring: UnsafeMutableRawPointer, geometry: BlockRingGeometry) {
        self.geometry = geometry
        self.ring = ring
        // SAFETY: the caller maps geometry.bytes at `ring`, page-aligned; its
        // first 64 bytes are the ring header of four u32 indices, each
        // accessed once per use with tern_ring_load/store (volatile).
        header = ring.bindMemory(to: tern_ring_header.self, capacity: 1)
        // SAFETY: as above.
        let answered = tern_ring_load(&header.pointee.rsp_prod)
        requestsConsumed = answered
        responsesProduced = answered
        responsesPublished = answered
    }

    /// Requests taken and not yet answered.
    public var outstanding: UInt32 { requestsConsumed &- responsesProduced }

    /// Reads req_prod once, checks it, and copies out every request
    /// published since the last batch.
    public mutating func takeBatch() -> RequestBatch {
        if let broken { return .ringBroken(broken) }
        // SAFETY: the header is mapped (init); one volatile read.
        let producer = tern_ring_load(&header.pointee.req_prod)
        tern_ring_rmb()                        // the index before the slots
        let unconsumed = producer &- requestsConsumed
        guard unconsumed <= geometry.entries &- outstanding else {
            let failure = RingBroken(producer: producer, consumed: requestsConsumed, answered: responsesProduced,
                                     entries: geometry.entries)
            broken = failure
            return .ringBroken(failure)
        }
        var batch: [BlockRequestCopy] = []
        batch.reserveCapacity(Int(unconsumed))
        for _ in 0..<unconsumed {
            batch.append(BlockRequestCopy(copying: ring + geometry.offset(ofSlot: requestsConsumed)))
            requestsConsumed &+= 1
        }
        return .requests(batch)
    }

    /// Writes a response into the next response slot (not yet visible to
    /// the frontend: `publishResponses`). False, and nothing written, when
    /// every request taken is answered already: never more responses than
    /// requests. (Answering each id once is the caller's bookkeeping.)
    public mutating func push(_ response: BlockResponse) -> Bool {
        guard outstanding > 0, broken == nil else { return false }
        response.write(to: ring + geometry.offset(ofSlot: responsesProduced))
        responsesProduced &+= 1
        return true
    }

    /// Makes the pushed responses visible; true when the frontend asked to
    /// be notified (its rsp_event passed).
    public mutating func publishResponses() -> Bool {
        guard responsesPublished != responsesProduced else { return false }
        let old = responsesPublished
        tern_ring_wmb()                        // the responses before the index
        // SAFETY: the header is mapped (init); one volatile write.
        tern_ring_store(&header.pointee.rsp_prod, responsesProduced)
        responsesPublished = responsesProduced
        tern_ring_mb()                         // the index before reading the event
        // SAFETY: as above; one volatile read.
        let event = tern_ring_load(&header.pointee.rsp_event)
        return responsesProduced &- event < responsesProduced &- old
    }

    /// Before sleeping: asks to be notified of the next request, then
    /// looks once more (RING_FINAL_CHECK_FOR_REQUESTS). True: call
    /// `takeBatch` (which may report the ring broken) instead of sleeping.
    public mutating func finalCheckForRequests() -> Bool {
        if broken != nil || hasUnconsumedRequests() { return true }
        // SAFETY: the header is mapped (init); one volatile write.
        tern_ring_store(&header.pointee.req_event, requestsConsumed &+ 1)
        tern_ring_mb()
        return hasUnconsumedRequests()
    }

    func hasUnconsumedRequests() -> Bool {
        // SAFETY: the header is mapped (init); one volatile read.
        tern_ring_load(&header.pointee.req_prod) != requestsConsumed
    }
}
