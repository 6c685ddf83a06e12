import TernGuestC

/// `mode=vectors seconds=N`: the vector registers are a guest's own, as its
/// general registers are (Tern saves and restores them whenever another
/// vCPU runs in between: docs/architecture.md, "A vCPU's registers").
/// It reads XMM0-15 first (a new vCPU starts in the reset state, all zero:
/// anything else was left by another domain), loads a pattern of its own
/// (its domain id in every register), then for `seconds` (default 10)
/// keeps checking that the registers still hold it while other domains run
/// beside it, yielding now and then so that they do.
enum VectorRegisterCheck {
    static let registers = 16
    static let registerBytes = 16
    static let nanosecondsPerSecond: UInt64 = 1_000_000_000
    /// "VECTORS\0" with the domain id and the register in the low bytes.
    static let patternBase: UInt64 = 0x5645_4354_4F52_0000
    /// Checks between two yields: most switches come from Tern's timer.
    static let checksPerYield = 64

    static func run(_ info: StartInfo) -> Int64 {
        tern_guest_enable_sse()
        let seconds = info.number("seconds") ?? 10
        var seen = [UInt8](repeating: 0, count: registers * registerBytes)
        seen.withUnsafeMutableBufferPointer { tern_guest_store_xmm($0.baseAddress) }
        let dirty = countNonZeroRegisters(seen)
        print("hostile: vectors: \(dirty) of \(registers) registers not zero at start")

        let pattern = makePattern(domid: UInt64(info.domid))
        pattern.withUnsafeBufferPointer { tern_guest_load_xmm($0.baseAddress) }
        var checks: UInt64 = 0, changed: UInt64 = 0
        let end = Tern.now() &+ seconds &* nanosecondsPerSecond
        while Tern.now() < end {
            for _ in 0..<checksPerYield {
                seen.withUnsafeMutableBufferPointer { tern_guest_store_xmm($0.baseAddress) }
                checks &+= 1
                if seen != pattern {
                    changed &+= 1
                    pattern.withUnsafeBufferPointer { tern_guest_load_xmm($0.baseAddress) }
                }
            }
            Tern.yield()
        }
        print("hostile: vectors: \(checks) checks in \(seconds) s, \(changed) found the registers changed")
        return Int64(TERN_SHUTDOWN_POWEROFF)
    }

    static func makePattern(domid: UInt64) -> [UInt8] {
        var bytes = [UInt8]()
        for register in 0..<UInt64(registers) {
            let word = patternBase | domid << 8 | register
            for half in 0..<2 {
                for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: (word ^ UInt64(half)) >> (8 * UInt64(i)))) }
            }
        }
        return bytes
    }

    static func countNonZeroRegisters(_ bytes: [UInt8]) -> Int {
        var count = 0
        for register in 0..<registers {
            let start = register * registerBytes
            if bytes[start..<(start + registerBytes)].contains(where: { $0 != 0 }) { count += 1 }
        }
        return count
    }
}
