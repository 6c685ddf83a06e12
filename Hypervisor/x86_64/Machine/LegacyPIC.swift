import TernCore
import TernCPU

/// The legacy 8259 PIC pair: used once at boot, only to be remapped away
/// from the exception vectors and masked. Later the domain that owns the hardware drives it
/// (LegacyPICEmulation).
enum LegacyPIC {
    static let masterCommand = EmulatedDevices.picMasterCommand, masterData = EmulatedDevices.picMasterData
    static let slaveCommand = EmulatedDevices.picSlaveCommand, slaveData = EmulatedDevices.picSlaveData
    static let ports = EmulatedDevices.legacyPICPorts
    static let icw1Init: UInt8 = 0x11       // edge, cascade, ICW4 follows
    static let icw3MasterHasSlaveOnIRQ2: UInt8 = 0x04
    static let icw3SlaveID: UInt8 = 0x02
    static let icw4Mode8086: UInt8 = 0x01
    static let maskAll: UInt8 = 0xFF

    /// Remaps IRQ 0-15 to Layout.Vector.legacyPICBase... and masks them all:
    /// Tern uses the LAPIC; a spurious PIC interrupt then lands on a
    /// vector Tern recognises instead of an exception vector.
    static func remapAndMask() {
        let base = Layout.Vector.legacyPICBase
        tern_outb(masterCommand, icw1Init)
        tern_outb(slaveCommand, icw1Init)
        tern_outb(masterData, base)
        tern_outb(slaveData, base + 8)
        tern_outb(masterData, icw3MasterHasSlaveOnIRQ2)
        tern_outb(slaveData, icw3SlaveID)
        tern_outb(masterData, icw4Mode8086)
        tern_outb(slaveData, icw4Mode8086)
        tern_outb(masterData, maskAll)
        tern_outb(slaveData, maskAll)
    }
}
