import TernCore

/// Physical memory as the hypervisor reaches it on bare metal: through a
/// window `virtualBase + physical` that is valid for [0, limit).
///  - early: the identity map of Boot/entry.asm (base 0, limit 4 GiB);
///  - later: the direct map (HostPaging), limited to the RAM it maps.
struct PhysicalWindow: PhysicalMemory {
    let virtualBase: UInt64
    let limit: UInt64
    /// The direct map covers RAM only (not holes, not the image): ask
    /// HostPaging. The early identity map covers everything below `limit`.
    let checkRAM: Bool

    static let early = PhysicalWindow(virtualBase: 0, limit: Layout.earlyIdentityMapEnd, checkRAM: false)

    static var directMap: PhysicalWindow {
        PhysicalWindow(virtualBase: Layout.directMapBase, limit: Platform.directMapEnd, checkRAM: true)
    }

    func address(of physical: UInt64, count: Int) -> UInt64? {
        guard count >= 0, physical < limit, limit - physical >= UInt64(count) else { return nil }
        if checkRAM && !HostPaging.isDirectMapped(PhysicalRange(start: physical, end: physical + UInt64(count))) {
            return nil
        }
        return virtualBase &+ physical
    }

    func bytes(at address: UInt64, count: Int) -> UnsafeRawBufferPointer? {
        guard let virtual = self.address(of: address, count: count) else { return nil }
        // SAFETY: the range was just checked to lie inside the window's mapping.
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(virtual)), count: count)
    }

    func mutableBytes(at address: UInt64, count: Int) -> UnsafeMutableRawBufferPointer? {
        guard let virtual = self.address(of: address, count: count) else { return nil }
        // SAFETY: as above. Callers write only what is theirs to write: frames
        // Tern allocated (tables, VMCBs, bitmap) or a domain's, via GuestMemory.
        return UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(virtual)), count: count)
    }

    /// A frame's contents, or nil if the frame is not mapped.
    func frame(_ physical: UInt64) -> UnsafeMutableRawPointer? {
        mutableBytes(at: physical, count: Int(Layout.pageSize))?.baseAddress
    }
}
