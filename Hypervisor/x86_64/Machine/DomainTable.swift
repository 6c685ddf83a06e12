import TernCore
import TernABI

/// The domain table: every domain on this machine by id, the scheduler
/// they run under, and the counts the toolstack's system info reports.
/// The life cycle lives beside it: Dom0Boot.swift (Dom0),
/// DomainCreation.swift (guests), VCPUSetup.swift (their VMCBs),
/// DomainDestruction.swift (the end), BootChannels.swift (`channel=`).
enum Domains {
    static let maxDomains = Int(TERN_DOMAINS_MAX)
    /// Frames Tern manages once booted (before Dom0 and guests).
    // SAFETY (these three): changed only by the run loop's thread of
    // control (boot, hypercalls, destroy); the interrupt handler, at the
    // known points only, just looks up Dom0 in `table` (sized once, to
    // maxDomains, by the first domain's creation; slots change in place).
    nonisolated(unsafe) static var totalFrames = 0
    nonisolated(unsafe) static var table: [Domain?] = []
    nonisolated(unsafe) static let scheduler = Scheduler()
    /// Free frames just before the first guest was built: when the last
    /// guest is gone, the count must be back to exactly this.
    // SAFETY: set at boot, read when a guest goes: the run loop only.
    nonisolated(unsafe) static var freeFramesBeforeGuests = 0

    /// The domain built with `.hardware` (Dom0): the machine's device
    /// interrupts go to it, and the device models that are still one
    /// instance each (Dom0APIC, Dom0Console, Dom0PIC) serve it. nil before
    /// it is built and once it is destroyed.
    // SAFETY: set and cleared by the run loop (Dom0's build, destroy); the
    // interrupt handler only reads it, at the known points.
    nonisolated(unsafe) static var deviceOwner: Domain?
    /// The privileged domain that reads Tern's log (TERN_VIRQ_CONSOLE).
    // SAFETY: as deviceOwner.
    nonisolated(unsafe) static var controlDomain: Domain?

    static func domain(_ id: UInt16) -> Domain? {
        Int(id) < table.count ? table[Int(id)] : nil
    }

    static func firstDomain(atOrAfter id: UInt64) -> Domain? {
        guard id < UInt64(table.count) else { return nil }
        for index in Int(id)..<table.count { if let domain = table[index] { return domain } }
        return nil
    }

    /// The lowest free id from 1 (0 is Dom0's).
    static func freeID() -> UInt16? {
        if table.isEmpty { table = [Domain?](repeating: nil, count: maxDomains) }
        for id in 1..<maxDomains where table[id] == nil { return UInt16(id) }
        return nil
    }

    static func systemInfo() -> tern_system_info {
        var info = tern_system_info()
        info.abi_version = UInt32(TERN_ABI_VERSION)
        info.domains = UInt32(table.reduce(0) { $0 + ($1 == nil ? 0 : 1) })
        info.max_domains = UInt32(maxDomains)
        info.pool_shells = UInt32(DomainPool.shells.count)
        info.total_frames = UInt64(totalFrames)
        info.free_frames = UInt64(Platform.frames!.freeFrames)
        info.tsc_hz = Platform.tscHz
        info.uptime_ns = SystemTime.nowNanoseconds()
        return info
    }
}
