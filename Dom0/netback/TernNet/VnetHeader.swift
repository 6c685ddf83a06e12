/// The header a tap opened with IFF_VNET_HDR puts before each frame, both
/// ways (Linux's struct virtio_net_hdr, include/uapi/linux/virtio_net.h:
/// 10 bytes, little-endian): how its checksum and segmentation were left
/// (docs/netback.md, "Offloads"). Dom0's kernel checks it on every write
/// (virtio_net_hdr_to_skb): a wrong one makes it refuse the frame, nothing
/// worse.
public struct VnetHeader: Equatable {
    public var flags: UInt8 = 0
    public var gsoType: UInt8 = VnetHeader.gsoNone
    public var headerLength: UInt16 = 0
    public var gsoSize: UInt16 = 0
    public var checksumStart: UInt16 = 0
    public var checksumOffset: UInt16 = 0

    public init() {}

    /// struct virtio_net_hdr's size (no num_buffers: not mergeable buffers).
    public static let size = 10
    /// flags: the checksum is to be filled in (from checksumStart, its field
    /// at checksumOffset past it), or it was checked.
    public static let needsChecksum: UInt8 = 1
    public static let dataValid: UInt8 = 2
    /// gsoType (VIRTIO_NET_HDR_GSO_*); the ECN bit may be added to a TCP type.
    public static let gsoNone: UInt8 = 0
    public static let gsoTCPv4: UInt8 = 1
    public static let gsoUDP: UInt8 = 3
    public static let gsoTCPv6: UInt8 = 4
    public static let gsoECN: UInt8 = 0x80

    /// Reads one from its 10 bytes.
    public init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= VnetHeader.size)
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        flags = bytes[0]
        gsoType = bytes[1]
        headerLength = u16(2)
        gsoSize = u16(4)
        checksumStart = u16(6)
        checksumOffset = u16(8)
    }

    /// Writes its 10 bytes.
    public func write(to bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= VnetHeader.size)
        func put(_ value: UInt16, _ at: Int) {
            bytes[at] = UInt8(truncatingIfNeeded: value)
            bytes[at + 1] = UInt8(truncatingIfNeeded: value >> 8)
        }
        bytes[0] = flags
        bytes[1] = gsoType
        put(headerLength, 2)
        put(gsoSize, 4)
        put(checksumStart, 6)
        put(checksumOffset, 8)
    }
}
