import TernGuestC

/// mode=evtchn: answers each of ping's round trips: copies the `pings`
/// setup word to `pongs` and sends, until ping sets CLOSED.
func echoEvents(_ channel: ChannelBackend, setup: PingSetup) {
    var answered: UInt64 = 0
    var watch = PeerWatch(port: channel.port)
    while true {
        let pings = setup[.pings]
        if pings != setup[.pongs] {
            setup[.pongs] = pings
            watch.notify()
            answered += 1
        }
        if channel.frontendClosed { break }
        guard watch.wait() else {
            print("pong: the frontend left")
            break
        }
    }
    print("pong: answered \(answered) event round trips")
}
