import TernABI

/// The words of a split device's control page the two ends keep writing
/// (the link's states, and backend_error where the device's layout puts
/// it): each access one volatile load or store (tern/ring.h), so neither
/// side's compiler caches what the other writes.
public struct ControlLink {
    let link: UnsafeMutablePointer<tern_device_control>
    let error: UnsafeMutablePointer<UInt32>

    /// `control` is the mapped control page (a whole page, page aligned):
    /// struct tern_device_control first (every split device's), its
    /// backend_error `backendErrorOffset` bytes in.
    public init(_ control: UnsafeMutableRawPointer, backendErrorOffset: Int) {
        // SAFETY: every control page starts with tern_device_control
        // (tern/device.h); the mapping outlives this view (the servers' run).
        link = control.bindMemory(to: tern_device_control.self, capacity: 1)
        // SAFETY: backend_error is a u32 inside the page's struct (the
        // offset from MemoryLayout of tern_blkif_control / tern_netif_control).
        error = (control + backendErrorOffset).bindMemory(to: UInt32.self, capacity: 1)
    }

    /// A disk's (tern/blkif.h).
    public static let blkifErrorOffset = MemoryLayout<tern_blkif_control>.offset(of: \.backend_error)!
    /// An interface's (tern/netif.h).
    public static let netifErrorOffset = MemoryLayout<tern_netif_control>.offset(of: \.backend_error)!

    public var frontendState: UInt32 {
        // SAFETY: a u32 of the mapped page (init); one volatile read.
        tern_ring_load(&link.pointee.frontend_state)
    }

    public var backendState: UInt32 {
        // SAFETY: as above.
        get { tern_ring_load(&link.pointee.backend_state) }
        // SAFETY: as above; one volatile write.
        nonmutating set { tern_ring_store(&link.pointee.backend_state, newValue) }
    }

    public var backendError: UInt32 {
        // SAFETY: as above.
        get { tern_ring_load(error) }
        // SAFETY: as above; one volatile write.
        nonmutating set { tern_ring_store(error, newValue) }
    }
}

extension ControlLink {
    /// Closes the device for a broken protocol: backend_error, then
    /// backend_state CLOSED (after it), and a notification on `events`.
    public func close(error: UInt32, notifying events: EventChannel) {
        backendError = error
        tern_ring_wmb()
        backendState = UInt32(TERN_LINK_CLOSED)
        events.notify()
    }
}
