import TernGuestC

/// This domain's device page (tern/device.h): the devices it uses
/// (frontend) and serves (backend), written by Tern, read-only here, read
/// as a sequence lock. TERN_VIRQ_DEVICES signals a change.
public enum Devices {
    /// The port bound to TERN_VIRQ_DEVICES (0: not yet), for `wait`.
    // SAFETY: one vCPU; only `wait`, in the guest's main flow, touches it
    // (the SDK's upcall entry does not).
    nonisolated(unsafe) static var changesPort: UInt32 = 0

    static var page: UnsafePointer<tern_device_page> {
        // SAFETY: Tern maps its device page read-only at device_page_gpa,
        // inside the identity map (abi.h); only read through this pointer.
        UnsafePointer(bitPattern: UInt(StartInfo.current.shared.device_page_gpa))!
    }

    /// Every entry, a consistent copy: the version is read before and
    /// after the entries, and the read repeated while it changed or was
    /// odd (Tern mid-update).
    public static func entries() -> [tern_device_entry] {
        // SAFETY: the device page (see `page`), once Tern says it has one.
        guard StartInfo.current.shared.device_page_gpa != 0, page.pointee.magic == TERN_DEVICE_PAGE_MAGIC else { return [] }
        let page = self.page
        while true {
            // SAFETY (the accessors below): fields of the device page (see `page`).
            let version = tern_ring_load(tern_guest_device_page_version(page))
            if version & 1 != 0 {
                tern_guest_pause()
                continue
            }
            tern_ring_rmb()
            let count = min(tern_ring_load(tern_guest_device_page_count(page)), UInt32(TERN_DEVICE_MAX))
            var copy: [tern_device_entry] = []
            // SAFETY: entry i < count <= TERN_DEVICE_MAX of the page (clamped above).
            for i in 0..<count { copy.append(tern_guest_device_entry(page, i).pointee) }
            tern_ring_rmb()
            if tern_ring_load(tern_guest_device_page_version(page)) == version { return copy }
        }
    }

    /// The page's version now (Tern changes it with every entry it adds,
    /// removes or changes; 0 without a device page): a look for a change
    /// that copies nothing.
    public static var version: UInt32 {
        guard StartInfo.current.shared.device_page_gpa != 0 else { return 0 }
        // SAFETY: a field of the device page (see `page`), there (checked above).
        return tern_ring_load(tern_guest_device_page_version(page))
    }

    /// The first entry `matches` accepts, now.
    public static func first(where matches: (tern_device_entry) -> Bool) -> tern_device_entry? {
        for entry in entries() where matches(entry) { return entry }
        return nil
    }

    /// Waits until an entry `matches` accepts is listed: TERN_VIRQ_DEVICES
    /// (bound at the first wait) wakes this domain when the page changes.
    /// The page is read again after binding, so no change is missed.
    public static func wait(where matches: (tern_device_entry) -> Bool) throws(TernError) -> tern_device_entry {
        while true {
            if let entry = first(where: matches) { return entry }
            try waitForChange()
        }
    }

    /// Waits until `device` is gone from the page (removed: a detach) or
    /// closed (its backend died).
    public static func waitUntilGone(_ device: tern_device_entry) throws(TernError) {
        while state(of: device) != UInt32(TERN_DEVICE_CLOSED) { try waitForChange() }
    }

    /// Waits for TERN_VIRQ_DEVICES (bound at the first wait, and then
    /// returning at once: the caller reads the page again, so no change
    /// is missed).
    static func waitForChange() throws(TernError) {
        if changesPort == 0 {
            changesPort = try Events.bindVirq(TERN_VIRQ_DEVICES)
            return
        }
        Events.wait(for: changesPort)
    }

    /// The active channel (TERN_DEVICE_CHANNEL) `devid` this domain uses.
    public static func channelFrontend(devid: UInt16) throws(TernError) -> tern_device_entry {
        try wait { $0.isChannel && !$0.isServedHere && $0.isActive && $0.devid == devid }
    }

    /// The first active channel this domain serves (optionally: `devid`).
    public static func channelBackend(devid: UInt16? = nil) throws(TernError) -> tern_device_entry {
        try wait { $0.isChannel && $0.isServedHere && $0.isActive && (devid == nil || $0.devid == devid!) }
    }

    /// The entry's state now (TERN_DEVICE_*), found again by type, devid,
    /// frontend and instance; TERN_DEVICE_CLOSED once it is gone from the
    /// page (or another instance took its place: removed and added again).
    public static func state(of device: tern_device_entry) -> UInt32 {
        let now = first { $0.type == device.type && $0.devid == device.devid && $0.frontend == device.frontend
                          && $0.instance == device.instance }
        return now?.state ?? UInt32(TERN_DEVICE_CLOSED)
    }
}

extension tern_device_entry {
    public var isChannel: Bool { type == UInt16(TERN_DEVICE_CHANNEL) }
    /// This domain is the device's backend (TERN_DEVICE_FLAG_BACKEND).
    public var isServedHere: Bool { flags & TERN_DEVICE_FLAG_BACKEND != 0 }
    public var isActive: Bool { state == UInt32(TERN_DEVICE_ACTIVE) }
    /// Which add of its type and devid this entry is (device.h, ABI 0.12):
    /// a device detached and attached again is another instance, even on
    /// the same control page, ref and port.
    public var instance: UInt32 { (flags & TERN_DEVICE_INSTANCE_MASK) >> UInt32(TERN_DEVICE_INSTANCE_SHIFT) }
}
