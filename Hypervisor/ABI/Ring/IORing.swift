import TernABI

/// Shared-memory I/O rings (Hypervisor/ABI/include/tern/ring.h, docs/abi.md):
/// Xen's io/ring.h protocol in Swift, for guests (Embedded Swift) and Dom0
/// user space alike. A frontend pushes requests and takes responses; a
/// backend takes requests and pushes responses; each side notifies the
/// other only when the other asked (the event indices). The peer's indices
/// are read once per use and checked: a peer that claims more work than
/// the ring can hold is reported (`RingError.corruptIndices`), never
/// followed out of bounds.

public enum RingError: Error, Equatable {
    /// The peer's producer index is impossible: `unconsumed` entries, more
    /// than the `limit` the ring allows at this point.
    case corruptIndices(unconsumed: UInt32, limit: UInt32)
    /// No free slot: wait for responses first.
    case full
}

/// Where things are in a ring page: the 64-byte header, then `entries`
/// slots of `slotSize` bytes (a power of two count that fits the page).
public struct RingLayout: Equatable {
    public static let headerSize = MemoryLayout<tern_ring_header>.size
    public let slotSize: Int
    public let entries: UInt32

    public init?(pageSize: Int, slotSize: Int) {
        guard slotSize > 0, pageSize >= RingLayout.headerSize + slotSize else { return nil }
        var n = 1
        while RingLayout.headerSize + 2 * n * slotSize <= pageSize { n *= 2 }
        self.slotSize = slotSize
        self.entries = UInt32(n)
    }

    func offset(ofSlot index: UInt32) -> Int {
        RingLayout.headerSize + Int(index & (entries - 1)) * slotSize
    }
}

/// The shared header's four indices, each read or written exactly once per
/// call (volatile accesses, ring.h).
struct RingIndices {
    let header: UnsafeMutablePointer<tern_ring_header>

    // SAFETY (all four): `header` is the first 64 bytes of the ring page,
    // which the ring's owner keeps mapped while the ring is used (init);
    // each field is an aligned u32, accessed once, volatile (ring.h).
    var requestProducer: UInt32 {
        get { tern_ring_load(&header.pointee.req_prod) }
        nonmutating set { tern_ring_store(&header.pointee.req_prod, newValue) }
    }
    // SAFETY: as requestProducer.
    var requestEvent: UInt32 {
        get { tern_ring_load(&header.pointee.req_event) }
        nonmutating set { tern_ring_store(&header.pointee.req_event, newValue) }
    }
    // SAFETY: as requestProducer.
    var responseProducer: UInt32 {
        get { tern_ring_load(&header.pointee.rsp_prod) }
        nonmutating set { tern_ring_store(&header.pointee.rsp_prod, newValue) }
    }
    // SAFETY: as requestProducer.
    var responseEvent: UInt32 {
        get { tern_ring_load(&header.pointee.rsp_event) }
        nonmutating set { tern_ring_store(&header.pointee.rsp_event, newValue) }
    }

    /// io/ring.h's notify test: did the producer move past the event the
    /// consumer set, in this push (old to new)? Wrapping arithmetic.
    static func shouldNotify(old: UInt32, new: UInt32, event: UInt32) -> Bool {
        new &- event < new &- old
    }
}

/// The frontend's end: requests out, responses in.
public struct FrontRing<Request: BitwiseCopyable, Response: BitwiseCopyable> {
    public let layout: RingLayout
    let page: UnsafeMutableRawPointer
    let indices: RingIndices
    /// Requests written but not yet published, and responses taken.
    public private(set) var requestsProduced: UInt32 = 0
    public private(set) var responsesConsumed: UInt32 = 0

    /// Sets up a fresh shared ring in `page` (zeroed header, both events 1)
    /// and its frontend. `page` must stay mapped while the ring is used.
    public init?(initializing page: UnsafeMutableRawPointer, pageSize: Int) {
        self.init(initializing: page, pageSize: pageSize, startIndex: 0)
    }

    /// `startIndex` other than 0: for tests of the 2^32 wrap.
    init?(initializing page: UnsafeMutableRawPointer, pageSize: Int, startIndex: UInt32) {
        guard let layout = RingLayout(pageSize: pageSize, slotSize: max(MemoryLayout<Request>.stride, MemoryLayout<Response>.stride)) else { return nil }
        self.layout = layout
        self.page = page
        // SAFETY: the caller gives a page of pageSize bytes; the header is its start.
        indices = RingIndices(header: page.bindMemory(to: tern_ring_header.self, capacity: 1))
        page.initializeMemory(as: UInt8.self, repeating: 0, count: RingLayout.headerSize)
        indices.requestProducer = startIndex
        indices.responseProducer = startIndex
        indices.requestEvent = startIndex &+ 1
        indices.responseEvent = startIndex &+ 1
        requestsProduced = startIndex
        responsesConsumed = startIndex
    }

    public var freeSlots: UInt32 { layout.entries &- (requestsProduced &- responsesConsumed) }

    /// Writes a request into the next slot (not yet visible to the backend).
    public mutating func push(_ request: Request) throws(RingError) {
        guard freeSlots > 0 else { throw .full }
        // SAFETY: offset(ofSlot:) masks the index into the slot array,
        // which RingLayout fitted in the page; a slot holds a Request's
        // stride; storeBytes needs no alignment.
        page.storeBytes(of: request, toByteOffset: layout.offset(ofSlot: requestsProduced), as: Request.self)
        requestsProduced &+= 1
    }

