import TernGuestC

/// Sleeps three times on the one-shot timer with an upcall, measuring how
/// long each sleep took: shows the timer, upcalls and blocking.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let vector: UInt8 = 0xF3
    let status = Upcall.install(vector: vector) { Sleeper.fired += 1 }
    print("sleeper: upcall vector \(vector) installed, status \(status)")
    for round in 1...3 {
        let start = Tern.now()
        let before = Sleeper.fired
        Tern.setTimer(deadline: start + 50_000_000)
        while Sleeper.fired == before {
            tern_guest_sti()
            Tern.block()
            tern_guest_cli()
        }
        print("sleeper: round \(round): woke after \((Tern.now() - start) / 1_000_000) ms")
    }
    return Int64(TERN_SHUTDOWN_POWEROFF)
}

enum Sleeper {
    nonisolated(unsafe) static var fired = 0
}
