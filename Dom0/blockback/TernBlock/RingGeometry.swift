import TernABI
import TernRing

/// A blkif ring's shape (docs/abi.md, "Block devices (blkif)"): 2^order
/// pages mapped contiguously, the tern/ring.h header, then 112-byte slots,
/// 32 << order of them.
public struct BlockRingGeometry: Equatable {
    public let order: UInt32
    public let layout: RingLayout

    public static let slotSize = MemoryLayout<tern_blkif_slot>.size
    public static let maxOrder = UInt32(TERN_BLKIF_MAX_RING_ORDER)

    /// nil for an order above TERN_BLKIF_MAX_RING_ORDER.
    public init?(order: UInt32) {
        guard order <= BlockRingGeometry.maxOrder,
              let layout = RingLayout(pageSize: Int(TERN_BLKIF_PAGE_SIZE) << order, slotSize: BlockRingGeometry.slotSize)
        else { return nil }
        self.order = order
        self.layout = layout
    }

    public var pages: Int { 1 << Int(order) }
    public var bytes: Int { Int(TERN_BLKIF_PAGE_SIZE) << Int(order) }
    public var entries: UInt32 { layout.entries }

    /// Byte offset in the ring of the slot a free-running index names.
    public func offset(ofSlot index: UInt32) -> Int {
        RingLayout.headerSize + Int(index & (entries - 1)) * BlockRingGeometry.slotSize
    }
}
