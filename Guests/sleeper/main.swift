import TernGuestC

/// Sleeps `rounds=` times (default 3; 0 = until destroyed) for `ms=`
/// milliseconds (default 50) on the one-shot timer with an upcall,
/// measuring how long each sleep took: shows the timer, upcalls and
/// blocking. Only the first three rounds are printed.
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
        let before = Sleeper.fired
        Tern.setTimer(deadline: start + ms &* 1_000_000)
        while Sleeper.fired == before {
            tern_guest_sti()
            Tern.block()
            tern_guest_cli()
        }
        if round <= 3 { print("sleeper: round \(round): woke after \((Tern.now() - start) / 1_000_000) ms") }
    }
    return Int64(TERN_SHUTDOWN_POWEROFF)
}

enum Sleeper {
    nonisolated(unsafe) static var fired = 0
}
