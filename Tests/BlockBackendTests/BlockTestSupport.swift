import TernABI
@testable import TernBlock

/// Requests as a frontend writes them, and a ring in test memory.
enum Make {
    static func segment(_ gref: UInt32 = 100, _ first: UInt8 = 0, _ last: UInt8 = 7) -> BlockSegment {
        BlockSegment(grantRef: gref, firstSector: first, lastSector: last)
    }

    static func request(_ operation: Int32, id: UInt64 = 7, sector: UInt64 = 0, segments: [BlockSegment],
                        count: UInt8? = nil) -> tern_blkif_request {
        var raw = Array(segments.map(\.raw).prefix(Int(TERN_BLKIF_MAX_SEGMENTS)))
        raw += Array(repeating: tern_blkif_segment(), count: Int(TERN_BLKIF_MAX_SEGMENTS) - raw.count)
        var request = tern_blkif_request()
        request.operation = UInt8(operation)
        request.nr_segments = count ?? UInt8(segments.count)
        request.id = id
        request.sector_number = sector
        request.seg = (raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7], raw[8], raw[9], raw[10])
        return request
    }

    static func copy(_ operation: Int32, id: UInt64 = 7, sector: UInt64 = 0, segments: [BlockSegment],
                     count: UInt8? = nil) -> BlockRequestCopy {
        BlockRequestCopy(request(operation, id: id, sector: sector, segments: segments, count: count))
    }

    static func discard(sector: UInt64, count: UInt64, flag: UInt8 = 0, id: UInt64 = 9) -> BlockRequestCopy {
        var discard = tern_blkif_request_discard()
        discard.operation = UInt8(TERN_BLKIF_OP_DISCARD)
        discard.flag = flag
        discard.id = id
        discard.sector_number = sector
        discard.nr_sectors = count
        return BlockRequestCopy(discard)
    }

    static func indirect(_ innerOperation: Int32, segments: UInt16, sector: UInt64 = 0, id: UInt64 = 11,
                         refs: [UInt32] = [201, 202, 203, 204, 205, 206, 207, 208]) -> BlockRequestCopy {
        var indirect = tern_blkif_request_indirect()
        indirect.operation = UInt8(TERN_BLKIF_OP_INDIRECT)
        indirect.indirect_op = UInt8(innerOperation)
        indirect.nr_segments = segments
        indirect.id = id
        indirect.sector_number = sector
        indirect.indirect_grefs = (refs[0], refs[1], refs[2], refs[3], refs[4], refs[5], refs[6], refs[7])
        return BlockRequestCopy(indirect)
    }
}

/// A blkif ring in page-aligned test memory, with the frontend's view.
final class TestRing {
    let geometry: BlockRingGeometry
    let memory: UnsafeMutableRawPointer

    init(order: UInt32 = 0) {
        geometry = BlockRingGeometry(order: order)!
        memory = .allocate(byteCount: geometry.bytes, alignment: Int(TERN_BLKIF_PAGE_SIZE))
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: geometry.bytes)
    }

    deinit { memory.deallocate() }

    var header: UnsafeMutablePointer<tern_ring_header> { memory.assumingMemoryBound(to: tern_ring_header.self) }

    func slot(_ index: UInt32) -> UnsafeMutableRawPointer { memory + geometry.offset(ofSlot: index) }

    func write(_ request: tern_blkif_request, at index: UInt32) {
        slot(index).storeBytes(of: request, as: tern_blkif_request.self)
    }

    /// Writes the requests from index `first` on and publishes them.
    func publish(_ requests: [tern_blkif_request], from first: UInt32 = 0) {
        for (offset, request) in requests.enumerated() { write(request, at: first &+ UInt32(offset)) }
        header.pointee.req_prod = first &+ UInt32(requests.count)
    }

    func bytes(ofSlot index: UInt32, count: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: slot(index), count: count))
    }
}

extension RequestBatch {
    var requests: [BlockRequestCopy]? {
        if case .requests(let requests) = self { return requests }
        return nil
    }
    var broken: RingBroken? {
        if case .ringBroken(let broken) = self { return broken }
        return nil
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
    var success: Success? {
        if case .success(let success) = self { return success }
        return nil
    }
}
