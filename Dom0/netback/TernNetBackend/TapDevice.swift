import Glibc
import TernNet
import TernSyscalls

/// A guest interface's end in Dom0: a tap device (`vifD.N`, as Xen names
/// them) on a bridge (docs/netback.md). Frames the guest sends are written
/// to it; frames the bridge sends the guest are read from it. Its queue in
/// Dom0's kernel is bounded (txqueuelen): frames the guest has no page for
/// wait there, or are dropped and counted by the kernel (`ip -s link`).
/// Every frame carries a virtio-net header (IFF_VNET_HDR; VnetHeader)
/// saying how its checksum and segmentation were left.
public final class TapDevice: PacketPort {
    public let name: String
    /// -1 once destroyed.
    public private(set) var fd: Int32

    /// The tap's own address: Xen's fe:ff:ff:ff:ff:ff, the highest, so a
    /// bridge never takes it as its own (br0 keeps eth0's anyway).
    static let tapMAC: [UInt8] = [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]

    public enum Failure: Error, CustomStringConvertible {
        case open(String, Int32)
        case configure(String, Int32)
        case bridge(String, String, Int32)

        public var description: String {
            switch self {
            case .open(let name, let e): return "cannot make tap \(name): \(String(cString: strerror(-e)))"
            case .configure(let name, let e): return "cannot bring up \(name): \(String(cString: strerror(-e)))"
            case .bridge(let bridge, let name, let e):
                return "cannot put \(name) on bridge \(bridge): \(String(cString: strerror(-e)))" + (e == -ENODEV ? " (no such bridge)" : "")
            }
        }
    }

    /// Makes tap `name` with `mtu`, up, on `bridge`.
    public init(name: String, bridge: String, mtu: Int) throws(Failure) {
        let fd = tern_tap_open(name)
        guard fd >= 0 else { throw .open(name, fd) }
        self.fd = fd
        self.name = name
        let configured = TapDevice.tapMAC.withUnsafeBufferPointer { tern_link_configure(name, $0.baseAddress, Int32(mtu)) }
        guard configured == 0 else { throw .configure(name, configured) }
        let bridged = tern_bridge_add(bridge, name)
        guard bridged == 0 else { throw .bridge(bridge, name, bridged) }
    }

    /// A tap made by another process (a backend's supervisor, which keeps
    /// it across restarts of the serving process): descriptor `fd`.
    public init(adopting fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    /// The tap goes with its last descriptor (and leaves the bridge).
    deinit { destroy() }

    /// Closes this process's descriptor now: the tap is gone from Dom0
    /// when it was the last (a supervisor whose worker ended).
    public func destroy() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    /// Which offloads the tap may leave to us (TUNSETOFFLOAD, per
    /// connection: what the frontend took). Without them Dom0's kernel
    /// fills in checksums and cuts segments before the frame reaches us.
    public func setOffloads(_ offloads: NetOffloads) -> Int32 {
        tern_tap_set_offloads(fd, offloads.checksum ? 1 : 0, offloads.checksum && offloads.segmentation ? 1 : 0)
    }

    public func send(_ parts: [UnsafeRawBufferPointer], header: VnetHeader) -> Bool {
        var bytes = (UInt64(0), UInt16(0))   // VnetHeader.size (10) bytes and more
        return withUnsafeMutableBytes(of: &bytes) { raw in
            header.write(to: raw)
            var vectors = [iovec(iov_base: raw.baseAddress, iov_len: VnetHeader.size)]
            vectors += parts.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
            let total = parts.reduce(VnetHeader.size) { $0 + $1.count }
            // SAFETY: each iovec names a part the caller keeps mapped for the
            // call, or the header's bytes, alive in this closure.
            let written = writev(fd, &vectors, Int32(vectors.count))
            return written == total
        }
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer) -> (length: Int, header: VnetHeader)? {
        var bytes = (UInt64(0), UInt16(0))
        return withUnsafeMutableBytes(of: &bytes) { raw in
            var vectors = [iovec(iov_base: raw.baseAddress, iov_len: VnetHeader.size),
                           iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)]
            // SAFETY: the header's bytes (alive in this closure) and
            // `buffer` (the caller's, writable, buffer.count bytes).
            let got = readv(fd, &vectors, Int32(vectors.count))
            guard got > VnetHeader.size else { return nil }
            return (got - VnetHeader.size, VnetHeader(UnsafeRawBufferPointer(raw)))
        }
    }
}
