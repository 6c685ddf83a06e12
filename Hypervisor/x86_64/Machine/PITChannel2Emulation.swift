import TernCore
import TernCPU

/// The guests' 8254 counter 2 (Model/VirtualPIT.swift) on ports 0x42,
/// 0x43 and 0x61, counting in Tern's system time (the TSC, calibrated at
/// boot against the machine's own PIT: Machine/PIT.swift), so a guest
/// that calibrates its TSC against it finds Tern's frequency.
enum PITChannel2Emulation {
    static func access(port: UInt16, isIn: Bool, value: UInt8, domain: Domain) -> UInt8 {
        guard domain.context.pit != nil else { return 0xFF }
        let nanoseconds = SystemTime.nowNanoseconds()
        let now = VirtualPIT.ticks(atNanoseconds: nanoseconds)
        if !isIn {
            domain.context.pit!.write(port: port, value: value, now: now)
            return 0
        }
        return domain.context.pit!.read(port: port, now: now, nanoseconds: nanoseconds)
    }
}
