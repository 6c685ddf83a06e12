import TernABI

/// A request as the backend knows it: its ring slot copied exactly once
/// (`BlockRingConsumer.takeBatch`, a volatile copy, Xen XSA-155), so
/// nothing the frontend writes afterwards can change it. It holds no
/// pointer to shared memory: `RequestValidator` and everything after it
/// see only this value.
public struct BlockRequestCopy {
    /// The private copy of the slot; the union's views read it as a
    /// direct, discard or indirect request.
    let slot: tern_blkif_slot

    /// Copies the slot at `slotAddress` (a whole tern_blkif_slot inside a
    /// mapped ring) with the one volatile read.
    init(copying slotAddress: UnsafeRawPointer) {
        var copy = tern_blkif_slot()
        // SAFETY: the consumer passes the start of a slot inside the ring it
        // keeps mapped (offset(ofSlot:) masks the index); slots are 8-byte
        // aligned (page + 64 + 112 * n) and any bytes are a valid C union of
        // integers. The frontend may write it concurrently: hence one
        // volatile copy, and no other read of it.
        tern_blkif_copy_request(&copy, slotAddress.assumingMemoryBound(to: tern_blkif_slot.self))
        slot = copy
    }

    /// A request made in private memory (a frontend's, a test's).
    public init(_ request: tern_blkif_request) { slot = tern_blkif_slot(request: request) }
    public init(_ discard: tern_blkif_request_discard) { slot = tern_blkif_slot(discard: discard) }
    public init(_ indirect: tern_blkif_request_indirect) { slot = tern_blkif_slot(indirect: indirect) }

    /// TERN_BLKIF_OP_*, unchecked.
    public var operationCode: UInt8 { slot.request.operation }
    /// The frontend's id, at the same offset in every request layout.
    public var id: UInt64 { slot.request.id }
    /// What the response's `operation` echoes: the request's, or for an
    /// INDIRECT request its `indirect_op` (as Linux's blkback answers).
    public var responseOperation: UInt8 {
        operationCode == UInt8(TERN_BLKIF_OP_INDIRECT) ? slot.indirect.indirect_op : operationCode
    }

    var request: tern_blkif_request { slot.request }
    var discard: tern_blkif_request_discard { slot.discard }
    var indirect: tern_blkif_request_indirect { slot.indirect }

    /// The first `count` (at most TERN_BLKIF_MAX_SEGMENTS) direct segments
    /// of the copy.
    func directSegments(count: Int) -> [BlockSegment] {
        let s = slot.request.seg
        let all = [s.0, s.1, s.2, s.3, s.4, s.5, s.6, s.7, s.8, s.9, s.10]
        return all.prefix(count).map(BlockSegment.init)
    }

    /// All TERN_BLKIF_MAX_INDIRECT_PAGES indirect_grefs of the copy.
    var indirectPageRefs: [UInt32] {
        let g = slot.indirect.indirect_grefs
        return [g.0, g.1, g.2, g.3, g.4, g.5, g.6, g.7]
    }
}

extension BlockRequestCopy: Equatable {
    /// Byte for byte, all 112 bytes of the copies.
    public static func == (lhs: BlockRequestCopy, rhs: BlockRequestCopy) -> Bool {
        withUnsafeBytes(of: lhs.slot) { left in withUnsafeBytes(of: rhs.slot) { right in left.elementsEqual(right) } }
    }
}
