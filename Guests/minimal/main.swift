/// The smallest possible guest: powers off at once. `make bench` times
/// create -> first instruction -> shutdown -> destroy with it.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    0  // TERN_SHUTDOWN_POWEROFF
}
