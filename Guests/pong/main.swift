import TernGuestC

/// The backend of the two-guest channel demo (Guests/ping is the
/// frontend): serves the first channel Tern lists for it, in the mode ping
/// wrote to the control page (PingSetup), until ping closes the channel
/// (or its domain dies); then unmaps, closes its port and powers off.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    var channel: ChannelBackend
    do throws(TernError) {
        channel = try ChannelBackend.accept()
    } catch {
        print("pong: no channel: error \(error.code)")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    let setup = PingSetup(channel.control)
    switch PingMode(rawValue: setup[.mode]) {
    case .messages?: serveMessages(channel)
    case .evtchn?: echoEvents(channel, setup: setup)
    case .map?: readPayloadsByMap(channel, setup: setup)
    case .copy?: readPayloadsByCopy(channel, setup: setup)
    case .victim?, nil: print("pong: mode \(setup[.mode]) is not one pong serves")
    }
    channel.disconnect()
    return Int64(TERN_SHUTDOWN_POWEROFF)
}
