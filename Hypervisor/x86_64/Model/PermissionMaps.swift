/// The SVM I/O and MSR permission maps (AMD APM vol. 2, 15.10 and 15.11):
/// a set bit intercepts. Tern starts from "intercept everything" and opens
/// only what a domain may touch directly.
public enum PermissionMaps {
    /// IOPM: one bit per port, 64 Ki ports + 3 bits = 12 KiB (3 pages).
    public static let ioPages = 3
    /// MSRPM: two bits (read, write) per MSR in three ranges = 8 KiB.
    public static let msrPages = 2

    /// Byte and bit of the read-intercept bit of `msr` in the MSRPM (the
    /// write bit is the next one), or nil for MSRs outside the three
    /// ranges (always intercepted).
    public static func msrBit(_ msr: UInt32) -> (byte: Int, bit: Int)? {
        let rangeSize: UInt32 = 0x2000
        let start: UInt32, offset: Int
        switch msr {
        case 0x0000_0000..<rangeSize: (start, offset) = (0x0000_0000, 0x000)
        case 0xC000_0000..<(0xC000_0000 + rangeSize): (start, offset) = (0xC000_0000, 0x800)
        case 0xC001_0000..<(0xC001_0000 + rangeSize): (start, offset) = (0xC001_0000, 0x1000)
        default: return nil
        }
        let index = Int(msr - start) * 2
        return (offset + index / 8, index % 8)
    }

    /// Lets the guest read and write `msr` without an exit.
    public static func allow(msr: UInt32, in map: UnsafeMutableRawBufferPointer) {
        guard let (byte, bit) = msrBit(msr), byte < map.count else { return }
        map[byte] &= ~(UInt8(0b11) << UInt8(bit))
    }

    public static func isIntercepted(msr: UInt32, write: Bool, in map: UnsafeRawBufferPointer) -> Bool {
        guard let (byte, bit) = msrBit(msr), byte < map.count else { return true }
        return map[byte] & (1 << UInt8(bit + (write ? 1 : 0))) != 0
    }

    public static func deny(port: UInt16, in map: UnsafeMutableRawBufferPointer) {
        map[Int(port) / 8] |= 1 << UInt8(port % 8)
    }

    public static func allow(port: UInt16, in map: UnsafeMutableRawBufferPointer) {
        map[Int(port) / 8] &= ~(1 << UInt8(port % 8))
    }

    public static func isIntercepted(port: UInt16, in map: UnsafeRawBufferPointer) -> Bool {
        map[Int(port) / 8] & (1 << UInt8(port % 8)) != 0
    }
}
