import TernCore
import TernCPU

/// COM1, a 16550-compatible UART, polled: Tern's console and log. The
/// hypervisor keeps this port for itself (docs/architecture.md).
enum Serial {
    static let com1: UInt16 = 0x3F8
    // 16550 registers, as offsets from the base port.
    static let data: UInt16 = 0               // THR/RBR; divisor low with DLAB
    static let interruptEnable: UInt16 = 1    // IER; divisor high with DLAB
    static let fifoControl: UInt16 = 2        // FCR
    static let lineControl: UInt16 = 3        // LCR
    static let modemControl: UInt16 = 4       // MCR
    static let lineStatus: UInt16 = 5         // LSR

    static let lcrDivisorLatch: UInt8 = 0x80
    static let lcr8N1: UInt8 = 0x03
    static let fcrEnableAndClear: UInt8 = 0xC7 // FIFO on, both cleared, 14-byte trigger
    static let mcrDTRAndRTS: UInt8 = 0x03      // no OUT2: the UART raises no IRQ
    static let lsrTransmitEmpty: UInt8 = 0x20
    /// 115200 baud: the 1.8432 MHz clock / 16 / divisor 1.
    static let divisor115200: UInt8 = 1
    /// Give up on a byte after this many polls (no UART present).
    static let maxPolls = 100_000

    static func initialize() {
        tern_outb(com1 + interruptEnable, 0)
        tern_outb(com1 + lineControl, lcrDivisorLatch)
        tern_outb(com1 + data, divisor115200)
        tern_outb(com1 + interruptEnable, 0)
        tern_outb(com1 + lineControl, lcr8N1)
        tern_outb(com1 + fifoControl, fcrEnableAndClear)
        tern_outb(com1 + modemControl, mcrDTRAndRTS)
    }

    static let lsrDataReady: UInt8 = 0x01

    /// A byte typed on the console, if one is waiting (polled).
    static func readByte() -> UInt8? {
        guard tern_inb(com1 + lineStatus) & lsrDataReady != 0 else { return nil }
        return tern_inb(com1 + data)
    }

    static func write(byte: UInt8) {
        var polls = 0
        while tern_inb(com1 + lineStatus) & lsrTransmitEmpty == 0 && polls < maxPolls {
            tern_pause()
            polls += 1
        }
        tern_outb(com1 + data, byte)
    }

    /// Writes text, turning "\n" into "\r\n" for terminals.
    static func write(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            if byte == UInt8(ascii: "\n") { write(byte: UInt8(ascii: "\r")) }
            write(byte: byte)
        }
    }
}
