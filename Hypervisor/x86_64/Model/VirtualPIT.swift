/// Channel 2 of a guest's 8254 timer and port 0x61's bits for it
/// (Emulation.pitChannel2): the "PC speaker" counter, the one part of the
/// PIT a Linux guest whose clock event is the TSC-deadline timer still
/// uses. Its early boot calibrates the CPU's clock against it
/// (quick_pit_calibrate, arch/x86/kernel/tsc.c) even when told the TSC's
/// frequency. With the ports reading all ones, the counter's high byte
/// always read 0xFF, the value it expects first, so it polled port 0x42
/// 100,000 times (two exits each read) before giving up: about 2.5 s of
/// every boot under TCG. Modelled here, the counter runs, so the
/// calibration ends within its 50 ms.
///
/// What is modelled (Intel 8254 data sheet, 231244; port 0x61 as on every
/// PC since the AT):
/// - the control word on port 0x43 for counter 2 (access mode LSB, MSB or
///   LSB-then-MSB, modes 0-5, the counter latch command) and the
///   read-back command's count and status latches for counter 2;
/// - the count on port 0x42, counting down at 1.193182 MHz from the
///   moment it is written, while the gate (port 0x61 bit 0) is high:
///   modes 0, 1, 4 and 5 count through zero and wrap, as the chip does;
///   modes 2 and 3 reload at the end of each period (mode 3 counts by two);
///   a gate rising reloads the count in modes 1, 2, 3 and 5;
/// - port 0x61: bit 0 (gate 2) and bit 1 (speaker data) as written, bit 4
///   the refresh toggle (every 15 us), bit 5 counter 2's output.
/// Not modelled: BCD counting (the count is binary either way), counters
/// 0 and 1 (absent: their ports read all ones, their control words are
/// ignored; channel 0's interrupt is not wired), sound.
public struct VirtualPIT: Equatable {
    public static let counter2Port: UInt16 = 0x42
    public static let controlPort: UInt16 = 0x43
    public static let systemControlPort: UInt16 = 0x61
    /// The PIT's input clock (a PC's 14.31818 MHz crystal / 12).
    public static let frequencyHz: UInt64 = 1_193_182
    /// Port 0x61's refresh toggle changes every 15.085 us (DRAM refresh).
    static let refreshPeriodNanoseconds: UInt64 = 15_085
    static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    // Control word (port 0x43): SC1 SC0 RW1 RW0 M2 M1 M0 BCD.
    static let selectShift: UInt8 = 6
    static let selectCounter2: UInt8 = 2
    static let selectReadBack: UInt8 = 3
    static let accessShift: UInt8 = 4
    static let accessMask: UInt8 = 3
    static let accessLatch: UInt8 = 0
    static let modeShift: UInt8 = 1
    static let modeMask: UInt8 = 7
    /// Read-back: bit 5 clear latches the count, bit 4 clear the status;
    /// bit 3 selects counter 2.
    static let readBackNoCount: UInt8 = 1 << 5
    static let readBackNoStatus: UInt8 = 1 << 4
    static let readBackCounter2: UInt8 = 1 << 3
    /// Status byte: OUTPUT (bit 7), NULL COUNT (bit 6), then the control word's low six bits.
    static let statusOutput: UInt8 = 1 << 7
    static let statusNullCount: UInt8 = 1 << 6
    // Port 0x61.
    public static let gateBit: UInt8 = 1 << 0
    public static let speakerDataBit: UInt8 = 1 << 1
    static let refreshBit: UInt8 = 1 << 4
    public static let outputBit: UInt8 = 1 << 5

    public enum AccessMode: UInt8 { case latch = 0, lowByte = 1, highByte = 2, lowThenHigh = 3 }

