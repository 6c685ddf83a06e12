import TernGuestC

/// mode=map and mode=copy: 4 KiB payload throughput. Ping grants `pages`
/// pages to the backend once (read-only) and lists their refs in the setup
/// words. Message `sequence` is a payload (Payload.fill) written into page
/// sequence % pages, and the request {sequence, page}; the backend reads
/// the page, by its one mapping of it (map) or by a grant copy into its
/// own buffer (copy), and answers {sequence, checksum}. At most `pages`
/// messages are in flight, so a page is rewritten only once answered.
func streamPayloads(_ channel: inout ChannelFrontend, setup: PingSetup, mode: PingMode, count: UInt64,
                    pages: Int) throws(TernError) -> Int64 {
    let data = Page.allocate(count: pages)
    var refs: [UInt32] = []
    for index in 0..<pages {
        // SAFETY: page `index` of the `pages` just allocated.
        let ref = try Grants.grant(data + index * Page.size, to: channel.backend, readOnly: true)
        refs.append(ref)
        setup[payloadRef: index] = ref
    }
    setup[.payloadPages] = UInt32(pages)
    let ringPage = Page.allocate()
    guard var ring = FrontRing<PingRequest, PingResponse>(initializing: ringPage, pageSize: Page.size) else {
        print("ping: cannot lay out the ring")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    try Ping.connect(&channel, ring: ringPage)

    var expected = [UInt64](repeating: 0, count: pages)   // per page: the checksum of the payload in it
    var sent: UInt64 = 0, answered: UInt64 = 0, checksum: UInt64 = 0
    let window = UInt64(pages)
    var watch = PeerWatch(port: channel.port)
    let start = Tern.now()
    do throws(RingError) {
        while answered < count {
            var pushed = false
            while sent < count && sent - answered < window && ring.freeSlots > 0 {
                let page = Int(sent % window)
                // SAFETY: page < pages, inside `data`.
                expected[page] = Payload.fill(data + page * Page.size, sequence: sent)
                try ring.push(PingRequest(sequence: sent, value: UInt64(page)))
                sent += 1
                pushed = true
            }
            if pushed && ring.publish() { watch.notify() }
            while let response = try ring.takeResponse() {
                guard response.sequence == answered, response.sum == expected[Int(answered % window)] else {
                    print("ping: payload \(answered) answered wrong: sequence \(response.sequence), checksum \(response.sum)")
                    channel.close()
                    return Int64(TERN_SHUTDOWN_CRASH)
                }
                checksum &+= response.sum
                answered += 1
            }
            if answered == count { break }
            if sent < count && sent - answered < window && ring.freeSlots > 0 { continue }
            if try ring.finalCheckForResponses() { continue }
            guard !channel.backendClosed, watch.wait() else {
                print("ping: the backend left after \(answered) of \(count) payloads")
                channel.close()
                return Int64(TERN_SHUTDOWN_CRASH)
            }
        }
    } catch {
        print("ping: ring error after \(answered) payloads")
        channel.close()
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    let elapsed = Tern.now() - start
    let bytes = count &* UInt64(Page.size)
    print("ping: 4KiB by \(mode.name): \(count) messages, \(Ping.perSecond(count, in: elapsed)) messages per second, "
          + "\(bytes &* 1000 / max(elapsed, 1)) MB/s, checksum \(checksum)")
    channel.close()
    for ref in refs { Grants.end(ref, waitingUpTo: ChannelFrontend.closeTimeout) }
    return Int64(TERN_SHUTDOWN_POWEROFF)
}
