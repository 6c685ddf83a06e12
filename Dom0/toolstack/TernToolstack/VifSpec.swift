import TernABI

/// One entry of a guest config's `vif = [ ... ]` (docs/toolstack.md
/// "Network interfaces", docs/netback.md): the subset of xl's vif spec
/// Tern serves, `key=value` pairs separated by commas:
/// `mac=02:54:...` (a unicast address; default: derived from the guest's
/// name and the interface's number, locally administered), `bridge=br0`
/// (Dom0's bridge its tap joins; the default), `rate=10Mb/s` or
/// `rate=5MB/s@20ms` (xl's: bytes B/KB/MB/GB or bits b/Kb/Mb/Gb a second,
/// decimal, the credit replenished every interval, 50 ms by default).
public struct VifSpec: Equatable {
    public var mac: [UInt8]?
    public var bridge: String
    public var rate: Rate?

    public struct Rate: Equatable {
        public let bytesPerSecond: UInt64
        public let intervalMicroseconds: UInt64
        /// xl's default replenishment interval.
        public static let defaultIntervalMicroseconds: UInt64 = 50_000

        /// Bytes the interface may send per interval.
        public var bytesPerInterval: UInt64 { bytesPerSecond * intervalMicroseconds / 1_000_000 }

        /// As the saved config writes it (xl's syntax): parses back to itself.
        public var text: String { "\(bytesPerSecond)B/s@\(intervalMicroseconds)us" }
    }

    public static let defaultBridge = "br0"
    /// Linux's IFNAMSIZ less its NUL.
    public static let interfaceNameMax = 15

    public struct Problem: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(Problem) -> VifSpec {
        var spec = VifSpec(mac: nil, bridge: defaultBridge, rate: nil)
        var seen: Set<String> = []
        for piece in text.split(separator: ",", omittingEmptySubsequences: true) {
            let item = piece.trimmingSpaces()
            if item.isEmpty { continue }
            guard let equals = item.firstIndex(of: "=") else {
                throw Problem(description: "\"\(item)\" is not key=value (Tern knows mac, bridge, rate)")
            }
            let key = String(item[..<equals]).lowercased(), value = String(item[item.index(after: equals)...])
            guard seen.insert(key).inserted else { throw Problem(description: "\(key) is given twice") }
            switch key {
            case "mac": spec.mac = try mac(value)
            case "bridge":
                guard isInterfaceName(value) else {
                    throw Problem(description: "bridge \"\(value)\" is not an interface name (1-15 of A-Z a-z 0-9 . _ -)")
                }
                spec.bridge = value
            case "rate": spec.rate = try rate(value)
            default: throw Problem(description: "unknown vif key \"\(key)\" (Tern knows mac, bridge, rate)")
            }
        }
        return spec
    }

    /// "02:54:aa:bb:cc:dd" (or with dashes): six hex octets, unicast.
    public static func mac(_ text: String) throws(Problem) -> [UInt8] {
        let octets = text.split(whereSeparator: { $0 == ":" || $0 == "-" })
        guard octets.count == 6, octets.allSatisfy({ $0.count == 2 }) else {
            throw Problem(description: "mac \"\(text)\" is not six hex octets (02:54:00:12:34:56)")
        }
        var bytes: [UInt8] = []
        for octet in octets {
            guard let byte = UInt8(octet, radix: 16) else {
                throw Problem(description: "mac \"\(text)\" is not six hex octets (02:54:00:12:34:56)")
            }
            bytes.append(byte)
        }
        guard bytes[0] & 1 == 0 else { throw Problem(description: "mac \(text) is a multicast address (the first octet's low bit)") }
        guard bytes != [0, 0, 0, 0, 0, 0] else { throw Problem(description: "mac \(text) is all zero") }
        return bytes
    }

    /// xl's rate: RATE/s[@INTERVAL].
    static func rate(_ text: String) throws(Problem) -> Rate {
        let parts = text.split(separator: "@", maxSplits: 1)
        let amount = String(parts[0])
        guard amount.hasSuffix("/s") else { throw Problem(description: "rate \"\(text)\" is not RATE/s (10Mb/s, 5MB/s@20ms)") }
        let number = amount.dropLast(2)
        // Decimal, as xl's: K 10^3, M 10^6, G 10^9; bits are an eighth of a byte.
        let units: [(String, UInt64)] = [("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("B", 1),
                                         ("Gb", 125_000_000), ("Mb", 125_000), ("Kb", 125)]
        var bytesPerSecond: UInt64?
        for (suffix, scale) in units where number.hasSuffix(suffix) {
            if let n = UInt64(number.dropLast(suffix.count)), n > 0 { bytesPerSecond = n.multipliedReportingOverflow(by: scale).overflow ? nil : n * scale }
            break
        }
        if bytesPerSecond == nil, number.hasSuffix("b"), let n = UInt64(number.dropLast()), n >= 8 { bytesPerSecond = n / 8 }
        guard let bytesPerSecond else {
            throw Problem(description: "rate \"\(text)\": RATE is a number and B, KB, MB, GB (bytes) or b, Kb, Mb, Gb (bits)")
        }
        var interval = Rate.defaultIntervalMicroseconds
        if parts.count == 2 {
            let given = parts[1]
            let scales: [(String, UInt64)] = [("ms", 1000), ("us", 1), ("s", 1_000_000)]
            var parsed: UInt64?
            for (suffix, scale) in scales where given.hasSuffix(suffix) {
                if let n = UInt64(given.dropLast(suffix.count)), n > 0, n <= 10_000_000 / scale { parsed = n * scale }
                break
            }
            guard let parsed else { throw Problem(description: "rate interval \"\(given)\" is not 1 us to 10 s (us, ms, s)") }
            interval = parsed
        }
        return Rate(bytesPerSecond: bytesPerSecond, intervalMicroseconds: interval)
    }

    static func isInterfaceName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= interfaceNameMax && name.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
        }
    }

    /// The address interface `index` of guest `name` gets without `mac=`:
    /// locally administered and unicast (first octet 02), the other five
    /// octets from a hash (FNV-1a) of the name and the index, so the guest
    /// keeps its address across restarts.
    public static func defaultMAC(guest name: String, index: Int) -> [UInt8] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array("\(name)/\(index)".utf8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return [0x02] + (0..<5).map { UInt8(truncatingIfNeeded: hash >> (8 * $0)) }
    }

    /// "02:54:00:12:34:56": six octets of two digits, five colons.
    public static let macTextLength = 17

    public static func macText(_ mac: [UInt8]) -> String {
        mac.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: ":")
    }

    /// The spec as the saved config writes it: parses back to itself.
    public var text: String {
        var items: [String] = []
        if let mac { items.append("mac=\(VifSpec.macText(mac))") }
        items.append("bridge=\(bridge)")
        if let rate { items.append("rate=\(rate.text)") }
        return items.joined(separator: ",")
    }
}
