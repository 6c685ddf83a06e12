import TernABI

/// One tx ring slot as the backend copied it out of the ring, once
/// (tern_netif_copy_tx_request; Xen XSA-155): the same 12 bytes read as a
/// request or, after a request with TERN_NETTXF_EXTRA_INFO, as extra
/// information. Nothing here reads shared memory.
public struct TxSlot: Equatable {
    public let request: tern_netif_tx_request

    public init(_ request: tern_netif_tx_request) { self.request = request }

    public init(gref: UInt32, offset: UInt16, flags: UInt16, id: UInt16, size: UInt16) {
        request = tern_netif_tx_request(gref: gref, offset: offset, flags: flags, id: id, size: size)
    }

    /// The same bytes as an extra-info slot.
    public var extra: tern_netif_extra_info {
        var request = self.request
        return withUnsafeBytes(of: &request) { bytes in
            // SAFETY: a tx slot is 12 bytes (netif.h asserts it); the extra
            // info is its first 8, any bit pattern valid (u8, u8, u16[3]).
            bytes.loadUnaligned(as: tern_netif_extra_info.self)
        }
    }

    public var hasMoreData: Bool { request.flags & UInt16(TERN_NETTXF_MORE_DATA) != 0 }
    public var hasExtraInfo: Bool { request.flags & UInt16(TERN_NETTXF_EXTRA_INFO) != 0 }

    public static func == (a: TxSlot, b: TxSlot) -> Bool {
        a.request.gref == b.request.gref && a.request.offset == b.request.offset && a.request.flags == b.request.flags
            && a.request.id == b.request.id && a.request.size == b.request.size
    }
}
