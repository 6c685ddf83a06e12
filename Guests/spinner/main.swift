import TernGuestC

/// A hostile guest that never gives the CPU back: interrupts off, an
/// endless loop. Tern must preempt it so that every other guest still runs.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    print("spinner: spinning forever with interrupts off")
    tern_guest_cli()
    while true { tern_guest_pause() }
}
