import TernGuestC

/// A ported PV guest with a network interface (NetFrontend,
/// docs/netback.md) that answers ARP and ping, as a unikernel would: it
/// takes `ip=` (default 10.0.2.50) on vif 0 and answers ARP requests for
/// it and ICMP echo requests to it, until it is destroyed. It prints one
/// line when connected, and one for the first ARP answered and each echo
/// answered ("net: echo 3 from 10.0.2.15"). With `ping=ADDRESS` it also
/// pings that address `count=` times (default 3), one a second, after
/// resolving it by ARP, and says how many were answered. It may start
/// before its interface is attached (`tern network-attach`: it waits for
/// vif 0); detached (`tern network-detach`), it says so and waits for vif 0
/// to be attached again, on the same pages. `mode=`: a hostile frontend
/// (NetAttacks.swift).
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let info = StartInfo(startInfo)
    guard info.isValid else { return Int64(TERN_SHUTDOWN_CRASH) }
    guard let ip = Responder.address(info.option("ip") ?? Array("10.0.2.50".utf8)) else {
        print("net: ip= is not an IPv4 address")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    let mode = info.option("mode")
    if let mode {
        var net: NetFrontend
        do throws(TernError) { net = try NetFrontend.open(devid: 0, postPages: mode != Array("norx".utf8)) } catch {
            print("net: cannot open vif 0: \(error.code)")
            return Int64(TERN_SHUTDOWN_CRASH)
        }
        guard let ok = NetAttacks.run(mode, &net, info) else {
            print("net: unknown mode")
            return Int64(TERN_SHUTDOWN_CRASH)
        }
        print("net: \(ok ? "passed" : "FAILED")")
        return Int64(ok ? TERN_SHUTDOWN_POWEROFF : TERN_SHUTDOWN_CRASH)
    }
    var pinger = info.option("ping").flatMap(Responder.address).map { Pinger(target: $0, count: Int(info.number("count") ?? 3)) }
    // Replies are built in pages taken once: the guest's heap is a bump
    // heap (never given back), so nothing is allocated per frame.
    let scratch = Page.allocate(count: Replies.pages)
    var pages: NetFrontend.Pages?
    while true {
        var net: NetFrontend
        do throws(TernError) { net = try NetFrontend.open(devid: 0, reusing: pages) } catch {
            print("net: cannot open vif 0: \(error.code)")
            return Int64(TERN_SHUTDOWN_CRASH)
        }
        guard serve(&net, ip: ip, pinger: &pinger, scratch: scratch) else {
            print("net: the backend closed the interface: error \(net.backendError)")
            return Int64(TERN_SHUTDOWN_POWEROFF)
        }
        do throws(TernError) { try Devices.waitUntilGone(net.device) } catch {
            return Int64(TERN_SHUTDOWN_CRASH)
        }
        let closed = net.close()
        pages = closed.pages
        print("net: vif0 detached (\(closed.stillMapped) grants still mapped); waiting for it again")
    }
}

