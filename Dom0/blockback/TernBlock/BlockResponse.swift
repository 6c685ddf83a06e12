import TernABI

/// A response's status: TERN_BLKIF_RSP_*, Xen's values.
public struct BlockStatus: Equatable, CustomStringConvertible {
    public let rawValue: Int16

    public static let okay = BlockStatus(rawValue: Int16(TERN_BLKIF_RSP_OKAY))
    public static let error = BlockStatus(rawValue: Int16(TERN_BLKIF_RSP_ERROR))
    public static let notSupported = BlockStatus(rawValue: Int16(TERN_BLKIF_RSP_EOPNOTSUPP))

    public var description: String {
        switch self {
        case .okay: return "okay"
        case .error: return "error"
        case .notSupported: return "not supported"
        default: return "status \(rawValue)"
        }
    }
}

/// A response, built from the request's copy: its id and the operation
/// the frontend expects back. Written into the ring field by field, every
/// byte, reserved ones zero (`tern_blkif_write_response`; Xen XSA-216:
/// no stale backend bytes in the ring).
public struct BlockResponse: Equatable {
    public let id: UInt64
    public let operation: UInt8
    public let status: BlockStatus

    public init(answering request: BlockRequestCopy, status: BlockStatus) {
        self.init(id: request.id, operation: request.responseOperation, status: status)
    }

    public init(id: UInt64, operation: UInt8, status: BlockStatus) {
        self.id = id
        self.operation = operation
        self.status = status
    }

    /// Writes all 16 bytes at `slotAddress`, the start of a ring slot.
    func write(to slotAddress: UnsafeMutableRawPointer) {
        // SAFETY: the consumer passes the start of a slot inside the ring it
        // keeps mapped (offset(ofSlot:) masks the index), 8-byte aligned;
        // a slot holds a 16-byte response. Volatile stores, each field once.
        tern_blkif_write_response(slotAddress.assumingMemoryBound(to: tern_blkif_response.self),
                                  id, operation, status.rawValue)
    }
}
