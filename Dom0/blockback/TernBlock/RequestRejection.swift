import TernABI

/// An optional operation a request needs and the backend may not offer.
public enum BlockOptionalOperation: String, Equatable {
    case writeBarrier = "write barrier"
    case flush = "flush"
    case discard = "discard"
    case secureDiscard = "secure discard"
    case indirect = "indirect segments"
}

/// Why a request was refused: one per check, each with the values that
/// failed it, for a one-line log and for tests. The frontend sees only the
/// response's status (`status`).
public enum RequestRejection: Error, Equatable {
    /// An operation number blkif does not define (or Xen's RESERVED_1).
    case unknownOperation(UInt8)
    /// A defined operation or flag the backend does not offer.
    case notOffered(BlockOptionalOperation)
    /// nr_segments outside what the operation allows.
    case badSegmentCount(count: Int, allowed: ClosedRange<Int>)
    /// A segment whose sectors are reversed or leave its page.
    case badSegmentSectors(segment: Int, first: UInt8, last: UInt8)
    /// A start or length not a multiple of the disk's logical sector.
    case misaligned(sector: UInt64, count: UInt64, sectorSize: UInt32)
    /// [start, start + count) wraps around or ends past the disk.
    case beyondDisk(start: UInt64, count: UInt64, diskSectors: UInt64)
    /// A write, flush or discard on a read-only disk.
    case writeToReadOnly(operation: UInt8)
    /// An INDIRECT request whose indirect_op is not READ or WRITE.
    case badIndirectOperation(UInt8)
    /// DISCARD flag bits blkif does not define.
    case badDiscardFlags(UInt8)
    /// An INDIRECT request's segments, copied from its pages, are not the
    /// number its header announced (the backend's own mistake).
    case indirectSegmentsMissing(expected: Int, copied: Int)

    /// The response status: EOPNOTSUPP for what is not offered, ERROR for
    /// a malformed request (Linux's blkback answers the same way).
    public var status: BlockStatus {
        switch self {
        case .unknownOperation, .notOffered: return .notSupported
        default: return .error
        }
    }
}

extension RequestRejection: CustomStringConvertible {
    /// One line, for the backend's log.
    public var description: String {
        switch self {
        case .unknownOperation(let code):
            return "unknown operation \(code)"
        case .notOffered(let operation):
            return "\(operation.rawValue) not offered"
        case .badSegmentCount(let count, let allowed):
            return "\(count) segments, allowed \(allowed.lowerBound)...\(allowed.upperBound)"
        case .badSegmentSectors(let segment, let first, let last):
            return "segment \(segment) sectors \(first)...\(last), need first <= last <= \(TERN_BLKIF_SECTORS_PER_PAGE - 1)"
        case .misaligned(let sector, let count, let sectorSize):
            return "sectors \(sector) +\(count) not aligned to the \(sectorSize)-byte sector"
        case .beyondDisk(let start, let count, let diskSectors):
            return "sectors \(start) +\(count) beyond the disk's \(diskSectors)"
        case .writeToReadOnly(let operation):
            return "operation \(operation) on a read-only disk"
        case .badIndirectOperation(let code):
            return "indirect operation \(code), need read or write"
        case .badDiscardFlags(let flags):
            return "discard flags \(flags) unknown"
        case .indirectSegmentsMissing(let expected, let copied):
            return "\(copied) indirect segments copied, \(expected) announced"
        }
    }
}
