import TernCore
import TernCPU

/// Dom0's COM1: the virtual 16550A (Model/VirtualUART.swift) behind its
/// intercepted ports. Output goes to Tern's console as `(d0) ...` lines,
/// byte by byte (Console.dom0Output); its interrupt line is IRQ 4, raised
/// as the vector Dom0 gave it: on its IOAPIC pin 4 in APIC mode
/// (HardwareInterrupts.raiseISA), on the 8259 otherwise (Dom0PIC snoops the
/// initialisation).
enum Dom0Console {
    static let irq: UInt8 = 4
    static let ports = EmulatedDevices.serialPorts
    static let base = ports.lowerBound

    /// An intercepted IN/OUT on a COM1 port; returns the value for IN.
    static func access(port: UInt16, isIn: Bool, value: UInt8, domain: Domain) -> UInt8 {
        let register = Int(port - base)
        var result: UInt8 = 0
        if isIn {
            result = uart.read(register)
        } else if let byte = uart.write(register, value) {
            Console.dom0Output(byte)
        }
        raiseInterruptIfPending(domain)
        return result
    }

    /// A byte typed for Dom0 (the console switch gave it the input).
    static func input(_ byte: UInt8, domain: Domain) {
        uart.receive(byte)
        raiseInterruptIfPending(domain)
        Interrupts.reflectedSinceLastCheck = true   // wake Dom0 if it halted
    }

    static func raiseInterruptIfPending(_ domain: Domain) {
        guard uart.interruptPending else { return }
        if let vcpu = domain.vcpus.first, LocalAPICEmulation.isActive(vcpu) {
            HardwareInterrupts.raiseISA(irq: irq, owner: domain)
        } else if let vector = Dom0PIC.vector(forIRQ: irq), let vcpu = domain.vcpus.first {
            vcpu.pendingVectors.insert(vector)
        }
    }
}
