import TernGuestC

/// Prints `count=` numbered lines (default 10), busy-waiting `ms=` (default
/// 20) milliseconds between them without ever yielding: with several
/// tickers at once, interleaved lines show that Tern preempts.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let info = StartInfo(startInfo)
    let count = number(info.option("count")) ?? 10
    let ms = number(info.option("ms")) ?? 20
    for i in 1...max(1, count) {
        print("tick \(i) of \(count)")
        Tern.spin(nanoseconds: ms * 1_000_000)
    }
    print("ticker done")
    return Int64(TERN_SHUTDOWN_POWEROFF)
}

func number(_ text: [UInt8]?) -> UInt64? {
    guard let text, !text.isEmpty else { return nil }
    var n: UInt64 = 0
    for c in text {
        guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
        n = n * 10 + UInt64(c - UInt8(ascii: "0"))
    }
    return n
}