    public private(set) var access = AccessMode.lowThenHigh
    public private(set) var mode: UInt8 = 0
    public private(set) var bcd = false
    /// The count written, 0 for 65536 (modes 2 and 3: 65536 too).
    public private(set) var initialCount: UInt16 = 0
    /// Whether a count was written since the last control word (counting
    /// starts with it).
    public private(set) var loaded = false
    public private(set) var gate = false
    public private(set) var speakerData = false
    /// Ticks counted before the last time the gate went low or the count
    /// was (re)loaded, and the tick when counting last (re)started.
    var countedBefore: UInt64 = 0
    var runningSince: UInt64 = 0
    /// The LSB-then-MSB write and read sequences: the next byte is the high one.
    var writeHighNext = false
    var readHighNext = false
    var lowByteWritten: UInt8 = 0
    /// A latched count (counter latch or read-back) and whether its high
    /// byte is next; a latched status byte (read before the count).
    var latchedCount: UInt16?
    var latchedHighNext = false
    var latchedStatus: UInt8?

    public init() {}

    /// The PIT tick at `nanoseconds` of system time.
    public static func ticks(atNanoseconds nanoseconds: UInt64) -> UInt64 {
        // Whole seconds and the rest apart: no 128-bit division (which
        // the freestanding image has no runtime routine for), no overflow.
        let seconds = nanoseconds / nanosecondsPerSecond, rest = nanoseconds % nanosecondsPerSecond
        return seconds * frequencyHz + rest * frequencyHz / nanosecondsPerSecond
    }

    /// Ticks counted since the count was loaded, at tick `now`.
    func elapsed(at now: UInt64) -> UInt64 {
        guard loaded else { return 0 }
        return countedBefore &+ (gate && now > runningSince ? now - runningSince : 0)
    }

    var period: UInt64 { initialCount == 0 ? 0x1_0000 : UInt64(initialCount) }

    /// The counter's value at tick `now` (what a read returns).
    public func count(at now: UInt64) -> UInt16 {
        guard loaded else { return initialCount }
        let ticks = elapsed(at: now)
        switch mode {
        case 2:
            // N, N-1, ..., 1, then N again.
            return UInt16(truncatingIfNeeded: period - ticks % period)
        case 3:
            // By two, twice per period (each half counts N down to 0).
            let half = (ticks &* 2) % period
            return UInt16(truncatingIfNeeded: (period - half) & ~1)
        default:
            // Modes 0, 1, 4, 5: down through zero, wrapping at 16 bits.
            return UInt16(truncatingIfNeeded: period &- ticks)
        }
    }

    /// Counter 2's output at tick `now`.
    public func output(at now: UInt64) -> Bool {
        guard loaded else { return mode != 0 }
        let ticks = elapsed(at: now)
        switch mode {
        case 0, 1: return ticks >= period          // high from terminal count on
        case 2: return ticks % period != period - 1 // low for one tick a period
        case 3: return ticks % period < (period + 1) / 2
        default: return ticks != period             // modes 4, 5: low for one tick at zero
        }
    }

    public mutating func write(port: UInt16, value: UInt8, now: UInt64) {
        switch port {
        case VirtualPIT.controlPort: writeControl(value, now: now)
        case VirtualPIT.counter2Port: writeCount(value, now: now)
        case VirtualPIT.systemControlPort: writeSystemControl(value, now: now)
        default: break
        }
    }

    public mutating func read(port: UInt16, now: UInt64, nanoseconds: UInt64) -> UInt8 {
        switch port {
        case VirtualPIT.counter2Port: return readCount(now: now)
        case VirtualPIT.systemControlPort:
            var value = (gate ? VirtualPIT.gateBit : 0) | (speakerData ? VirtualPIT.speakerDataBit : 0)
            if (nanoseconds / VirtualPIT.refreshPeriodNanoseconds) & 1 != 0 { value |= VirtualPIT.refreshBit }
            if output(at: now) { value |= VirtualPIT.outputBit }
            return value
        default:
            return 0xFF   // the control port cannot be read (8254)
        }
    }

