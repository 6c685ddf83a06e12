import TernGuestC

/// mode=evtchn: event-channel round-trip latency. Round trip i: ping
/// writes i to the `pings` setup word and sends; the backend copies it to
/// `pongs` and sends back; ping waits until `pongs` is i. The counters make
/// it exact whatever events coalesce or arrive late (a send only sets a
/// pending bit). The ring is published for the handshake, not used.
func measureEventRoundTrips(_ channel: inout ChannelFrontend, setup: PingSetup, count: UInt64) throws(TernError) -> Int64 {
    try Ping.connect(&channel, ring: Page.allocate())
    var watch = PeerWatch(port: channel.port)
    let start = Tern.now()
    for i in 1...count {
        let round = UInt32(truncatingIfNeeded: i)
        setup[.pings] = round
        watch.notify()   // a successful send: no status hypercall before the wait
        while setup[.pongs] != round {
            guard !channel.backendClosed, watch.wait() else {
                print("ping: the backend left after \(i - 1) of \(count) round trips")
                channel.close()
                return Int64(TERN_SHUTDOWN_CRASH)
            }
        }
    }
    let elapsed = Tern.now() - start
    print("ping: evtchn \(count) round trips, \(elapsed / count) ns each")
    channel.close()
    return Int64(TERN_SHUTDOWN_POWEROFF)
}
