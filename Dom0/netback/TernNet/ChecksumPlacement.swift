/// Where a frame's TCP or UDP checksum goes, found from its headers, for a
/// frame whose checksum the guest left blank (TERN_NETTXF_CSUM_BLANK):
/// Dom0's kernel fills it in from `start` (the transport header), its
/// field `offset` bytes further, as Linux netback's checksum_setup works
/// it out. Ethernet, one optional VLAN tag, then IPv4 (any header length;
/// not a later fragment) or IPv6 with TCP or UDP as its next header.
/// Pure: it reads only the header bytes it is given (a copy).
public struct ChecksumPlacement: Equatable {
    public let start: Int
    public let offset: Int
    /// The headers' length up to the transport payload (TCP: its data
    /// offset; UDP: 8): the vnet header's hdr_len.
    public let headersLength: Int
    public let isTCP: Bool
    public let isIPv6: Bool

    static let ethernetHeader = 14
    static let vlanTag = 4
    static let etherTypeIPv4: UInt16 = 0x0800
    static let etherTypeIPv6: UInt16 = 0x86DD
    static let etherTypeVLAN: UInt16 = 0x8100
    static let ipv4MinimumHeader = 20
    static let ipv6Header = 40
    static let protocolTCP: UInt8 = 6
    static let protocolUDP: UInt8 = 17
    static let tcpChecksumField = 16
    static let udpChecksumField = 6
    static let tcpMinimumHeader = 20
    static let udpHeader = 8
    /// The most header bytes a caller needs to copy for `locate`: Ethernet
    /// and a tag, IPv4's longest header, TCP's longest.
    public static let headerBytesNeeded = 14 + 4 + 60 + 60

    /// nil: not TCP or UDP over IPv4 or IPv6 as above, or cut short.
    public static func locate(_ header: UnsafeRawBufferPointer) -> ChecksumPlacement? {
        func u16(_ at: Int) -> UInt16? { at + 2 <= header.count ? UInt16(header[at]) << 8 | UInt16(header[at + 1]) : nil }
        guard var etherType = u16(12) else { return nil }
        var network = ethernetHeader
        if etherType == etherTypeVLAN {
            guard let inner = u16(16) else { return nil }
            etherType = inner
            network += vlanTag
        }
        let transport: Int, proto: UInt8
        switch etherType {
        case etherTypeIPv4:
            guard network + ipv4MinimumHeader <= header.count, header[network] >> 4 == 4 else { return nil }
            let length = Int(header[network] & 0x0F) * 4
            guard length >= ipv4MinimumHeader, let fragment = u16(network + 6) else { return nil }
            guard fragment & 0x1FFF == 0 else { return nil }   // a later fragment has no transport header
            transport = network + length
            proto = header[network + 9]
        case etherTypeIPv6:
            guard network + ipv6Header <= header.count, header[network] >> 4 == 6 else { return nil }
            transport = network + ipv6Header
            proto = header[network + 6]
        default:
            return nil
        }
        switch proto {
        case protocolTCP:
            guard transport + tcpMinimumHeader <= header.count else { return nil }
            let length = Int(header[transport + 12] >> 4) * 4
            guard length >= tcpMinimumHeader else { return nil }
            return ChecksumPlacement(start: transport, offset: tcpChecksumField, headersLength: transport + length,
                                     isTCP: true, isIPv6: etherType == etherTypeIPv6)
        case protocolUDP:
            guard transport + udpHeader <= header.count else { return nil }
            return ChecksumPlacement(start: transport, offset: udpChecksumField, headersLength: transport + udpHeader,
                                     isTCP: false, isIPv6: etherType == etherTypeIPv6)
        default:
            return nil
        }
    }
}
