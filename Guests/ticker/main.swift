import TernGuestC

/// Prints `count=` numbered lines (default 10), busy-waiting `ms=` (default
/// 20) milliseconds between them without ever yielding: with several
/// tickers at once, interleaved lines show that Tern preempts.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let info = StartInfo(startInfo)
    let count = info.number("count") ?? 10
    let ms = info.number("ms") ?? 20
    for i in 1...max(1, count) {
        print("tick \(i) of \(count)")
        Tern.spin(nanoseconds: ms * 1_000_000)
    }
    print("ticker done")
    return Int64(TERN_SHUTDOWN_POWEROFF)
}
