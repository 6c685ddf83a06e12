import TernABI
import TernRing

/// The words of a disk's control page the two ends keep writing (the
/// link's states, backend_error): each access one volatile load or store
/// (tern/ring.h), so neither side's compiler caches what the other writes.
struct ControlLink {
    let page: UnsafeMutablePointer<tern_blkif_control>

    /// `control` is the mapped control page (a whole page, page aligned).
    init(_ control: UnsafeMutableRawPointer) {
        // SAFETY: tern_blkif_control is the page's first 256 bytes
        // (tern/blkif.h); the mapping outlives this view (BlockServer.run).
        page = control.bindMemory(to: tern_blkif_control.self, capacity: 1)
    }

    var frontendState: UInt32 {
        // SAFETY: a u32 of the mapped page (init); one volatile read.
        tern_ring_load(&page.pointee.link.frontend_state)
    }

    var backendState: UInt32 {
        // SAFETY: as above.
        get { tern_ring_load(&page.pointee.link.backend_state) }
        // SAFETY: as above; one volatile write.
        nonmutating set { tern_ring_store(&page.pointee.link.backend_state, newValue) }
    }

    var backendError: UInt32 {
        // SAFETY: as above.
        get { tern_ring_load(&page.pointee.backend_error) }
        // SAFETY: as above; one volatile write.
        nonmutating set { tern_ring_store(&page.pointee.backend_error, newValue) }
    }
}
