import TernCore
import TernCPU

/// The guests' CMOS clocks (Model/VirtualRTC.swift) and the wall time they
/// read: the machine's own MC146818, read once at boot (before Dom0, which
/// owns it from then on, runs), plus Tern's system time since.
enum CMOSClockEmulation {
    static func access(port: UInt16, isIn: Bool, value: UInt8, domain: Domain) -> UInt8 {
        guard domain.context.rtc != nil else { return 0xFF }
        if !isIn {
            domain.context.rtc!.write(port: port, value: value)
            return 0
        }
        return domain.context.rtc!.read(port: port, unixSeconds: wallSeconds())
    }

    /// Now, in Unix seconds (0 when the machine's clock could not be read).
    static func wallSeconds() -> UInt64 {
        guard bootWallSeconds > 0 else { return 0 }
        return bootWallSeconds + (SystemTime.nowNanoseconds() - bootSystemNanoseconds) / 1_000_000_000
    }

    /// Reads the machine's clock (MC146818A data sheet; BCD or binary,
    /// 12- or 24-hour as its register B says): waits out an update in
    /// progress (at most `updateWaitReads` reads of register A; an update
    /// takes under 2 ms), then reads the time twice until both agree.
    static func readMachineClock() {
        var waits = 0
        while read(VirtualRTC.registerA) & updateInProgress != 0 {
            waits += 1
            if waits > updateWaitReads { return }
        }
        var time = readTime()
        for _ in 0..<sameReadAttempts {
            let again = readTime()
            if again == time { break }
            time = again
        }
        guard let seconds = time else { return }
        bootWallSeconds = seconds
        bootSystemNanoseconds = SystemTime.nowNanoseconds()
    }

    static let updateInProgress: UInt8 = 0x80
    static let updateWaitReads = 100_000
    static let sameReadAttempts = 3
    static let binaryMode: UInt8 = 0x04      // register B: DM
    static let twentyFourHours: UInt8 = 0x02 // register B: 24/12
    static let pmBit: UInt8 = 0x80           // the hour's PM flag in 12-hour mode

    static func read(_ register: UInt8) -> UInt8 {
        tern_outb(VirtualRTC.indexPort, register)
        return tern_inb(VirtualRTC.dataPort)
    }

    /// The clock's time as Unix seconds; nil if it reads as nonsense (no clock).
    static func readTime() -> UInt64? {
        let b = read(VirtualRTC.registerB)
        func value(_ register: UInt8) -> Int {
            let raw = read(register)
            return b & binaryMode != 0 ? Int(raw) : Int(raw >> 4) * 10 + Int(raw & 0x0F)
        }
        var hour = Int(read(VirtualRTC.hours))
        let pm = b & twentyFourHours == 0 && hour & Int(pmBit) != 0
        hour &= ~Int(pmBit)
        hour = b & binaryMode != 0 ? hour : (hour >> 4) * 10 + (hour & 0x0F)
        if b & twentyFourHours == 0 { hour = hour % 12 + (pm ? 12 : 0) }
        let year = value(VirtualRTC.century) * 100 + value(VirtualRTC.year)
        return CivilTime.unixSeconds(year: year, month: value(VirtualRTC.month), day: value(VirtualRTC.day),
                                     hour: hour, minute: value(VirtualRTC.minutes), second: value(VirtualRTC.seconds))
    }
}
