import TernGuestC

/// mode=messages: `count` requests {sequence, value} over the ring, the
/// backend answering each with its running sum of the values; every answer
/// is checked. Notifications only when the ring's rule asks (publish()
/// says so); blocking when there is nothing to do.
func exchangeMessages(_ channel: inout ChannelFrontend, count: UInt64) throws(TernError) -> Int64 {
    let page = Page.allocate()
    guard let ring = FrontRing<PingRequest, PingResponse>(initializing: page, pageSize: Page.size) else {
        print("ping: cannot lay out the ring")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    try Ping.connect(&channel, ring: page)
    var exchange = MessageExchange(ring: ring, channel: channel, count: count)
    let start = Tern.now()
    let end = exchange.run()
    let elapsed = Tern.now() - start
    guard case .completed = end else {
        exchange.report(end, who: "ping")
        channel.close()
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    print("ping: \(exchange.answered) messages, checksum \(exchange.checksum), \(exchange.notificationsSent) notifications sent, "
          + "\(exchange.notificationsReceived) received, \(Ping.perSecond(exchange.answered, in: elapsed)) round trips per second")
    channel.close()
    return Int64(TERN_SHUTDOWN_POWEROFF)
}

/// How an exchange ended.
enum ExchangeEnd {
    case completed
    /// The backend closed the channel or its domain died.
    case backendLeft
    /// The backend's ring indices were impossible (or the ring full).
    case ringError(RingError)
    /// An answer with the wrong sequence or sum.
    case wrongAnswer(PingResponse)
}

/// The frontend's side of mode=messages, shared with mode=victim.
struct MessageExchange {
    var ring: FrontRing<PingRequest, PingResponse>
    let channel: ChannelFrontend
    let count: UInt64
    var sent: UInt64 = 0
    var answered: UInt64 = 0
    /// The running sum of the values answered, as the backend's.
    var checksum: UInt64 = 0
    var notificationsSent: UInt64 = 0
    var notificationsReceived: UInt64 = 0

    init(ring: FrontRing<PingRequest, PingResponse>, channel: ChannelFrontend, count: UInt64) {
        self.ring = ring
        self.channel = channel
        self.count = count
    }

    mutating func run() -> ExchangeEnd {
        var watch = PeerWatch(port: channel.port)
        do throws(RingError) {
            while answered < count {
                var pushed = false
                while sent < count && ring.freeSlots > 0 {
                    try ring.push(PingRequest(sequence: sent, value: PingPong.value(of: sent)))
                    sent += 1
                    pushed = true
                }
                if pushed && ring.publish() {
                    watch.notify()
                    notificationsSent += 1
                }
                while let response = try ring.takeResponse() {
                    let expected = checksum &+ PingPong.value(of: answered)
                    guard response.sequence == answered, response.sum == expected else { return .wrongAnswer(response) }
                    checksum = expected
                    answered += 1
                }
                if answered == count { break }
                if sent < count && ring.freeSlots > 0 { continue }
                if try ring.finalCheckForResponses() { continue }
                guard !channel.backendClosed, watch.wait() else { return .backendLeft }
                notificationsReceived += 1
            }
        } catch {
            return .ringError(error)
        }
        return .completed
    }

    /// Prints how an exchange that did not complete ended.
    func report(_ end: ExchangeEnd, who: String) {
        switch end {
        case .completed:
            print("\(who): \(answered) messages answered")
        case .backendLeft:
            print("\(who): the backend left after \(answered) of \(count) answers")
        case .ringError(.corruptIndices(let unconsumed, let limit)):
            print("\(who): ring error: corrupt indices (unconsumed \(unconsumed), limit \(limit)); disconnecting")
        case .ringError(.full):
            print("\(who): ring error: full; disconnecting")
        case .wrongAnswer(let response):
            print("\(who): answer \(answered) wrong: sequence \(response.sequence), sum \(response.sum)")
        }
    }
}
