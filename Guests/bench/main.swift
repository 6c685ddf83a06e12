import TernGuestC

/// `mode=hypercalls` (default): null-hypercall round trips (TERN_HC_VERSION)
/// timed with the TSC. `mode=loop`: VMMCALL forever, for Tern's
/// bench=exits empty-exit loop.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let info = StartInfo(startInfo)
    if info.option("mode") == Array("loop".utf8) {
        while true { _ = tern_hypercall(UInt64(TERN_HC_VERSION), 0, 0, 0, 0, 0) }
    }
    let calls: UInt64 = 20_000
    let hz = Tern.timeInfo().tsc_hz
    let start = tern_guest_rdtsc()
    for _ in 0..<calls { _ = tern_hypercall(UInt64(TERN_HC_VERSION), 0, 0, 0, 0, 0) }
    let cycles = tern_guest_rdtsc() - start
    let ns = cycles / hz * 1_000_000_000 + cycles % hz * 1_000_000_000 / hz
    print("bench: \(calls) null hypercalls in \(ns / 1000) us: \(calls * 1_000_000_000 / max(ns, 1)) per second, \(ns / calls) ns each")
    return Int64(TERN_SHUTDOWN_POWEROFF)
}
