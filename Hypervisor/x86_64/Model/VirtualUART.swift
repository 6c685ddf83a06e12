/// A 16550A UART as Dom0 will see it at COM1 (its I/O ports intercepted):
/// the register model only, host-tested. Output bytes go wherever the
/// caller sends them (Tern's console, prefixed); input comes from the
/// console switch. Enough of the chip for Linux's 8250 driver: its probe
/// (scratch register, FIFO detection through IIR, the loopback check
/// through MCR/MSR), the divisor latch, and the receive and
/// transmit-holding-register-empty interrupts.
/// Register map: PC16550D data sheet, table II.
public struct VirtualUART {
    public enum Register {
        public static let data = 0              // RBR (read) / THR (write); DLL with DLAB
        public static let interruptEnable = 1   // IER; DLM with DLAB
        public static let interruptID = 2       // IIR (read) / FCR (write)
        public static let lineControl = 3       // LCR
        public static let modemControl = 4      // MCR
        public static let lineStatus = 5        // LSR
        public static let modemStatus = 6       // MSR
        public static let scratch = 7           // SCR
        public static let count = 8
    }

    // Bits.
    static let lcrDivisorLatch: UInt8 = 0x80
    static let ierReceive: UInt8 = 0x01
    static let ierTransmitEmpty: UInt8 = 0x02
    static let iirNone: UInt8 = 0x01
    static let iirTransmitEmpty: UInt8 = 0x02
    static let iirReceive: UInt8 = 0x04
    static let iirFIFOsEnabled: UInt8 = 0xC0
    static let fcrEnable: UInt8 = 0x01
    static let fcrClearReceive: UInt8 = 0x02
    static let lsrDataReady: UInt8 = 0x01
    static let lsrTransmitEmpty: UInt8 = 0x60   // THRE and TEMT: output is instant
    static let mcrDTR: UInt8 = 0x01, mcrRTS: UInt8 = 0x02, mcrOut1: UInt8 = 0x04, mcrOut2: UInt8 = 0x08
    static let mcrLoopback: UInt8 = 0x10
    /// Not in loopback: CTS, DSR and DCD asserted (a terminal is there).
    static let msrConnected: UInt8 = 0xB0
    public static let receiveCapacity = 64

    public private(set) var interruptEnable: UInt8 = 0
    public private(set) var lineControl: UInt8 = 0
    public private(set) var modemControl: UInt8 = 0
    public private(set) var scratch: UInt8 = 0
    public private(set) var divisor: UInt16 = 0
    public private(set) var fifoEnabled = false
    private var transmitEmptyPending = false
    private var received: [UInt8] = []

    public init() {}

    /// A guest read of register `offset` (0-7).
    public mutating func read(_ offset: Int) -> UInt8 {
        let dlab = lineControl & VirtualUART.lcrDivisorLatch != 0
        switch offset {
        case Register.data:
            if dlab { return UInt8(truncatingIfNeeded: divisor) }
            return received.isEmpty ? 0 : received.removeFirst()
        case Register.interruptEnable:
            return dlab ? UInt8(truncatingIfNeeded: divisor >> 8) : interruptEnable
        case Register.interruptID:
            let fifo = fifoEnabled ? VirtualUART.iirFIFOsEnabled : 0
            if interruptEnable & VirtualUART.ierReceive != 0 && !received.isEmpty {
                return VirtualUART.iirReceive | fifo
            }
            if interruptEnable & VirtualUART.ierTransmitEmpty != 0 && transmitEmptyPending {
                transmitEmptyPending = false   // reading IIR acknowledges THRE
                return VirtualUART.iirTransmitEmpty | fifo
            }
            return VirtualUART.iirNone | fifo
        case Register.lineControl:
            return lineControl
        case Register.modemControl:
            return modemControl
        case Register.lineStatus:
            return VirtualUART.lsrTransmitEmpty | (received.isEmpty ? 0 : VirtualUART.lsrDataReady)
        case Register.modemStatus:
            guard modemControl & VirtualUART.mcrLoopback != 0 else { return VirtualUART.msrConnected }
            // Loopback wires MCR to MSR: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
            let m = modemControl
            return (m & VirtualUART.mcrRTS != 0 ? 0x10 : 0) | (m & VirtualUART.mcrDTR != 0 ? 0x20 : 0)
                | (m & VirtualUART.mcrOut1 != 0 ? 0x40 : 0) | (m & VirtualUART.mcrOut2 != 0 ? 0x80 : 0)
        case Register.scratch:
            return scratch
        default:
            return 0xFF
        }
    }

    /// A guest write; returns the byte to print when it is output.
    public mutating func write(_ offset: Int, _ value: UInt8) -> UInt8? {
        let dlab = lineControl & VirtualUART.lcrDivisorLatch != 0
        switch offset {
        case Register.data:
            if dlab {
                divisor = (divisor & 0xFF00) | UInt16(value)
                return nil
            }
            transmitEmptyPending = true
            if modemControl & VirtualUART.mcrLoopback != 0 {
                receive(value)   // loopback: what is sent comes back
                return nil
            }
            return value
        case Register.interruptEnable:
            if dlab {
                divisor = (divisor & 0x00FF) | UInt16(value) << 8
            } else {
                // Enabling THRE with the holder empty raises it at once.
                if value & VirtualUART.ierTransmitEmpty != 0 && interruptEnable & VirtualUART.ierTransmitEmpty == 0 {
                    transmitEmptyPending = true
                }
                interruptEnable = value & 0x0F
            }
        case Register.interruptID:
            fifoEnabled = value & VirtualUART.fcrEnable != 0
            if value & VirtualUART.fcrClearReceive != 0 { received.removeAll() }
        case Register.lineControl:
            lineControl = value
        case Register.modemControl:
            modemControl = value & 0x1F
        case Register.scratch:
            scratch = value
        default:
            break   // LSR and MSR are read-only
        }
        return nil
    }

    /// Input for the guest (the console switch); false when the FIFO is full.
    @discardableResult
    public mutating func receive(_ byte: UInt8) -> Bool {
        guard received.count < VirtualUART.receiveCapacity else { return false }
        received.append(byte)
        return true
    }

    public var receiveFull: Bool { received.count >= VirtualUART.receiveCapacity }

    /// The level of the UART's interrupt line (IRQ 4 for COM1).
    public var interruptPending: Bool {
        (interruptEnable & VirtualUART.ierReceive != 0 && !received.isEmpty)
            || (interruptEnable & VirtualUART.ierTransmitEmpty != 0 && transmitEmptyPending)
    }
}
