/// Data in or out of the disk.
public enum TransferDirection: Equatable {
    case read
    case write
}

/// A checked read or write: every segment inside its page, aligned, and
/// [startSector, startSector + sectorCount) inside the disk.
public struct BlockTransfer: Equatable {
    public let direction: TransferDirection
    public let startSector: UInt64
    public let segments: [BlockSegment]
    /// Sectors of all segments together (512-byte units).
    public let sectorCount: UInt64
    /// FLUSH_DISKCACHE with data: make the write durable before answering
    /// (write, then fdatasync: covers the preflush and FUA frontends use
    /// it for).
    public let durable: Bool
}

/// A checked DISCARD: [startSector, startSector + sectorCount) inside the disk.
public struct BlockDiscard: Equatable {
    public let startSector: UInt64
    public let sectorCount: UInt64
    public let secure: Bool
}

/// A checked INDIRECT header: its segments are still in the frontend's
/// indirect pages. Map `pageRefs`, copy the segments once
/// (`IndirectSegments.copy`), then `RequestValidator.validate(_:segments:)`.
public struct IndirectRequest: Equatable {
    public let direction: TransferDirection
    public let startSector: UInt64
    public let segmentCount: Int
    /// The first (segmentCount + 511) / 512 indirect_grefs.
    public let pageRefs: [UInt32]
}

/// What a valid request asks the backend to do.
public enum BlockCommand: Equatable {
    case transfer(BlockTransfer)
    /// FLUSH_DISKCACHE without data: fdatasync.
    case flush
    case discard(BlockDiscard)
    case indirect(IndirectRequest)
}
