import TernGuestC

/// Sleeps `rounds=` times (default 3; 0 = until destroyed) for `ms=`
/// milliseconds (default 50) on the one-shot timer with an upcall,
/// measuring how long each sleep took: shows the timer, upcalls and
/// blocking. Only the first three rounds are printed. Other upcalls (what
/// is typed into its console) wake it early: it counts them and sleeps
/// on until its deadline.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let info = StartInfo(startInfo)
    let vector: UInt8 = 0xF3
    let status = Upcall.install(vector: vector) { Sleeper.fired += 1 }
    print("sleeper: upcall vector \(vector) installed, status \(status)")
    let rounds = info.number("rounds") ?? 3
    let ms = info.number("ms") ?? 50
    var round: UInt64 = 0
    while rounds == 0 || round < rounds {
        round += 1
        let start = Tern.now()
        let deadline = start + ms &* 1_000_000
        while Tern.now() < deadline {
            // Set again after each wake-up: a deadline passed makes the
            // upcall pending at once, so no wait outlives it.
            Tern.setTimer(deadline: deadline)
            Upcall.wait()
        }
        if round <= 3 { print("sleeper: round \(round): woke after \((Tern.now() - start) / 1_000_000) ms") }
    }
    return Int64(TERN_SHUTDOWN_POWEROFF)
}

enum Sleeper {
    nonisolated(unsafe) static var fired = 0
}
