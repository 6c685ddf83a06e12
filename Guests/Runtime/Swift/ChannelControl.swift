import TernGuestC

/// A channel's control page (tern/device.h, struct tern_device_control):
/// the frontend's page, granted to the backend, where each end writes its
/// TERN_LINK_* state and the frontend its ring's grant ref. The bytes
/// after the struct are the channel protocol's own (`protocolArea`); Tern
/// never reads them. Every field is read or written once per use
/// (volatile): the peer may change it at any time.
public struct ChannelControl {
    public let page: UnsafeMutablePointer<tern_device_control>

    public init(page: UnsafeMutableRawPointer) {
        // SAFETY: a whole page (the frontend's own or the backend's grant
        // mapping of it) that starts with struct tern_device_control.
        self.page = page.bindMemory(to: tern_device_control.self, capacity: 1)
    }

    // SAFETY (the three accessors): aligned u32 fields of the control page
    // (see init), each read or written once, volatile: the peer may too.
    public var frontendState: UInt32 {
        get { tern_ring_load(&page.pointee.frontend_state) }
        nonmutating set { tern_ring_store(&page.pointee.frontend_state, newValue) }
    }
    // SAFETY: as frontendState.
    public var backendState: UInt32 {
        get { tern_ring_load(&page.pointee.backend_state) }
        nonmutating set { tern_ring_store(&page.pointee.backend_state, newValue) }
    }
    // SAFETY: as frontendState.
    public var ringRef: UInt32 {
        get { tern_ring_load(&page.pointee.ring_ref) }
        nonmutating set { tern_ring_store(&page.pointee.ring_ref, newValue) }
    }

    /// The rest of the page, after struct tern_device_control.
    public var protocolArea: UnsafeMutableRawPointer {
        // SAFETY: one struct further is still inside the page (it is 16 bytes).
        UnsafeMutableRawPointer(page + 1)
    }
    public static let protocolAreaSize = Page.size - MemoryLayout<tern_device_control>.size
}
