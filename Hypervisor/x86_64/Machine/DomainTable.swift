import TernCore
import TernABI

/// The domain table: every domain on this machine by id, the scheduler
/// they run under, and the counts the toolstack's system info reports.
/// The life cycle lives beside it: Dom0Boot.swift (Dom0),
/// DomainCreation.swift (guests), VCPUSetup.swift (their VMCBs),
/// DomainDestruction.swift (the end), BootChannels.swift (`channel=`).
enum Domains {
    static let maxDomains = Int(TERN_DOMAINS_MAX)

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
        info.pool_shells = UInt32(DomainPool.pool.shells.count)
        info.pool_bytes = UInt64(DomainPool.pool.heldFrames) * Layout.pageSize
        withUnsafeMutableBytes(of: &info.pool) { slots in
            // SAFETY: `pool` is TERN_POOL_SIZES_MAX tern_pool_size entries
            // (control.h); i stays below that (prefix), each store whole.
            for (i, size) in DomainPool.pool.sizes.prefix(Int(TERN_POOL_SIZES_MAX)).enumerated() {
                slots.storeBytes(of: size, toByteOffset: i * MemoryLayout<tern_pool_size>.stride, as: tern_pool_size.self)
            }
        }
        info.total_frames = UInt64(totalFrames)
        info.free_frames = UInt64(Platform.frames!.freeFrames)
        info.tsc_hz = Platform.tscHz
        info.uptime_ns = SystemTime.nowNanoseconds()
        return info
    }
}
