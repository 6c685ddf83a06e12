import TernGuestC

/// A split device's control-page layout (tern_blkif_control,
/// tern_netif_control): struct tern_device_control first, as every split
/// device's, then the backend's `version` and, further in, its
/// `backend_error`; where they are is the layout's (MemoryLayout).
protocol DeviceControlLayout {
    static var versionOffset: Int { get }
    static var backendErrorOffset: Int { get }
}

extension tern_blkif_control: DeviceControlLayout {
    static var versionOffset: Int { MemoryLayout<tern_blkif_control>.offset(of: \.version)! }
    static var backendErrorOffset: Int { MemoryLayout<tern_blkif_control>.offset(of: \.backend_error)! }
}

extension tern_netif_control: DeviceControlLayout {
    static var versionOffset: Int { MemoryLayout<tern_netif_control>.offset(of: \.version)! }
    static var backendErrorOffset: Int { MemoryLayout<tern_netif_control>.offset(of: \.backend_error)! }
}

/// This domain's view of a split device's control page (BlockControl,
/// NetControl): the words the backend writes, each read once, volatile
/// (tern/ring.h), so the compiler never caches what the other side writes.
protocol DeviceControl {
    associatedtype Layout: DeviceControlLayout
    var page: UnsafeMutablePointer<Layout> { get }
    init(page: UnsafeMutablePointer<Layout>)
}

extension DeviceControl {
    /// `raw` is this domain's control page for the device (the device
    /// page's control_gpa, identity-mapped, a whole page).
    init(_ raw: UnsafeMutableRawPointer) {
        // SAFETY: a whole page of this domain's (above); the layout is its
        // first bytes (at most 256, tern/device.h).
        self.init(page: raw.bindMemory(to: Layout.self, capacity: 1))
    }

    /// The backend's: non-zero once its half of the page is there.
    var version: UInt32 {
        // SAFETY: a u32 of the mapped control page (init), at the layout's offset; one volatile read.
        tern_ring_load((UnsafeMutableRawPointer(page) + Layout.versionOffset).assumingMemoryBound(to: UInt32.self))
    }

    var backendState: UInt32 {
        // SAFETY: struct tern_device_control starts every control page (the layout's first field); one volatile read.
        tern_ring_load(&UnsafeMutableRawPointer(page).assumingMemoryBound(to: tern_device_control.self).pointee.backend_state)
    }

    var backendError: UInt32 {
        // SAFETY: a u32 of the mapped control page, at the layout's offset; one volatile read.
        tern_ring_load((UnsafeMutableRawPointer(page) + Layout.backendErrorOffset).assumingMemoryBound(to: UInt32.self))
    }
}
