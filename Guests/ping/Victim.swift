import TernGuestC

/// mode=victim: the frontend Guests/hostile attacks as its backend. Besides
/// the ring it offers, in the setup words, a page granted read-only
/// (holding the payload pattern for its own domid, checked at the end), a
/// grant it revoked before READY, a page granted to another domain (itself)
/// and a port allocated for another domain (itself). Then it exchanges
/// `count` messages, as mode=messages, and whatever the backend does
/// (leave, die, corrupt the ring), disconnects cleanly and says so.
func runVictim(_ channel: inout ChannelFrontend, setup: PingSetup, count: UInt64) throws(TernError) -> Int64 {
    let me = UInt16(truncatingIfNeeded: StartInfo.current.domid)
    let pages = Page.allocate(count: 3)
    // SAFETY: pages 0, 1 and 2 of the three just allocated.
    let readOnlyPage = pages, revokedPage = pages + Page.size, foreignPage = pages + 2 * Page.size
    _ = Payload.fill(readOnlyPage, sequence: UInt64(me))
    let readOnlyRef = try Grants.grant(readOnlyPage, to: channel.backend, readOnly: true)
    let revokedRef = try Grants.grant(revokedPage, to: channel.backend)
    let foreignRef = try Grants.grant(foreignPage, to: me)
    let foreignPort = try Events.allocateUnbound(for: UInt16(TERN_DOMID_SELF))
    let revoked = Grants.end(revokedRef)
    setup[.readOnlyRef] = readOnlyRef
    setup[.revokedRef] = revokedRef
    setup[.foreignRef] = foreignRef
    setup[.foreignPort] = foreignPort

    let ringPage = Page.allocate()
    guard let ring = FrontRing<PingRequest, PingResponse>(initializing: ringPage, pageSize: Page.size) else {
        print("victim: cannot lay out the ring")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    try Ping.connect(&channel, ring: ringPage)
    print("victim: connected to d\(channel.backend): ring ref \(channel.ringRef), read-only ref \(readOnlyRef), "
          + "revoked ref \(revokedRef) (end \(revoked)), foreign ref \(foreignRef), foreign port \(foreignPort)")

    var exchange = MessageExchange(ring: ring, channel: channel, count: count)
    exchange.report(exchange.run(), who: "victim")
    let ringEnd = channel.close()
    let readOnlyEnd = Grants.end(readOnlyRef, waitingUpTo: ChannelFrontend.closeTimeout)
    let foreignEnd = Grants.end(foreignRef)
    let portClose = Events.close(foreignPort)
    print("victim: ended grants: ring \(ringEnd), read-only \(readOnlyEnd), foreign \(foreignEnd); closed the foreign port: \(portClose)")
    print("victim: read-only page unchanged: \(Payload.matches(readOnlyPage, sequence: UInt64(me)))")
    print("victim: disconnected cleanly, still running")
    return Int64(TERN_SHUTDOWN_POWEROFF)
}
