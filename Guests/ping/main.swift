import TernGuestC

/// The frontend of the two-guest channel demo; Guests/pong is the backend.
/// Tern wires them at boot: `channel=pong` on ping's module line makes
/// channel 0 (a TERN_DEVICE_CHANNEL) with pong as its backend. Options:
///   mode=messages  (default) `count=` (100000) requests over a ring page
///                  granted to pong, every answer checked
///   mode=evtchn    `count=` (10000) event-channel round trips, timed
///   mode=map       `count=` (20000) 4 KiB payloads in `pages=` (16) pages
///   mode=copy      granted once; pong maps them once, or grant-copies each
///   mode=victim    a frontend for Guests/hostile's attacks, `count=` (100)
/// The mode goes to pong in the control page (PingSetup).
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let info = StartInfo(startInfo)
    guard let mode = PingMode(option: info.option("mode")) else {
        print("ping: unknown mode; use mode=messages|evtchn|map|copy|victim")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    let count = max(1, info.number("count") ?? Ping.defaultCount(mode))
    do throws(TernError) {
        var channel = try ChannelFrontend.open(devid: 0)
        let setup = PingSetup(channel.control)
        setup[.mode] = mode.rawValue
        switch mode {
        case .messages: return try exchangeMessages(&channel, count: count)
        case .evtchn: return try measureEventRoundTrips(&channel, setup: setup, count: count)
        case .map, .copy:
            let pages = min(max(1, Int(info.number("pages") ?? Ping.defaultPayloadPages)), PingSetup.maxPayloadPages)
            return try streamPayloads(&channel, setup: setup, mode: mode, count: count, pages: pages)
        case .victim: return try runVictim(&channel, setup: setup, count: count)
        }
    } catch {
        print("ping: channel failed: error \(error.code)")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
}

enum Ping {
    static let defaultPayloadPages: UInt64 = 16

    static func defaultCount(_ mode: PingMode) -> UInt64 {
        switch mode {
        case .messages: 100_000
        case .evtchn: 10_000
        case .map, .copy: 20_000
        case .victim: 100
        }
    }

    /// `count` things in `nanoseconds`, per second.
    static func perSecond(_ count: UInt64, in nanoseconds: UInt64) -> UInt64 {
        count &* 1_000_000_000 / max(nanoseconds, 1)
    }

    /// Publishes a fresh ring page's grant (READY) and waits for CONNECTED.
    static func connect(_ channel: inout ChannelFrontend, ring page: UnsafeMutableRawPointer) throws(TernError) {
        try channel.publish(ring: page)
        try channel.waitUntilConnected()
    }
}
