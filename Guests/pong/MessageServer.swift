import TernGuestC

/// mode=messages: answers each request {sequence, value} with {sequence,
/// running sum of the values}, notifying ping only when the ring's rule
/// asks, until ping sets CLOSED.
func serveMessages(_ channel: ChannelBackend) {
    guard let page = channel.ringPage,
          var ring = BackRing<PingRequest, PingResponse>(attaching: page, pageSize: Page.size) else {
        print("pong: cannot lay out the ring")
        return
    }
    var served: UInt64 = 0, checksum: UInt64 = 0
    var watch = PeerWatch(port: channel.port)
    do throws(RingError) {
        while true {
            var took = false
            while let request = try ring.takeRequest() {
                checksum &+= request.value
                try ring.push(PingResponse(sequence: request.sequence, sum: checksum))
                served += 1
                took = true
            }
            if took && ring.publish() { watch.notify() }
            if channel.frontendClosed { break }
            if try ring.finalCheckForRequests() { continue }
            guard watch.wait() else {
                print("pong: the frontend left")
                break
            }
        }
    } catch {
        print("pong: ring error after \(served) requests; disconnecting")
    }
    print("pong: served \(served) requests, checksum \(checksum)")
}
