import TernCPU

/// Dom0's COM1: the virtual 16550A (Model/VirtualUART.swift) behind its
/// intercepted ports. Output goes to Tern's console as `(d0) ...` lines,
/// byte by byte (Console.dom0Output); its interrupt line is IRQ 4, raised
/// as the vector Dom0 gave it: on its IOAPIC pin 4 in APIC mode
/// (Dom0APIC.raiseISA), on the 8259 otherwise (Dom0PIC snoops the
/// initialisation).
enum Dom0Console {
    static let irq: UInt8 = 4
    static let base: UInt16 = 0x3F8
    static let ports: ClosedRange<UInt16> = 0x3F8...0x3FF
    // SAFETY: Dom0's port exits and the console input poll, both in the
    // run loop; never the interrupt handler.
    nonisolated(unsafe) static var uart = VirtualUART()

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
        if Dom0APIC.isActive {
            Dom0APIC.raiseISA(irq: irq, dom0: domain)
        } else if let vector = Dom0PIC.vector(forIRQ: irq), let vcpu = domain.vcpus.first {
            vcpu.pendingVectors.insert(vector)
        }
    }
}

/// Dom0 owns the 8259 pair; Tern passes its port accesses on through a
/// watch on each chip (Model/LegacyPICWatch.swift): it learns the vectors
/// and masks Dom0 programs, keeps both chips off the exception vectors, and
/// writes ICW1 and ICW2 together so no interrupt can come between them.
enum Dom0PIC {
    static let masterCommand: UInt16 = 0x20, masterData: UInt16 = 0x21
    static let slaveCommand: UInt16 = 0xA0, slaveData: UInt16 = 0xA1
    static let ports: [UInt16] = [masterCommand, masterData, slaveCommand, slaveData]

    // SAFETY (both): Dom0's port exits and the run loop's interrupt raising
    // only; never the interrupt handler.
    nonisolated(unsafe) static var master = LegacyPICWatch(minimumVectorBase: Layout.Vector.legacyPICBase)
    nonisolated(unsafe) static var slave = LegacyPICWatch(minimumVectorBase: Layout.Vector.legacyPICBase)

    /// The vector of ISA `irq` on the master (0-7), nil if masked.
    static func vector(forIRQ irq: UInt8) -> UInt8? {
        master.vector(forLine: irq)
    }

    /// An intercepted IN/OUT on a PIC port: done on the real PIC, watched.
    static func access(port: UInt16, isIn: Bool, value: UInt8) -> UInt8 {
        if isIn { return tern_inb(port) }
        let isMaster = port == masterCommand || port == masterData
        let (command, data) = isMaster ? (masterCommand, masterData) : (slaveCommand, slaveData)
        let forward: LegacyPICWatch.Forward
        switch port {
        case masterCommand: forward = master.command(value)
        case masterData: forward = master.data(value)
        case slaveCommand: forward = slave.command(value)
        default: forward = slave.data(value)
        }
        switch forward {
        case .nothing:
            break
        case .write(let byte):
            tern_outb(port, byte)
        case .initialise(let icw1, let icw2):
            // Interrupts are off in every exit handler: nothing comes
            // between the two (see LegacyPICWatch on why that matters).
            tern_outb(command, icw1)
            tern_outb(data, icw2)
            if let refused = (isMaster ? master : slave).refusedBase {
                let chip: StaticString = isMaster ? "master" : "slave"
                Log.warning("d0: 8259 \(chip) vector base \(refused) is in the exception range: \(Layout.Vector.legacyPICBase) used instead")
            }
        }
        // A real 8259 latches a request while the line is masked and
        // delivers it on unmask: the UART's line may have risen meanwhile
        // (Linux masks IRQ 4 while it handles it).
        if port == masterData && master.expect == .mask, let dom0 = Domains.domain(0) {
            Dom0Console.raiseInterruptIfPending(dom0)
        }
        return 0
    }
}

/// Who gets what is typed on the serial console: Dom0 (when it exists) or
/// Tern. Ctrl-A three times in a row switches, as in Xen. (Under QEMU's
/// `-serial mon:stdio`, Ctrl-A is QEMU's own escape: type Ctrl-A Ctrl-A to
/// send one Ctrl-A, so six presses in all.) Polled at each timer tick.
enum ConsoleInput {
    static let switchByte: UInt8 = 0x01      // Ctrl-A
    static let switchPresses = 3
    // SAFETY (both): only poll() touches them, from the run loop's tick.
    nonisolated(unsafe) static var toDom0 = true
    nonisolated(unsafe) static var presses = 0

    /// Reads only while Dom0's receive FIFO has room: what is not read yet
    /// waits in the UART (and in whatever feeds it), so typing ahead or
    /// pasting loses nothing.
    static func poll() {
        while !(toDom0 && Dom0Console.uart.receiveFull), let byte = Serial.readByte() {
            if byte == switchByte {
                presses += 1
                if presses == switchPresses {
                    presses = 0
                    toDom0.toggle()
                    let who: StaticString = toDom0 ? "Dom0" : "Tern"
                    Log.info("console input now goes to \(who) (Ctrl-A three times switches)")
                }
                continue
            }
            // Fewer than three Ctrl-A: they were meant for the target.
            for _ in 0..<presses { deliver(switchByte) }
            presses = 0
            deliver(byte)
        }
    }

    static func deliver(_ byte: UInt8) {
        guard toDom0, let dom0 = Domains.domain(0), !dom0.state.isStopped else { return }
        Dom0Console.input(byte, domain: dom0)
    }
}