    mutating func writeControl(_ value: UInt8, now: UInt64) {
        let select = value >> VirtualPIT.selectShift
        if select == VirtualPIT.selectReadBack {
            guard value & VirtualPIT.readBackCounter2 != 0 else { return }
            // Status first when both are latched; a latch already held stays.
            if value & VirtualPIT.readBackNoStatus == 0, latchedStatus == nil { latchedStatus = status(at: now) }
            if value & VirtualPIT.readBackNoCount == 0 { latch(now: now) }
            return
        }
        guard select == VirtualPIT.selectCounter2 else { return }   // counters 0 and 1 are absent
        let accessBits = (value >> VirtualPIT.accessShift) & VirtualPIT.accessMask
        if accessBits == VirtualPIT.accessLatch {
            latch(now: now)
            return
        }
        access = AccessMode(rawValue: accessBits) ?? .lowThenHigh
        var newMode = (value >> VirtualPIT.modeShift) & VirtualPIT.modeMask
        if newMode > 5 { newMode -= 4 }   // 6 and 7 are modes 2 and 3 (8254)
        mode = newMode
        bcd = value & 1 != 0
        // A control word stops the counter until a count is written.
        countedBefore = 0
        loaded = false
        writeHighNext = false
        readHighNext = false
        latchedCount = nil
        latchedStatus = nil
    }

    mutating func latch(now: UInt64) {
        guard latchedCount == nil else { return }   // the first latch holds until read
        latchedCount = count(at: now)
        latchedHighNext = false
    }

    func status(at now: UInt64) -> UInt8 {
        var value = (access.rawValue << VirtualPIT.accessShift) | (mode << VirtualPIT.modeShift) | (bcd ? 1 : 0)
        if output(at: now) { value |= VirtualPIT.statusOutput }
        if !loaded { value |= VirtualPIT.statusNullCount }
        return value
    }

    mutating func writeCount(_ value: UInt8, now: UInt64) {
        switch access {
        case .lowByte: load(UInt16(value), now: now)
        case .highByte: load(UInt16(value) << 8, now: now)
        case .lowThenHigh, .latch:
            if writeHighNext {
                load(UInt16(lowByteWritten) | UInt16(value) << 8, now: now)
            } else {
                lowByteWritten = value
            }
            writeHighNext.toggle()
        }
    }

    /// A new count: counting starts from it now.
    mutating func load(_ value: UInt16, now: UInt64) {
        initialCount = value
        loaded = true
        countedBefore = 0
        runningSince = now
    }

    mutating func readCount(now: UInt64) -> UInt8 {
        if let status = latchedStatus {
            latchedStatus = nil
            return status
        }
        if let latched = latchedCount {
            let (byte, done) = pick(latched, highNext: &latchedHighNext)
            if done { latchedCount = nil }
            return byte
        }
        return pick(count(at: now), highNext: &readHighNext).byte
    }

    /// The byte of `value` the access mode reads next, and whether that
    /// read ends the value.
    func pick(_ value: UInt16, highNext: inout Bool) -> (byte: UInt8, done: Bool) {
        switch access {
        case .lowByte: return (UInt8(truncatingIfNeeded: value), true)
        case .highByte: return (UInt8(truncatingIfNeeded: value >> 8), true)
        case .lowThenHigh, .latch:
            let high = highNext
            highNext.toggle()
            return (UInt8(truncatingIfNeeded: high ? value >> 8 : value), high)
        }
    }

    mutating func writeSystemControl(_ value: UInt8, now: UInt64) {
        let newGate = value & VirtualPIT.gateBit != 0
        speakerData = value & VirtualPIT.speakerDataBit != 0
        guard newGate != gate else { return }
        if newGate {
            // A rising gate restarts the count in modes 1, 2, 3 and 5; in
            // modes 0 and 4 counting resumes where it stopped.
            if mode == 1 || mode == 2 || mode == 3 || mode == 5 { countedBefore = 0 }
            runningSince = now
        } else {
            countedBefore = elapsed(at: now)
        }
        gate = newGate
    }
}
