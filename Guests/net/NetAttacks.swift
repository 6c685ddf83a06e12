import TernGuestC

/// A hostile network frontend (issue 18): what it sends must fail alone,
/// never hurt the backend, Dom0, Tern or another guest's network. `mode=`:
///   badslots   packets a buggy frontend sends, each answered with its
///              status while the interface keeps working: an ARP request
///              spread over 18 slots, its headers one byte a slot (sent:
///              OKAY), 19 slots (ERROR), later slots claiming more than the
///              packet (ERROR), 10 bytes (ERROR), a page not granted
///              (DROPPED), then a good one (OKAY); last, 21 slots: the
///              backend closes the interface (MALFORMED, 5)
///   crosspage  a slot past its page: the interface is closed (5)
///   storm      `count=` (default 20000) notifications, then a good packet
///   vanish     half a packet published, then a crash
///   norx       posts no receive page and waits: Dom0 floods it (its
///              frames wait in, or are dropped by, its tap's bounded queue)
enum NetAttacks {
    static let unusedRef: UInt32 = 300   // never granted by this guest
    static let deadlineNanoseconds: UInt64 = 10_000_000_000
    static let okay = Int16(TERN_NETIF_RSP_OKAY), error = Int16(TERN_NETIF_RSP_ERROR)
    static let dropped = Int16(TERN_NETIF_RSP_DROPPED), null = Int16(TERN_NETIF_RSP_NULL)

    static func run(_ mode: [UInt8], _ net: inout NetFrontend, _ info: StartInfo) -> Bool? {
        if mode == Array("badslots".utf8) { return badSlots(&net) }
        if mode == Array("crosspage".utf8) { return crossPage(&net) }
        if mode == Array("storm".utf8) { return storm(&net, count: Int(info.number("count") ?? 20000)) }
        if mode == Array("vanish".utf8) { vanish(&net) }
        if mode == Array("norx".utf8) { return noReceivePages(&net) }
        return nil
    }

    /// A broadcast ARP request for 10.0.2.2 from this guest, 60 bytes, in tx page 0.
    static func arpRequest(_ net: NetFrontend) -> Int {
        let frame: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + net.mac + [0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1] + net.mac
            + [10, 0, 2, 99] + [0, 0, 0, 0, 0, 0] + [10, 0, 2, 2] + [UInt8](repeating: 0, count: 18)
        // SAFETY: tx page 0 of the pool, a whole page; the frame is 60 bytes.
        net.txPages.copyMemory(from: frame, byteCount: frame.count)
        return frame.count
    }

    static func slot(_ gref: UInt32, offset: UInt16, more: Bool, id: UInt16, size: UInt16) -> tern_netif_tx_request {
        tern_netif_tx_request(gref: gref, offset: offset, flags: more ? UInt16(TERN_NETTXF_MORE_DATA) : 0, id: id, size: size)
    }

    /// `count` slots for one packet of `size` bytes of page 0: the first
    /// slot the rest after one byte per later slot.
    static func spread(_ net: NetFrontend, size: Int, over count: Int) -> [tern_netif_tx_request] {
        let page = net.txRefs[0]
        let first = size - (count - 1)
        return [slot(page, offset: 0, more: count > 1, id: 0, size: UInt16(size))]
            + (1..<count).map { slot(page, offset: UInt16(first + $0 - 1), more: $0 < count - 1, id: UInt16($0), size: 1) }
    }

    static func check(_ name: StaticString, _ statuses: [Int16]?, first expected: Int16) -> Bool {
        guard let statuses, let first = statuses.first else {
            print("net: \(name): no answer")
            return false
        }
        let fine = first == expected && statuses.dropFirst().allSatisfy { $0 == expected }
        if !fine { print("net: \(name): statuses \(statuses), expected \(expected)") }
        return fine
    }

    static func badSlots(_ net: inout NetFrontend) -> Bool {
        let size = arpRequest(net)
        let deadline = Tern.now() &+ deadlineNanoseconds
        var ok = true
        ok = check("18 slots, headers a byte a slot", net.sendRaw(spread(net, size: size, over: 18), deadline: deadline), first: okay) && ok
        ok = check("19 slots", net.sendRaw(spread(net, size: size, over: 19), deadline: deadline), first: error) && ok
        var lying = spread(net, size: size, over: 2)
        lying[1].size = 200   // later slots claim more than the packet
        ok = check("later slots larger than the packet", net.sendRaw(lying, deadline: deadline), first: error) && ok
        ok = check("10 bytes", net.sendRaw([slot(net.txRefs[0], offset: 0, more: false, id: 0, size: 10)], deadline: deadline),
                   first: error) && ok
        ok = check("page not granted", net.sendRaw([slot(unusedRef, offset: 0, more: false, id: 0, size: UInt16(size))],
                                                    deadline: deadline), first: dropped) && ok
        ok = check("a good packet after them", net.sendRaw([slot(net.txRefs[0], offset: 0, more: false, id: 0, size: UInt16(size))],
                                                            deadline: deadline), first: okay) && ok
        print("net: 5 bad packets answered one by one, a good one after them sent; 21 slots next")
        _ = net.sendRaw(spread(net, size: size, over: 21), deadline: Tern.now() &+ 3_000_000_000)
        while !net.backendClosed && Tern.now() < deadline { net.wait(until: deadline) }
        print("net: 21 slots: backend closed the interface: \(net.backendClosed), error \(net.backendError)")
        return ok && net.backendClosed && net.backendError == UInt32(TERN_NETIF_ERROR_MALFORMED)
    }

    static func crossPage(_ net: inout NetFrontend) -> Bool {
        let deadline = Tern.now() &+ deadlineNanoseconds
        _ = net.sendRaw([slot(net.txRefs[0], offset: 4000, more: false, id: 0, size: 200)], deadline: Tern.now() &+ 3_000_000_000)
        while !net.backendClosed && Tern.now() < deadline { net.wait(until: deadline) }
        print("net: a slot past its page: backend closed the interface: \(net.backendClosed), error \(net.backendError)")
        return net.backendClosed && net.backendError == UInt32(TERN_NETIF_ERROR_MALFORMED)
    }

    static func storm(_ net: inout NetFrontend, count: Int) -> Bool {
        for _ in 0..<count { _ = Events.send(net.device.port) }
        let size = arpRequest(net)
        let sent = check("a packet after the storm", net.sendRaw([slot(net.txRefs[0], offset: 0, more: false, id: 0, size: UInt16(size))],
                                                                  deadline: Tern.now() &+ deadlineNanoseconds), first: okay)
        print("net: \(count) notifications sent; a packet after them: \(sent ? "sent" : "FAILED")")
        return sent
    }

    static func vanish(_ net: inout NetFrontend) -> Never {
        net.publishRaw([slot(net.txRefs[0], offset: 0, more: true, id: 0, size: 600)])
        print("net: half a packet published; crashing")
        Tern.shutdown(TERN_SHUTDOWN_CRASH)
    }

    static func noReceivePages(_ net: inout NetFrontend) -> Bool {
        print("net: no receive pages posted; waiting")
        while !net.backendClosed { net.wait() }
        return true
    }
}