/// Answers ARP and pings on `net` (and pings with `pinger`) until the
/// interface goes: true when detached (closed without an error, or gone
/// from the device page), false when the backend closed it for an error.
func serve(_ net: inout NetFrontend, ip: [UInt8], pinger: inout Pinger?, scratch: UnsafeMutableRawPointer) -> Bool {
    var responder = Responder(mac: net.mac, ip: ip)
    print("net: vif0 connected: mac \(Responder.text(mac: net.mac)), ip \(Responder.text(ip: ip)), mtu \(net.mtu)")
    var lengths: [Int] = []
    lengths.reserveCapacity(Replies.count)
    var devicesSeen = Devices.version
    while !net.backendClosed {
        lengths.removeAll(keepingCapacity: true)
        net.receive { frame in
            guard lengths.count < Replies.count else { return }
            let n = responder.answer(frame, into: Replies.slot(scratch, lengths.count))
            if n > 0 { lengths.append(n) }
            pinger?.heard(frame)
        }
        if lengths.count < Replies.count, let n = pinger?.next(me: responder, now: Tern.now(), into: Replies.slot(scratch, lengths.count)) {
            lengths.append(n)
        }
        for (k, n) in lengths.enumerated() {
            do throws(TernError) { try net.send(UnsafeRawBufferPointer(rebasing: Replies.slot(scratch, k)[0..<n])) } catch {
                print("net: send failed: \(error.code)")
            }
        }
        if let done = pinger, done.finished {
            print("net: \(done.answered) of \(done.count) echoes answered by \(Responder.text(ip: done.target))")
            pinger = nil
        }
        // The device page changed: is the interface still there? (Its
        // entries are copied only then: nothing is allocated per frame.)
        if Devices.version != devicesSeen {
            devicesSeen = Devices.version
            if Devices.state(of: net.device) == UInt32(TERN_DEVICE_CLOSED) { return true }
        }
        if lengths.isEmpty { net.wait(until: Tern.now() &+ Pinger.intervalNanoseconds / 4) }
    }
    return net.backendError == 0
}

/// Where replies are built: `count` slots of `bytes` in pages taken once.
enum Replies {
    static let count = 32, bytes = 2048
    static let pages = count * bytes / 4096

    static func slot(_ base: UnsafeMutableRawPointer, _ index: Int) -> UnsafeMutableRawBufferPointer {
        // SAFETY: index < count: the slot lies inside the `pages` pages at `base`.
        UnsafeMutableRawBufferPointer(start: base + index * bytes, count: bytes)
    }
}

/// ARP and ICMP echo for one address (RFC 826, RFC 792), read from a
/// frame in place and answered into a buffer: nothing allocated per frame.
struct Responder {
    let mac: [UInt8]
    let ip: [UInt8]
    var arpAnswered = 0, echoesAnswered = 0
    static let ethernetHeader = 14, minimumFrame = 60
    /// Echoes printed one by one; after them one line every `printEvery`.
    static let echoesPrinted = 3, printEvery = 100

    init(mac: [UInt8], ip: [UInt8]) {
        self.mac = mac
        self.ip = ip
    }

    static func equal(_ f: UnsafeRawBufferPointer, at offset: Int, _ bytes: [UInt8]) -> Bool {
        guard offset + bytes.count <= f.count else { return false }
        for k in 0..<bytes.count where f[offset + k] != bytes[k] { return false }
        return true
    }

    static func put(_ out: UnsafeMutableRawBufferPointer, at offset: Int, _ bytes: [UInt8]) {
        for k in 0..<bytes.count { out[offset + k] = bytes[k] }
    }

    static func copy(_ out: UnsafeMutableRawBufferPointer, at offset: Int, from f: UnsafeRawBufferPointer, _ range: Range<Int>) {
        for k in range { out[offset + k - range.lowerBound] = f[k] }
    }

    /// The reply to `f` written into `out`: its length, or 0 when `f`
    /// asks nothing of this address.
    mutating func answer(_ f: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        guard f.count >= Responder.ethernetHeader else { return 0 }
        let type = UInt16(f[12]) << 8 | UInt16(f[13])
        if type == 0x0806 { return arp(f, into: out) }
        if type == 0x0800 { return echo(f, into: out) }
        return 0
    }

    /// An ARP request for our address: the reply saying our MAC.
    mutating func arp(_ f: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        let a = Responder.ethernetHeader
        guard f.count >= a + 28, Responder.equal(f, at: a, [0, 1, 8, 0, 6, 4, 0, 1]), Responder.equal(f, at: a + 24, ip) else { return 0 }
        Responder.copy(out, at: 0, from: f, (a + 8)..<(a + 14))             // to the asker
        Responder.put(out, at: 6, mac)
        Responder.put(out, at: 12, [0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2])
        Responder.put(out, at: 22, mac)
        Responder.put(out, at: 28, ip)
        Responder.copy(out, at: 32, from: f, (a + 8)..<(a + 18))            // its MAC and address
        arpAnswered += 1
        if arpAnswered == 1 { print("net: arp answered for \(f[a + 14]).\(f[a + 15]).\(f[a + 16]).\(f[a + 17])") }
        return Responder.pad(out, 42)
    }

