import TernCPU

/// The 8254 PIT and the legacy 8259 PICs: used once at boot, the PIT as a
/// known clock to calibrate the TSC and the LAPIC timer, the PICs only to
/// be remapped away from the exception vectors and masked.
enum PIT {
    static let frequencyHz: UInt64 = 1_193_182
    static let channel2Data: UInt16 = 0x42
    static let command: UInt16 = 0x43
    /// Port 0x61 (NMI status and control): bit 0 gates channel 2, bit 1
    /// drives the speaker, bit 5 reads channel 2's output.
    static let control: UInt16 = 0x61
    static let gate2: UInt8 = 1 << 0
    static let speaker: UInt8 = 1 << 1
    static let output2: UInt8 = 1 << 5
    /// Channel 2, lobyte/hibyte access, mode 0 (interrupt on terminal count), binary.
    static let channel2Mode0: UInt8 = 0xB0
    static let calibrationMilliseconds: UInt64 = 10

    struct Calibration {
        var tscHz: UInt64
        var lapicCountsPerSecond: UInt64
    }

    /// Measures the TSC and the LAPIC timer (divide by 16) against a
    /// 10 ms PIT channel 2 countdown. Bounded: a PIT that never finishes
    /// gives nil instead of hanging boot.
    static func calibrate() -> Calibration? {
        let ticks = frequencyHz * calibrationMilliseconds / 1000
        var port = tern_inb(control)
        port = (port & ~speaker) | gate2
        tern_outb(control, port & ~gate2)  // gate low: hold the count
        tern_outb(command, channel2Mode0)
        tern_outb(channel2Data, UInt8(truncatingIfNeeded: ticks))
        tern_outb(channel2Data, UInt8(truncatingIfNeeded: ticks >> 8))

        LAPIC.startFreeRunning()
        let lapicStart = LAPIC.currentCount
        let tscStart = tern_rdtsc()
        tern_outb(control, port)           // gate high: count down
        var spins: UInt64 = 0
        let maxSpins: UInt64 = 1 << 32
        while tern_inb(control) & output2 == 0 {
            spins += 1
            if spins == maxSpins { return nil }
        }
        let tscEnd = tern_rdtsc()
        let lapicEnd = LAPIC.currentCount
        tern_outb(control, port & ~gate2)

        let scale = 1000 / calibrationMilliseconds
        return Calibration(tscHz: (tscEnd &- tscStart) * scale,
                           lapicCountsPerSecond: UInt64(lapicStart &- lapicEnd) * scale)
    }
}

enum LegacyPIC {
    static let masterCommand: UInt16 = 0x20, masterData: UInt16 = 0x21
    static let slaveCommand: UInt16 = 0xA0, slaveData: UInt16 = 0xA1
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
