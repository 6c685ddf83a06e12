import TernCore
import TernCPU

/// The 8254 PIT: used once at boot, as a known clock to calibrate the TSC
/// and the LAPIC timer.
enum PIT {
    // The chip's facts are defined once, with the guests' model of it
    // (Model/VirtualPIT.swift).
    static let frequencyHz = VirtualPIT.frequencyHz
    static let channel2Data = VirtualPIT.counter2Port
    static let command = VirtualPIT.controlPort
    /// Port 0x61 (NMI status and control): bit 0 gates channel 2, bit 1
    /// drives the speaker, bit 5 reads channel 2's output.
    static let control = VirtualPIT.systemControlPort
    static let gate2 = VirtualPIT.gateBit
    static let speaker = VirtualPIT.speakerDataBit
    static let output2 = VirtualPIT.outputBit
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