    /// An ICMP echo request to our address: the echo reply.
    mutating func echo(_ f: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        let i = Responder.ethernetHeader
        guard f.count >= i + 20, f[i] >> 4 == 4 else { return 0 }
        let headerLength = Int(f[i] & 0x0F) * 4
        let total = Int(f[i + 2]) << 8 | Int(f[i + 3])
        guard headerLength >= 20, total >= headerLength + 8, f.count >= i + total, i + total <= out.count, f[i + 9] == 1,
              Responder.equal(f, at: i + 16, ip) else { return 0 }
        let c = i + headerLength
        guard f[c] == 8, f[c + 1] == 0 else { return 0 }   // echo request
        Responder.copy(out, at: 0, from: f, 6..<12)                          // back to the sender
        Responder.put(out, at: 6, mac)
        Responder.copy(out, at: 12, from: f, 12..<(i + total))
        // IP: from us to them, TTL 64, checksum again.
        Responder.copy(out, at: i + 16, from: f, (i + 12)..<(i + 16))
        Responder.put(out, at: i + 12, ip)
        out[i + 8] = 64
        Responder.setChecksum(out, at: i + 10, over: i..<(i + headerLength))
        // ICMP: an echo reply, checksum again over the whole message.
        out[c] = 0
        Responder.setChecksum(out, at: c + 2, over: c..<(i + total))
        echoesAnswered += 1
        if echoesAnswered <= Responder.echoesPrinted || echoesAnswered % Responder.printEvery == 0 {
            let sequence = Int(f[c + 6]) << 8 | Int(f[c + 7])
            print("net: echo \(sequence) from \(f[i + 12]).\(f[i + 13]).\(f[i + 14]).\(f[i + 15]) (\(echoesAnswered) answered)")
        }
        return Responder.pad(out, i + total)
    }

    /// The Internet checksum (RFC 1071) of `range`, written at `at` (zeroed first).
    static func setChecksum(_ bytes: UnsafeMutableRawBufferPointer, at: Int, over range: Range<Int>) {
        bytes[at] = 0
        bytes[at + 1] = 0
        var sum: UInt32 = 0
        var k = range.lowerBound
        while k + 1 < range.upperBound {
            sum += UInt32(bytes[k]) << 8 | UInt32(bytes[k + 1])
            k += 2
        }
        if k < range.upperBound { sum += UInt32(bytes[k]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        bytes[at] = UInt8(checksum >> 8)
        bytes[at + 1] = UInt8(checksum & 0xFF)
    }

    /// Pads a frame of `length` bytes in `out` to Ethernet's least; the length sent.
    static func pad(_ out: UnsafeMutableRawBufferPointer, _ length: Int) -> Int {
        for k in length..<max(length, minimumFrame) { out[k] = 0 }
        return max(length, minimumFrame)
    }

    static func address(_ text: [UInt8]) -> [UInt8]? {
        var parts: [UInt8] = [], value = 0, digits = 0
        for c in text + [UInt8(ascii: ".")] {
            if c == UInt8(ascii: ".") {
                guard digits > 0, value <= 255 else { return nil }
                parts.append(UInt8(value))
                value = 0
                digits = 0
            } else {
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), digits < 3 else { return nil }
                value = value * 10 + Int(c - UInt8(ascii: "0"))
                digits += 1
            }
        }
        return parts.count == 4 ? parts : nil
    }

    static func text(ip: [UInt8]) -> String { ip.map { "\($0)" }.joined(separator: ".") }

    static func text(mac: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        return mac.map { String(decoding: [hex[Int($0 >> 4)], hex[Int($0 & 15)]], as: UTF8.self) }.joined(separator: ":")
    }
}

/// Pings one address: ARP first, then `count` echo requests a second
/// apart; counts the replies (each sequence number once). Frames are read
/// in place and built into a buffer.
struct Pinger {
    let target: [UInt8]
    let count: Int
    var targetMAC: [UInt8]?
    var sent = 0, answered = 0
    var nextAt: UInt64 = 0
    var seen: [Bool]
    static let intervalNanoseconds: UInt64 = 1_000_000_000
    static let identifier: UInt16 = 0x7465   // "te"
    static let payload = 32

