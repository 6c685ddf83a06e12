import TernCore
import TernCPU

/// The 8259 pair for the domain that owns the hardware
/// (Emulation.legacyPICWatch, which Tern gives only with .hardware): its
/// port accesses are passed on to the real chips through a watch on each
/// (Model/LegacyPICWatch.swift, in the domain's DomainContext): Tern learns
/// the vectors and masks it programs, keeps both chips off the exception
/// vectors, and writes ICW1 and ICW2 together so no interrupt can come
/// between them.
enum LegacyPICEmulation {
    /// An intercepted IN/OUT on a PIC port: done on the real PIC, watched.
    static func access(port: UInt16, isIn: Bool, value: UInt8, domain: Domain) -> UInt8 {
        guard domain.context.legacyPIC != nil, domain.emulation.contains(.hardware) else { return 0xFF }
        if isIn { return tern_inb(port) }
        let isMaster = port == LegacyPIC.masterCommand || port == LegacyPIC.masterData
        let (command, data) = isMaster ? (LegacyPIC.masterCommand, LegacyPIC.masterData)
                                       : (LegacyPIC.slaveCommand, LegacyPIC.slaveData)
        let forward: LegacyPICWatch.Forward
        switch port {
        case LegacyPIC.masterCommand: forward = domain.context.legacyPIC!.master.command(value)
        case LegacyPIC.masterData: forward = domain.context.legacyPIC!.master.data(value)
        case LegacyPIC.slaveCommand: forward = domain.context.legacyPIC!.slave.command(value)
        default: forward = domain.context.legacyPIC!.slave.data(value)
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
            let watch = isMaster ? domain.context.legacyPIC!.master : domain.context.legacyPIC!.slave
            if let refused = watch.refusedBase {
                let chip: StaticString = isMaster ? "master" : "slave"
                Log.warning("d\(domain.id): 8259 \(chip) vector base \(refused) is in the exception range: \(Layout.Vector.legacyPICBase) used instead")
            }
        }
        // A real 8259 latches a request while the line is masked and
        // delivers it on unmask: the UART's line may have risen meanwhile
        // (Linux masks IRQ 4 while it handles it).
        if port == LegacyPIC.masterData && domain.context.legacyPIC!.master.expect == .mask {
            SerialPortEmulation.raiseInterruptIfPending(domain)
        }
        return 0
    }

    /// An intercepted IN/OUT on a PIC port of a domain with a virtual
    /// 8259 pair (Emulation.virtualPIC): done on the models alone.
    static func virtualAccess(port: UInt16, isIn: Bool, value: UInt8, domain: Domain) -> UInt8 {
        guard domain.context.legacyPIC != nil, domain.emulation.contains(.virtualPIC) else { return 0xFF }
        let isCommand = port == LegacyPIC.masterCommand || port == LegacyPIC.slaveCommand
        let isMaster = port == LegacyPIC.masterCommand || port == LegacyPIC.masterData
        if isIn {
            let chip = isMaster ? domain.context.legacyPIC!.master : domain.context.legacyPIC!.slave
            return chip.virtualRead(commandPort: isCommand)
        }
        switch port {
        case LegacyPIC.masterCommand: _ = domain.context.legacyPIC!.master.command(value)
        case LegacyPIC.masterData: _ = domain.context.legacyPIC!.master.data(value)
        case LegacyPIC.slaveCommand: _ = domain.context.legacyPIC!.slave.command(value)
        default: _ = domain.context.legacyPIC!.slave.data(value)
        }
        // A line that rose while masked is delivered on unmask, as above.
        if port == LegacyPIC.masterData && domain.context.legacyPIC!.master.expect == .mask {
            SerialPortEmulation.raiseInterruptIfPending(domain)
        }
        return 0
    }

    /// The vector the domain gave ISA `irq` on its master (0-7), nil if masked.
    static func vector(forIRQ irq: UInt8, of domain: Domain) -> UInt8? {
        domain.context.legacyPIC?.master.vector(forLine: irq)
    }
}
