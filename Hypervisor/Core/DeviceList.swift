import TernABI

/// A domain's devices (tern/device.h, docs/abi.md "Device pages"): the
/// entries Tern keeps, and the read-only device page it writes them to
/// (a Tern frame a PV guest sees at the start of its Tern area; for a
/// Linux guest, a page of its own RAM its core module attached: Tern
/// writes it and never reads it back). The toolstack
/// changes them with TERN_HC_DEVICE_ADD/REMOVE; nothing the guest writes
/// can reach them.
public struct DeviceList {
    /// The device page in host memory; nil: the domain has none.
    public var page: UnsafeMutableRawPointer?
    /// Guest-physical address of the first of its control pages (one per
    /// frontend slot, in its own memory); slot 0 is the console's.
    public internal(set) var controlPagesGPA: UInt64 = 0
    public internal(set) var entries: [tern_device_entry] = []
    /// Frontend slots in use (bit n: control page n and grant ref n).
    var slotsInUse: UInt32 = 0
    var version: UInt32 = 0
    /// The last instance number given (TERN_DEVICE_INSTANCE_*: 1-65535).
    var lastInstance: UInt16 = 0

    public init() {}

    public static let maxEntries = Int(TERN_DEVICE_MAX)
    public static let slots = Int(TERN_DEVICE_CONTROL_PAGES)
    public static let consoleSlot = 0
    // struct tern_device_page's header (device.h): magic u64, version u32, count u32.
    static let versionOffset = MemoryLayout<UInt64>.size
    static let countOffset = versionOffset + MemoryLayout<UInt32>.size

    public mutating func setUp(page: UnsafeMutableRawPointer, controlPagesGPA: UInt64) {
        self.page = page
        self.controlPagesGPA = controlPagesGPA
        publish()
    }

    public func controlGPA(slot: Int) -> UInt64 { controlPagesGPA + UInt64(slot) * FrameAllocator.frameSize }

    /// The lowest free frontend slot (1...; 0 is the console's) whose
    /// grant ref no backend still has mapped.
    mutating func takeSlot(avoiding isMapped: (UInt32) -> Bool) -> Int? {
        for slot in 1..<DeviceList.slots where slotsInUse & (1 << UInt32(slot)) == 0 && !isMapped(UInt32(slot)) {
            slotsInUse |= 1 << UInt32(slot)
            return slot
        }
        return nil
    }

    mutating func takeConsoleSlot() { slotsInUse |= 1 }
    mutating func releaseSlot(_ slot: Int) { slotsInUse &= ~(1 << UInt32(slot)) }

    /// The next device instance, as entry flags (device.h): numbered from 1,
    /// past 65535 back to 1, so that a device added again (same type and
    /// devid, perhaps the same slot and port) reads as a new one.
    mutating func nextInstanceFlags() -> UInt32 {
        lastInstance = lastInstance == UInt16.max ? 1 : lastInstance + 1
        return UInt32(lastInstance) << UInt32(TERN_DEVICE_INSTANCE_SHIFT)
    }

    public func index(type: UInt16, devid: UInt16, frontend: UInt16) -> Int? {
        entries.firstIndex { $0.type == type && $0.devid == devid && $0.frontend == frontend }
    }

    /// Room for one more entry: a free one, or one whose peer is gone.
    mutating func makeRoom() -> Bool {
        if entries.count < DeviceList.maxEntries { return true }
        guard let closed = entries.firstIndex(where: { $0.state == UInt32(TERN_DEVICE_CLOSED) }) else { return false }
        entries.remove(at: closed)
        return true
    }

    mutating func append(_ entry: tern_device_entry) {
        entries.append(entry)
        publish()
    }

    mutating func remove(at index: Int) {
        entries.remove(at: index)
        publish()
    }

    mutating func markClosed(at index: Int) {
        entries[index].state = UInt32(TERN_DEVICE_CLOSED)
        publish()
    }

    /// Writes the entries to the page as a sequence lock: version odd
    /// while the entries change, even (and new) once they are whole.
    mutating func publish() {
        guard let page else { return }
        let entrySize = MemoryLayout<tern_device_entry>.size
        let header = MemoryLayout<tern_device_page>.size - DeviceList.maxEntries * entrySize
        // SAFETY: `page` is a whole 4 KiB frame: Tern's (freed after
        // teardown resets this list) or the domain's RAM checked at
        // TERN_HC_ATTACH (forgotten at detach and teardown, before it goes);
        // struct tern_device_page fits in it (device.h's static assert).
        version &+= 1
        page.storeBytes(of: version, toByteOffset: DeviceList.versionOffset, as: UInt32.self)
        page.storeBytes(of: TERN_DEVICE_PAGE_MAGIC, toByteOffset: 0, as: UInt64.self)
        for i in 0..<DeviceList.maxEntries {
            let entry = i < entries.count ? entries[i] : tern_device_entry()
            // SAFETY: entry i < maxEntries of struct tern_device_page, in the page.
            page.storeBytes(of: entry, toByteOffset: header + i * entrySize, as: tern_device_entry.self)
        }
        // SAFETY: header fields of the page, as above.
        page.storeBytes(of: UInt32(entries.count), toByteOffset: DeviceList.countOffset, as: UInt32.self)
        version &+= 1
        page.storeBytes(of: version, toByteOffset: DeviceList.versionOffset, as: UInt32.self)
    }
}