    init(target: [UInt8], count: Int) {
        self.target = target
        self.count = count
        seen = [Bool](repeating: false, count: count)
    }

    /// All sent, and a second since the last (or all answered).
    var finished: Bool { answered == count || (sent == count && nextAt != 0 && Tern.now() >= nextAt) }

    /// The next frame to send into `out`, when it is time: an ARP request
    /// until the target answers, then the echo requests. Its length.
    mutating func next(me: Responder, now: UInt64, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard now >= nextAt, sent < count || targetMAC == nil else { return nil }
        nextAt = now &+ Pinger.intervalNanoseconds
        guard let mac = targetMAC else {
            Responder.put(out, at: 0, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
            Responder.put(out, at: 6, me.mac)
            Responder.put(out, at: 12, [0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1])
            Responder.put(out, at: 22, me.mac)
            Responder.put(out, at: 28, me.ip)
            Responder.put(out, at: 32, [0, 0, 0, 0, 0, 0])
            Responder.put(out, at: 38, target)
            return Responder.pad(out, 42)
        }
        let sequence = UInt16(sent)
        sent += 1
        let i = Responder.ethernetHeader, c = i + 20
        let total = 20 + 8 + Pinger.payload
        Responder.put(out, at: 0, mac)
        Responder.put(out, at: 6, me.mac)
        Responder.put(out, at: 12, [0x08, 0x00])
        Responder.put(out, at: i, [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, UInt8(sequence & 0xFF), 0x40, 0, 64, 1, 0, 0])
        Responder.put(out, at: i + 12, me.ip)
        Responder.put(out, at: i + 16, target)
        Responder.setChecksum(out, at: i + 10, over: i..<(i + 20))
        Responder.put(out, at: c, [8, 0, 0, 0, UInt8(Pinger.identifier >> 8), UInt8(Pinger.identifier & 0xFF),
                                   UInt8(sequence >> 8), UInt8(sequence & 0xFF)])
        for k in 0..<Pinger.payload { out[c + 8 + k] = 0x61 }
        Responder.setChecksum(out, at: c + 2, over: c..<(i + total))
        return Responder.pad(out, i + total)
    }

    /// An ARP reply from the target, or an echo reply from it.
    mutating func heard(_ f: UnsafeRawBufferPointer) {
        guard f.count >= 42 else { return }
        let type = UInt16(f[12]) << 8 | UInt16(f[13])
        if type == 0x0806, f[20] == 0, f[21] == 2, Responder.equal(f, at: 28, target) {
            if targetMAC == nil { targetMAC = [f[22], f[23], f[24], f[25], f[26], f[27]] }
            nextAt = 0
            return
        }
        guard type == 0x0800, f[14] >> 4 == 4, f[23] == 1, Responder.equal(f, at: 26, target) else { return }
        let c = 14 + Int(f[14] & 0x0F) * 4
        guard f.count >= c + 8, f[c] == 0, UInt16(f[c + 4]) << 8 | UInt16(f[c + 5]) == Pinger.identifier else { return }
        let sequence = Int(f[c + 6]) << 8 | Int(f[c + 7])
        guard sequence < count, !seen[sequence] else { return }
        seen[sequence] = true
        answered += 1
    }
}
