/// A guest's MC146818 CMOS clock on ports 0x70 (index) and 0x71 (data)
/// (Emulation.cmosClock): what a PC's Linux reads the wall time from at
/// boot. Without it those ports read all ones, so register A says an
/// update is in progress forever and Linux polls it, through port exits,
/// for about 2 s of every boot before it gives up ("Unable to read
/// current time from RTC"). The clock reads, in BCD and 24-hour mode, the
/// wall time Tern gives it; it never updates in the middle of a read (UIP
/// clear), keeps no alarm and raises no interrupt; writes are ignored
/// (a guest does not set the host's clock). Register numbers and bits:
/// the MC146818A data sheet, as Linux's include/linux/mc146818rtc.h.
public struct VirtualRTC: Equatable {
    public static let indexPort: UInt16 = 0x70
    public static let dataPort: UInt16 = 0x71
    /// Bit 7 of an index write is the NMI mask on a PC, not the index.
    static let indexMask: UInt8 = 0x7F

    public static let seconds: UInt8 = 0x00, minutes: UInt8 = 0x02, hours: UInt8 = 0x04
    public static let weekday: UInt8 = 0x06, day: UInt8 = 0x07, month: UInt8 = 0x08, year: UInt8 = 0x09
    public static let registerA: UInt8 = 0x0A, registerB: UInt8 = 0x0B, registerC: UInt8 = 0x0C, registerD: UInt8 = 0x0D
    public static let century: UInt8 = 0x32
    /// Register A: the 32.768 kHz time base, 1024 Hz rate, UIP (bit 7) clear.
    static let registerAValue: UInt8 = 0x26
    /// Register B: 24-hour mode (bit 1), BCD (bit 2 clear), no interrupts.
    static let registerBValue: UInt8 = 0x02
    /// Register D: valid RAM and time (VRT, bit 7).
    static let registerDValue: UInt8 = 0x80

    public private(set) var index: UInt8 = 0

    public init() {}

    public mutating func write(port: UInt16, value: UInt8) {
        if port == VirtualRTC.indexPort { index = value & VirtualRTC.indexMask }
    }

    /// A read of `port` with the wall time `unixSeconds`.
    public func read(port: UInt16, unixSeconds: UInt64) -> UInt8 {
        guard port == VirtualRTC.dataPort else { return index }
        let t = CivilTime(unixSeconds: unixSeconds)
        switch index {
        case VirtualRTC.seconds: return bcd(t.second)
        case VirtualRTC.minutes: return bcd(t.minute)
        case VirtualRTC.hours: return bcd(t.hour)
        case VirtualRTC.weekday: return bcd(t.weekday + 1)       // 1 = Sunday
        case VirtualRTC.day: return bcd(t.day)
        case VirtualRTC.month: return bcd(t.month)
        case VirtualRTC.year: return bcd(t.year % 100)
        case VirtualRTC.century: return bcd(t.year / 100)
        case VirtualRTC.registerA: return VirtualRTC.registerAValue
        case VirtualRTC.registerB: return VirtualRTC.registerBValue
        case VirtualRTC.registerD: return VirtualRTC.registerDValue
        default: return 0                                          // register C: no interrupt flags; CMOS RAM: zero
        }
    }

    func bcd(_ value: Int) -> UInt8 { UInt8(value / 10 * 16 + value % 10) }
}

/// A Unix time as a calendar date and time (UTC), for the clock above:
/// days to a civil date by H. Hinnant's days_from_civil inverse.
public struct CivilTime: Equatable {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    public var weekday: Int   // 0 = Sunday

    static let secondsPerDay: UInt64 = 86_400
    static let daysPerEra = 146_097
    static let epochShift = 719_468   // days from 0000-03-01 to 1970-01-01
    static let thursday = 4           // 1970-01-01

    /// The Unix time of a date (days_from_civil); nil if it is not one a
    /// clock could hold (1970 to 2399).
    public static func unixSeconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> UInt64? {
        guard (1970...2399).contains(year), (1...12).contains(month), (1...31).contains(day),
              (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second) else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * daysPerEra + dayOfEra - epochShift
        return UInt64(days) * secondsPerDay + UInt64(hour * 3600 + minute * 60 + second)
    }

    public init(unixSeconds: UInt64) {
        let days = Int(unixSeconds / CivilTime.secondsPerDay)
        let rest = Int(unixSeconds % CivilTime.secondsPerDay)
        hour = rest / 3600
        minute = rest / 60 % 60
        second = rest % 60
        weekday = (days + CivilTime.thursday) % 7
        let z = days + CivilTime.epochShift
        let era = z / CivilTime.daysPerEra
        let dayOfEra = z - era * CivilTime.daysPerEra
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153              // 0 = March
        day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }
}
