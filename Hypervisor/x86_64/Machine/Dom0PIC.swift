import TernCore
import TernCPU

/// Dom0 owns the 8259 pair; Tern passes its port accesses on through a
/// watch on each chip (Model/LegacyPICWatch.swift): it learns the vectors
/// and masks Dom0 programs, keeps both chips off the exception vectors, and
/// writes ICW1 and ICW2 together so no interrupt can come between them.
enum Dom0PIC {
    /// The ports whose accesses come here (intercepted in Dom0's I/O map).
    static let ports = LegacyPIC.ports

    /// The vector of ISA `irq` on the master (0-7), nil if masked.
    static func vector(forIRQ irq: UInt8) -> UInt8? {
        master.vector(forLine: irq)
    }

    /// An intercepted IN/OUT on a PIC port: done on the real PIC, watched.
    static func access(port: UInt16, isIn: Bool, value: UInt8) -> UInt8 {
        if isIn { return tern_inb(port) }
        let isMaster = port == LegacyPIC.masterCommand || port == LegacyPIC.masterData
        let (command, data) = isMaster ? (LegacyPIC.masterCommand, LegacyPIC.masterData)
                                       : (LegacyPIC.slaveCommand, LegacyPIC.slaveData)
        let forward: LegacyPICWatch.Forward
        switch port {
        case LegacyPIC.masterCommand: forward = master.command(value)
        case LegacyPIC.masterData: forward = master.data(value)
        case LegacyPIC.slaveCommand: forward = slave.command(value)
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
        if port == LegacyPIC.masterData && master.expect == .mask, let dom0 = Domains.deviceOwner {
            Dom0Console.raiseInterruptIfPending(dom0)
        }
        return 0
    }
}
