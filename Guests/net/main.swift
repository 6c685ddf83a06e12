import TernGuestC

/// A ported PV guest with a network interface (NetFrontend,
/// docs/netback.md) that answers ARP and ping, as a unikernel would: it
/// takes `ip=` (default 10.0.2.50) on vif 0 and answers ARP requests for
/// it and ICMP echo requests to it, until it is destroyed. It prints one
/// line when connected, and one for the first ARP answered and each echo
/// answered ("net: echo 3 from 10.0.2.15"). With `ping=ADDRESS` it also
/// pings that address `count=` times (default 3), one a second, after
/// resolving it by ARP, and says how many were answered.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let info = StartInfo(startInfo)
    guard info.isValid else { return Int64(TERN_SHUTDOWN_CRASH) }
    guard let ip = Responder.address(info.option("ip") ?? Array("10.0.2.50".utf8)) else {
        print("net: ip= is not an IPv4 address")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    var net: NetFrontend
    do throws(TernError) { net = try NetFrontend.open(devid: 0) } catch {
        print("net: cannot open vif 0: \(error.code)")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    var responder = Responder(mac: net.mac, ip: ip)
    print("net: vif0 connected: mac \(Responder.text(mac: net.mac)), ip \(Responder.text(ip: ip)), mtu \(net.mtu)")
    var pinger = info.option("ping").flatMap(Responder.address).map { Pinger(target: $0, count: Int(info.number("count") ?? 3)) }
    while !net.backendClosed {
        var replies: [[UInt8]] = []
        net.receive { frame in
            let bytes = Array(frame)
            if let reply = responder.answer(bytes) { replies.append(reply) }
            pinger?.heard(bytes, me: responder)
        }
        if let next = pinger?.next(me: responder, now: Tern.now()) { replies.append(next) }
        for reply in replies {
            reply.withUnsafeBytes { bytes in
                do throws(TernError) { try net.send(bytes) } catch { print("net: send failed: \(error.code)") }
            }
        }
        if let done = pinger, done.finished {
            print("net: \(done.answered) of \(done.count) echoes answered by \(Responder.text(ip: done.target))")
            pinger = nil
        }
        if replies.isEmpty { net.wait(until: Tern.now() &+ Pinger.intervalNanoseconds / 4) }
    }
    print("net: the backend closed the interface")
    return Int64(TERN_SHUTDOWN_POWEROFF)
}

/// ARP and ICMP echo for one address (RFC 826, RFC 792), on copies of
/// the frames: nothing here touches shared memory.
struct Responder {
    let mac: [UInt8]
    let ip: [UInt8]
    var arpAnswered = 0, echoesAnswered = 0
    static let ethernetHeader = 14, minimumFrame = 60

    init(mac: [UInt8], ip: [UInt8]) {
        self.mac = mac
        self.ip = ip
    }

    /// The reply to `frame`, if it asks something of this address.
    mutating func answer(_ frame: [UInt8]) -> [UInt8]? {
        guard frame.count >= Responder.ethernetHeader else { return nil }
        let type = UInt16(frame[12]) << 8 | UInt16(frame[13])
        if type == 0x0806 { return arp(frame) }
        if type == 0x0800 { return echo(frame) }
        return nil
    }

    /// An ARP request for our address: the reply saying our MAC.
    mutating func arp(_ f: [UInt8]) -> [UInt8]? {
        let a = Responder.ethernetHeader
        guard f.count >= a + 28, f[a] == 0, f[a + 1] == 1, f[a + 2] == 8, f[a + 3] == 0, f[a + 4] == 6, f[a + 5] == 4,
              f[a + 6] == 0, f[a + 7] == 1, Array(f[(a + 24)..<(a + 28)]) == ip else { return nil }
        let senderMAC = Array(f[(a + 8)..<(a + 14)]), senderIP = Array(f[(a + 14)..<(a + 18)])
        var reply = senderMAC + mac + [0x08, 0x06]
        reply += [0, 1, 8, 0, 6, 4, 0, 2] + mac + ip + senderMAC + senderIP
        arpAnswered += 1
        if arpAnswered == 1 { print("net: arp answered for \(Responder.text(ip: senderIP))") }
        return Responder.padded(reply)
    }

    /// An ICMP echo request to our address: the echo reply.
    mutating func echo(_ f: [UInt8]) -> [UInt8]? {
        let i = Responder.ethernetHeader
        guard f.count >= i + 20, f[i] >> 4 == 4 else { return nil }
        let headerLength = Int(f[i] & 0x0F) * 4
        let total = Int(f[i + 2]) << 8 | Int(f[i + 3])
        guard headerLength >= 20, total >= headerLength + 8, f.count >= i + total, f[i + 9] == 1,
              Array(f[(i + 16)..<(i + 20)]) == ip else { return nil }
        let c = i + headerLength
        guard f[c] == 8, f[c + 1] == 0 else { return nil }   // echo request
        let source = Array(f[(i + 12)..<(i + 16)])
        var reply = Array(f[6..<12]) + mac + [0x08, 0x00] + Array(f[i..<(i + total)])
        // IP: from us to them, TTL 64, checksum again.
        for k in 0..<4 {
            reply[i + 12 + k] = ip[k]
            reply[i + 16 + k] = source[k]
        }
        reply[i + 8] = 64
        Responder.setChecksum(&reply, at: i + 10, over: i..<(i + headerLength))
        // ICMP: an echo reply, checksum again over the whole message.
        reply[c] = 0
        Responder.setChecksum(&reply, at: c + 2, over: c..<(i + total))
        echoesAnswered += 1
        let sequence = Int(f[c + 6]) << 8 | Int(f[c + 7])
        print("net: echo \(sequence) from \(Responder.text(ip: source))")
        return Responder.padded(reply)
    }

    /// The Internet checksum (RFC 1071) of `range`, written at `at` (zeroed first).
    static func setChecksum(_ bytes: inout [UInt8], at: Int, over range: Range<Int>) {
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

    static func padded(_ frame: [UInt8]) -> [UInt8] {
        frame.count >= minimumFrame ? frame : frame + [UInt8](repeating: 0, count: minimumFrame - frame.count)
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
/// apart; counts the replies (each sequence number once).
struct Pinger {
    let target: [UInt8]
    let count: Int
    var targetMAC: [UInt8]?
    var sent = 0, answered = 0
    var nextAt: UInt64 = 0
    var seen: [Bool]
    static let intervalNanoseconds: UInt64 = 1_000_000_000
    static let identifier: UInt16 = 0x7465   // "te"

    init(target: [UInt8], count: Int) {
        self.target = target
        self.count = count
        seen = [Bool](repeating: false, count: count)
    }

    /// All sent, and a second since the last (or all answered).
    var finished: Bool { answered == count || (sent == count && nextAt != 0 && Tern.now() >= nextAt) }

    /// The next frame to send, when it is time: an ARP request until the
    /// target answers, then the echo requests.
    mutating func next(me: Responder, now: UInt64) -> [UInt8]? {
        guard now >= nextAt, sent < count || targetMAC == nil else { return nil }
        nextAt = now &+ Pinger.intervalNanoseconds
        guard let mac = targetMAC else {
            let broadcast: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
            return Responder.padded(broadcast + me.mac + [0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1] + me.mac + me.ip
                                    + [0, 0, 0, 0, 0, 0] + target)
        }
        let sequence = UInt16(sent)
        sent += 1
        let payload = [UInt8](repeating: 0x61, count: 32)
        var icmp: [UInt8] = [8, 0, 0, 0, UInt8(Pinger.identifier >> 8), UInt8(Pinger.identifier & 0xFF),
                             UInt8(sequence >> 8), UInt8(sequence & 0xFF)] + payload
        Responder.setChecksum(&icmp, at: 2, over: 0..<icmp.count)
        let total = 20 + icmp.count
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, UInt8(sequence & 0xFF), 0x40, 0, 64, 1, 0, 0]
            + me.ip + target
        Responder.setChecksum(&ip, at: 10, over: 0..<20)
        return Responder.padded(mac + me.mac + [0x08, 0x00] + ip + icmp)
    }

    /// An ARP reply from the target, or an echo reply from it.
    mutating func heard(_ f: [UInt8], me: Responder) {
        guard f.count >= 42 else { return }
        let type = UInt16(f[12]) << 8 | UInt16(f[13])
        if type == 0x0806, f[20] == 0, f[21] == 2, Array(f[28..<32]) == target {
            targetMAC = Array(f[22..<28])
            nextAt = 0
            return
        }
        guard type == 0x0800, f[14] >> 4 == 4, f[23] == 1, Array(f[26..<30]) == target else { return }
        let c = 14 + Int(f[14] & 0x0F) * 4
        guard f.count >= c + 8, f[c] == 0, UInt16(f[c + 4]) << 8 | UInt16(f[c + 5]) == Pinger.identifier else { return }
        let sequence = Int(f[c + 6]) << 8 | Int(f[c + 7])
        guard sequence < count, !seen[sequence] else { return }
        seen[sequence] = true
        answered += 1
    }
}