    /// Publishes pushed requests; true if the backend asked to be notified.
    public mutating func publish() -> Bool {
        let old = indices.requestProducer
        tern_ring_wmb()                      // the requests before the index
        indices.requestProducer = requestsProduced
        tern_ring_mb()                       // the index before reading the event
        return RingIndices.shouldNotify(old: old, new: requestsProduced, event: indices.requestEvent)
    }

    /// The next response, if one is there. The backend cannot have answered
    /// more requests than were published.
    public mutating func takeResponse() throws(RingError) -> Response? {
        guard try unconsumedResponses() > 0 else { return nil }
        tern_ring_rmb()                      // the index before the response
        // SAFETY: as in push: a whole slot inside the page; loadUnaligned
        // needs no alignment. The peer wrote these bytes: Response must be
        // a type any bytes are valid for (a C struct of integers).
        let response = page.loadUnaligned(fromByteOffset: layout.offset(ofSlot: responsesConsumed), as: Response.self)
        responsesConsumed &+= 1
        return response
    }

    /// Before sleeping: ask to be notified of the next response, then look
    /// once more (io/ring.h RING_FINAL_CHECK_FOR_RESPONSES). True if there
    /// is one to take.
    public mutating func finalCheckForResponses() throws(RingError) -> Bool {
        if try unconsumedResponses() > 0 { return true }
        indices.responseEvent = responsesConsumed &+ 1
        tern_ring_mb()
        return try unconsumedResponses() > 0
    }

    /// Responses published and not taken, read once from the backend's
    /// index and checked: it cannot have answered more requests than were
    /// published.
    func unconsumedResponses() throws(RingError) -> UInt32 {
        let unconsumed = indices.responseProducer &- responsesConsumed
        let outstanding = requestsProduced &- responsesConsumed
        guard unconsumed <= outstanding else { throw .corruptIndices(unconsumed: unconsumed, limit: outstanding) }
        return unconsumed
    }
}

/// The backend's end: requests in, responses out.
public struct BackRing<Request: BitwiseCopyable, Response: BitwiseCopyable> {
    public let layout: RingLayout
    let page: UnsafeMutableRawPointer
    let indices: RingIndices
    public private(set) var requestsConsumed: UInt32 = 0
    public private(set) var responsesProduced: UInt32 = 0

    /// Attaches to a ring the frontend initialised: requests already
    /// published and not answered will be taken (io/ring.h BACK_RING_ATTACH).
    public init?(attaching page: UnsafeMutableRawPointer, pageSize: Int) {
        guard let layout = RingLayout(pageSize: pageSize, slotSize: max(MemoryLayout<Request>.stride, MemoryLayout<Response>.stride)) else { return nil }
        self.layout = layout
        self.page = page
        // SAFETY: the caller gives a page of pageSize bytes; the header is its start.
        indices = RingIndices(header: page.bindMemory(to: tern_ring_header.self, capacity: 1))
        responsesProduced = indices.responseProducer
        requestsConsumed = responsesProduced
    }

    /// Requests the frontend may have in flight: the slots not holding an
    /// unread response.
    var requestLimit: UInt32 { layout.entries &- (requestsConsumed &- responsesProduced) }

    /// The next request, if one is there. A frontend claiming more than
    /// the free slots is corrupt (io/ring.h RING_REQUEST_CONS_OVERFLOW).
    public mutating func takeRequest() throws(RingError) -> Request? {
        guard try unconsumedRequests() > 0 else { return nil }
        tern_ring_rmb()
        // SAFETY: offset(ofSlot:) masks the index into the slot array inside
        // the page; loadUnaligned needs no alignment. The peer wrote these
        // bytes: Request must be a type any bytes are valid for (C structs).
        let request = page.loadUnaligned(fromByteOffset: layout.offset(ofSlot: requestsConsumed), as: Request.self)
        requestsConsumed &+= 1
        return request
    }

    /// Writes a response into the slot of the oldest unanswered request.
    public mutating func push(_ response: Response) throws(RingError) {
        guard responsesProduced != requestsConsumed else { throw .full }   // nothing to answer
        // SAFETY: offset(ofSlot:) masks the index into the page's slot array.
        page.storeBytes(of: response, toByteOffset: layout.offset(ofSlot: responsesProduced), as: Response.self)
        responsesProduced &+= 1
    }

    /// Publishes pushed responses; true if the frontend asked to be notified.
    public mutating func publish() -> Bool {
        let old = indices.responseProducer
        tern_ring_wmb()
        indices.responseProducer = responsesProduced
        tern_ring_mb()
        return RingIndices.shouldNotify(old: old, new: responsesProduced, event: indices.responseEvent)
    }

    /// Before sleeping: ask to be notified of the next request, then look
    /// once more (RING_FINAL_CHECK_FOR_REQUESTS).
    public mutating func finalCheckForRequests() throws(RingError) -> Bool {
        if try unconsumedRequests() > 0 { return true }
        indices.requestEvent = requestsConsumed &+ 1
        tern_ring_mb()
        return try unconsumedRequests() > 0
    }

    /// Requests published and not taken, read once from the frontend's
    /// index and checked against the slots it may use.
    public func unconsumedRequests() throws(RingError) -> UInt32 {
        let unconsumed = indices.requestProducer &- requestsConsumed
        guard unconsumed <= requestLimit else { throw .corruptIndices(unconsumed: unconsumed, limit: requestLimit) }
        return unconsumed
    }
}
