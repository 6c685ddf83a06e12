import TernABI

/// Checks a request's private copy against the disk (docs/abi.md, "Block
/// devices (blkif)", what the backend validates). It never sees shared
/// memory: its input is a `BlockRequestCopy`, or segments already copied
/// out of indirect pages.
public struct RequestValidator {
    public let disk: BlockDiskProperties

    public init(disk: BlockDiskProperties) { self.disk = disk }

    static let directSegments = Int(TERN_BLKIF_MAX_SEGMENTS)

    /// The command the request asks for, or why it is refused.
    public func validate(_ request: BlockRequestCopy) -> Result<BlockCommand, RequestRejection> {
        switch Int32(request.operationCode) {
        case TERN_BLKIF_OP_READ:
            return directTransfer(request, direction: .read, durable: false, allowedSegments: 1...Self.directSegments)
        case TERN_BLKIF_OP_WRITE:
            return directTransfer(request, direction: .write, durable: false, allowedSegments: 1...Self.directSegments)
        case TERN_BLKIF_OP_FLUSH_DISKCACHE:
            guard disk.features.contains(.flush) else { return .failure(.notOffered(.flush)) }
            guard request.request.nr_segments > 0 else {
                return disk.readOnly ? .failure(.writeToReadOnly(operation: request.operationCode)) : .success(.flush)
            }
            return directTransfer(request, direction: .write, durable: true, allowedSegments: 0...Self.directSegments)
        case TERN_BLKIF_OP_WRITE_BARRIER:
            return .failure(.notOffered(.writeBarrier))
        case TERN_BLKIF_OP_DISCARD:
            return discard(request)
        case TERN_BLKIF_OP_INDIRECT:
            return indirectHeader(request)
        default:
            return .failure(.unknownOperation(request.operationCode))
        }
    }

    /// An INDIRECT request's transfer, from its checked header and the
    /// segments copied once out of its pages.
    public func validate(_ indirect: IndirectRequest, segments: [BlockSegment]) -> Result<BlockTransfer, RequestRejection> {
        guard segments.count == indirect.segmentCount else {
            return .failure(.indirectSegmentsMissing(expected: indirect.segmentCount, copied: segments.count))
        }
        return transfer(direction: indirect.direction, operation: UInt8(TERN_BLKIF_OP_INDIRECT),
                        start: indirect.startSector, segments: segments, durable: false)
    }

    func directTransfer(_ request: BlockRequestCopy, direction: TransferDirection, durable: Bool,
                        allowedSegments: ClosedRange<Int>) -> Result<BlockCommand, RequestRejection> {
        let count = Int(request.request.nr_segments)
        guard allowedSegments.contains(count) else {
            return .failure(.badSegmentCount(count: count, allowed: allowedSegments))
        }
        return transfer(direction: direction, operation: request.operationCode, start: request.request.sector_number,
                        segments: request.directSegments(count: count), durable: durable).map { .transfer($0) }
    }

    /// The checks every read and write shares, direct or indirect.
    func transfer(direction: TransferDirection, operation: UInt8, start: UInt64, segments: [BlockSegment],
                  durable: Bool) -> Result<BlockTransfer, RequestRejection> {
        if direction == .write && disk.readOnly { return .failure(.writeToReadOnly(operation: operation)) }
        var total: UInt64 = 0
        for (index, segment) in segments.enumerated() {
            guard segment.isWithinPage else {
                return .failure(.badSegmentSectors(segment: index, first: segment.firstSector, last: segment.lastSector))
            }
            guard isAligned(UInt64(segment.firstSector)), isAligned(segment.sectorCount) else {
                return .failure(.misaligned(sector: UInt64(segment.firstSector), count: segment.sectorCount,
                                            sectorSize: disk.sectorSize))
            }
            total += segment.sectorCount   // at most 4096 segments of 8 sectors: no overflow
        }
        if let rejection = checkRange(start: start, count: total) { return .failure(rejection) }
        return .success(BlockTransfer(direction: direction, startSector: start, segments: segments,
                                      sectorCount: total, durable: durable))
    }

    func discard(_ request: BlockRequestCopy) -> Result<BlockCommand, RequestRejection> {
        let discard = request.discard
        guard disk.features.contains(.discard) else { return .failure(.notOffered(.discard)) }
        let secureFlag = UInt8(TERN_BLKIF_DISCARD_SECURE)
        guard discard.flag & ~secureFlag == 0 else { return .failure(.badDiscardFlags(discard.flag)) }
        let secure = discard.flag & secureFlag != 0
        if secure && !disk.features.contains(.secureDiscard) { return .failure(.notOffered(.secureDiscard)) }
        if disk.readOnly { return .failure(.writeToReadOnly(operation: request.operationCode)) }
        if let rejection = checkRange(start: discard.sector_number, count: discard.nr_sectors) { return .failure(rejection) }
        return .success(.discard(BlockDiscard(startSector: discard.sector_number, sectorCount: discard.nr_sectors,
                                              secure: secure)))
    }

    func indirectHeader(_ request: BlockRequestCopy) -> Result<BlockCommand, RequestRejection> {
        let indirect = request.indirect
        guard disk.maxIndirectSegments > 0 else { return .failure(.notOffered(.indirect)) }
        let direction: TransferDirection
        switch Int32(indirect.indirect_op) {
        case TERN_BLKIF_OP_READ: direction = .read
        case TERN_BLKIF_OP_WRITE: direction = .write
        default: return .failure(.badIndirectOperation(indirect.indirect_op))
        }
        let count = Int(indirect.nr_segments)
        let allowed = 1...Int(disk.maxIndirectSegments)
        guard allowed.contains(count) else { return .failure(.badSegmentCount(count: count, allowed: allowed)) }
        if direction == .write && disk.readOnly {
            return .failure(.writeToReadOnly(operation: request.operationCode))
        }
        if !isAligned(indirect.sector_number) {
            return .failure(.misaligned(sector: indirect.sector_number, count: 0, sectorSize: disk.sectorSize))
        }
        let pages = IndirectSegments.pagesNeeded(forSegments: count)
        let refs = Array(request.indirectPageRefs.prefix(pages))
        return .success(.indirect(IndirectRequest(direction: direction, startSector: indirect.sector_number,
                                                  segmentCount: count, pageRefs: refs)))
    }

    /// nil when [start, start + count) is aligned, does not wrap and ends
    /// inside the disk.
    func checkRange(start: UInt64, count: UInt64) -> RequestRejection? {
        guard isAligned(start), isAligned(count) else {
            return .misaligned(sector: start, count: count, sectorSize: disk.sectorSize)
        }
        let (end, overflow) = start.addingReportingOverflow(count)
        guard !overflow, end <= disk.sectors else {
            return .beyondDisk(start: start, count: count, diskSectors: disk.sectors)
        }
        return nil
    }

    func isAligned(_ sectors: UInt64) -> Bool { sectors % disk.sectorsPerLogicalSector == 0 }
}
