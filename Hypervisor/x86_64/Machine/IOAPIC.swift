import TernCore
import TernCPU

/// The machine's IOAPIC, which Dom0 programs itself (it is mapped into
/// Dom0). Tern only reads it: which vector Dom0 gave an ISA line, so that a
/// virtual device on that line (the UART, IRQ 4) raises the same vector.
/// Registers through an index/data pair (IOREGSEL at 0x00, IOWIN at 0x10;
/// 82093AA datasheet, 3.1); redirection entry n is registers 0x10 + 2n
/// (low half: vector, delivery, mask) and 0x11 + 2n.
enum IOAPIC {
    static let select: UInt64 = 0x00
    static let window: UInt64 = 0x10
    static let redirectionBase: UInt32 = 0x10
    static let masked: UInt32 = 1 << 16

    /// Dom0's vector for `pin` (ISA IRQs 1-15 are pins 1-15 on PCs unless
    /// the MADT overrides them; IRQ 4 never is), nil if masked.
    static func vector(forPin pin: UInt32) -> UInt8? {
        let low = raw(pin: pin)
        guard low & masked == 0, low & 0xFF >= 0x10 else { return nil }
        return UInt8(truncatingIfNeeded: low)
    }

    /// The low half of redirection entry `pin`.
    static func raw(pin: UInt32) -> UInt32 {
        // Dom0 may be between its own select and window accesses (Tern
        // runs at one of its exits): put its selection back.
        let saved = tern_mmio_read32(Layout.ioapicVirtual + select)
        tern_mmio_write32(Layout.ioapicVirtual + select, redirectionBase + 2 * pin)
        let low = tern_mmio_read32(Layout.ioapicVirtual + window)
        tern_mmio_write32(Layout.ioapicVirtual + select, saved)
        return low
    }
}
