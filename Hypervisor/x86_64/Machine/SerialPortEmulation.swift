import TernCore
import TernCPU

/// COM1 of a domain built with Emulation.serialPort: the virtual 16550A
/// (Model/VirtualUART.swift, one per domain in its DomainContext) behind
/// the domain's intercepted ports. Output goes to Tern's console as
/// `(dN) ...` lines, byte by byte (Console.uartOutput); its interrupt is
/// ISA IRQ 4, raised through the domain's interrupt controller
/// (InterruptDelivery.raiseISALine).
enum SerialPortEmulation {
    static let irq: UInt8 = 4
    static let base = EmulatedDevices.serialPorts.lowerBound

    /// An intercepted IN/OUT on one of its COM1 ports; returns the value
    /// for IN. The bus only sends a domain with a UART here.
    static func access(port: UInt16, isIn: Bool, value: UInt8, domain: Domain) -> UInt8 {
        guard domain.context.uart != nil else { return 0xFF }
        let register = Int(port - base)
        var result: UInt8 = 0
        if isIn {
            result = domain.context.uart!.read(register)
        } else if let byte = domain.context.uart!.write(register, value) {
            Console.uartOutput(byte, from: domain)
        }
        raiseInterruptIfPending(domain)
        return result
    }

    /// Room for a typed byte (its receive FIFO is not full).
    static func canReceive(_ domain: Domain) -> Bool {
        guard let uart = domain.context.uart else { return false }
        return !uart.receiveFull
    }

    /// A byte typed for the domain (the console switch gave it the input).
    static func input(_ byte: UInt8, domain: Domain) {
        guard domain.context.uart != nil else { return }
        domain.context.uart!.receive(byte)
        raiseInterruptIfPending(domain)
        InterruptDelivery.raisedSinceLastCheck = true   // wake it if it halted
    }

    /// Its line is up: an interrupt it enabled is pending.
    static func interruptPending(_ domain: Domain) -> Bool {
        domain.context.uart?.interruptPending ?? false
    }

    static func raiseInterruptIfPending(_ domain: Domain) {
        if interruptPending(domain) { InterruptDelivery.raiseISALine(irq, domain) }
    }
}
