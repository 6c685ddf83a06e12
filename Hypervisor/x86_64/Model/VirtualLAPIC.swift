/// Dom0's virtual local APIC (xAPIC registers, APM vol. 2, 16.3-16.7; Intel
/// SDM vol. 3, 10.4-10.8): the registers Linux uses, the IRR/ISR/TMR
/// priority logic, EOI, TPR, the timer (one-shot, periodic, and
/// TSC-deadline where CPUID offers it: Emulation.tscDeadlineTimer) and
/// self-IPIs. Tern keeps the
/// physical LAPIC; this one is a model, driven by the MMIO emulation of the
/// page at 0xFEE00000 and by the run loop. Pure: time comes in as
/// nanoseconds, effects go out as return values.
public struct VirtualLAPIC {
    /// Register offsets in the 4 KiB page (Model/XAPICRegister.swift).
    public typealias Register = XAPICRegister

    /// Version 0x14 (integrated APIC), 6 LVT entries (max LVT index 5).
    public static let versionValue: UInt32 = 0x0005_0014
    public static let lvtMasked: UInt32 = 1 << 16
    static let lvtTimerPeriodic: UInt32 = 1 << 17
    static let lvtTimerTSCDeadline: UInt32 = 1 << 18
    static let lvtTimerModeMask: UInt32 = 3 << 17
    public static let svrEnabled: UInt32 = 1 << 8
    static let icrDeliveryStatus: UInt32 = 1 << 12
    static let icrLevelAssert: UInt32 = 1 << 14
    /// The virtual timer counts at this rate before the divider: 1 GHz, so
    /// a count is a nanosecond at divide-by-1 (Linux measures the rate).
    public static let timerBaseHz: UInt64 = 1_000_000_000

    public private(set) var tpr: UInt32 = 0
    public private(set) var svr: UInt32 = 0xFF        // reset: disabled, spurious vector 0xFF
    public private(set) var ldr: UInt32 = 0
    public private(set) var dfr: UInt32 = 0xFFFF_FFFF
    public private(set) var esr: UInt32 = 0
    public private(set) var icrLow: UInt32 = 0
    public private(set) var icrHigh: UInt32 = 0
    public private(set) var lvt = [UInt32](repeating: VirtualLAPIC.lvtMasked, count: 7)   // CMCI, timer, thermal, perf, LINT0, LINT1, error
    public private(set) var timerInitial: UInt32 = 0
    public private(set) var timerDivide: UInt32 = 0
    /// When the current count was loaded (ns) and when it reaches zero.
    public private(set) var timerStart: UInt64 = 0
    public private(set) var timerDeadline: UInt64 = 0   // 0: not running
    /// IA32_TSC_DEADLINE as the guest wrote it (TSC-deadline mode only;
    /// 0: disarmed, and again once the timer fired).
    public private(set) var tscDeadline: UInt64 = 0

    /// Interrupts from the 8259 (through LINT0 in ExtINT mode), waiting:
    /// taken whatever the priorities and whether or not the LAPIC is
    /// enabled (the 8259 mode a guest boots in), highest first, never in
    /// service, no EOI (SDM 10.5.1). A set: the 8259 may have several
    /// lines requested before the guest takes one.
    public private(set) var external = VectorSet()
    public private(set) var irr = VectorSet()
    public private(set) var isr = VectorSet()
    public private(set) var tmr = VectorSet()

    public init() {}

    public var isEnabled: Bool { svr & VirtualLAPIC.svrEnabled != 0 }

    // MARK: Register access

    /// What a 32-bit read at `offset` in the page returns.
    public func read(_ offset: Int, now: UInt64) -> UInt32 {
        switch offset {
        case Register.id: return 0
        case Register.version: return VirtualLAPIC.versionValue
        case Register.tpr: return tpr
        case Register.apr: return 0
        case Register.ppr: return processorPriority
        case Register.ldr: return ldr
        case Register.dfr: return dfr
        case Register.svr: return svr
        case Register.isr..<(Register.isr + 0x80): return VirtualLAPIC.register(isr, at: offset - Register.isr)
        case Register.tmr..<(Register.tmr + 0x80): return VirtualLAPIC.register(tmr, at: offset - Register.tmr)
        case Register.irr..<(Register.irr + 0x80): return VirtualLAPIC.register(irr, at: offset - Register.irr)
        case Register.esr: return esr
        case Register.icrLow: return icrLow & ~VirtualLAPIC.icrDeliveryStatus
        case Register.icrHigh: return icrHigh
        case Register.timerInitial: return timerInitial
        case Register.timerCurrent: return currentCount(now: now)
        case Register.timerDivide: return timerDivide
        default:
            if let index = lvtIndex(offset) { return lvt[index] }
            return 0
        }
    }

    /// What a write asks Tern to do besides updating the model.
    public enum Effect: Equatable {
        case none
        /// An EOI ended this vector (it may have come from the hardware).
        case endOfInterrupt(UInt8)
        /// An IPI this model cannot deliver (another CPU, INIT, NMI...).
        case unsupportedIPI(UInt32)
    }

    public mutating func write(_ offset: Int, _ value: UInt32, now: UInt64) -> Effect {
        switch offset {
        case Register.tpr: tpr = value & 0xFF
        case Register.eoi: return endOfInterrupt()
        case Register.ldr: ldr = value & 0xFF00_0000
        case Register.dfr: dfr = value | 0x0FFF_FFFF
        case Register.svr:
            svr = value & 0x13FF
            if !isEnabled { for i in lvt.indices { lvt[i] |= VirtualLAPIC.lvtMasked } }
        case Register.esr: esr = 0
        case Register.icrHigh: icrHigh = value
        case Register.icrLow:
            icrLow = value
            return sendIPI(value)
        case Register.selfIPI:
            accept(UInt8(truncatingIfNeeded: value), level: false)
        case Register.timerInitial:
            // Ignored in TSC-deadline mode (Intel SDM vol. 3, 10.5.4.1).
            guard !isTSCDeadlineMode else { break }
            timerInitial = value
            startTimer(now: now)
        case Register.timerDivide:
            timerDivide = value & 0xB
        default:
            if let index = lvtIndex(offset) {
                var v = value & (index == 1 ? 0x7_10FF : 0x1_87FF)   // timer: mode bits; others: delivery, trigger, mask
                if !isEnabled { v |= VirtualLAPIC.lvtMasked }
                let oldMode = lvt[1] & VirtualLAPIC.lvtTimerModeMask
                lvt[index] = v
                // A change of timer mode disarms the timer (SDM 10.5.4.1).
                if index == 1 && oldMode != v & VirtualLAPIC.lvtTimerModeMask {
                    timerDeadline = 0
                    tscDeadline = 0
                }
            }
        }
        return .none
    }

    func lvtIndex(_ offset: Int) -> Int? {
        switch offset {
        case Register.lvtCMCI: return 0
        case Register.lvtTimer: return 1
        case Register.lvtThermal: return 2
        case Register.lvtPerf: return 3
        case Register.lvtLINT0: return 4
        case Register.lvtLINT1: return 5
        case Register.lvtError: return 6
        default: return nil
        }
    }

    // MARK: Interrupts

    /// Processor priority: the higher of the TPR and the class of the
    /// highest vector in service (SDM 10.8.3.1).
    public var processorPriority: UInt32 {
        let inService = UInt32(isr.highest ?? 0) & 0xF0
        return tpr & 0xF0 >= inService ? tpr & 0xFF : inService
    }

    /// A fixed interrupt for this vector: into the IRR (and the TMR if
    /// level-triggered). Vectors 0-15 are illegal and dropped.
    public mutating func accept(_ vector: UInt8, level: Bool) {
        guard vector >= 16 else { esr |= 1 << 6; return }   // "received illegal vector"
        irr.insert(vector)
        if level { tmr.insert(vector) } else { tmr.remove(vector) }
    }

    /// An 8259 interrupt delivered through LINT0 in ExtINT mode.
    public mutating func acceptExternal(_ vector: UInt8) { external.insert(vector) }

    /// The vector the CPU would take now, if any: an ExtINT one, else the
    /// highest requested whose class is above the processor priority.
    public var deliverable: UInt8? {
        if let highest = external.highest { return highest }
        guard isEnabled, let highest = irr.highest else { return nil }
        return UInt32(highest) & 0xF0 > processorPriority & 0xF0 ? highest : nil
    }

    /// The CPU took `vector` (the guest's IDT ran it): IRR to ISR.
    public mutating func acknowledge(_ vector: UInt8) {
        if external.contains(vector) { external.remove(vector); return }
        irr.remove(vector)
        isr.insert(vector)
    }

    /// EOI: the highest vector in service is done.
    mutating func endOfInterrupt() -> Effect {
        guard let vector = isr.highest else { return .none }
        isr.remove(vector)
        return .endOfInterrupt(vector)
    }

    /// Only what one vCPU can send itself: a fixed IPI to itself ("self"
    /// shorthand, or "all including self"), or to destination 0 (its ID).
    mutating func sendIPI(_ low: UInt32) -> Effect {
        let vector = UInt8(truncatingIfNeeded: low)
        let deliveryMode = (low >> 8) & 7
        let shorthand = (low >> 18) & 3
        let toSelf = shorthand == 1 || shorthand == 2 || (shorthand == 0 && icrHigh >> 24 == 0)
        guard deliveryMode == 0, toSelf else { return .unsupportedIPI(low) }
        accept(vector, level: false)
        return .none
    }

    // MARK: Timer

    var divider: UInt64 {
        // Divide configuration: bits 0, 1 and 3 (SDM figure 10-10).
        let code = (timerDivide & 3) | ((timerDivide & 8) >> 1)
        return code == 7 ? 1 : UInt64(2) << UInt64(code)
    }

    /// Nanoseconds per timer count.
    public var nanosecondsPerCount: UInt64 { divider * 1_000_000_000 / VirtualLAPIC.timerBaseHz }

    mutating func startTimer(now: UInt64) {
        timerStart = now
        timerDeadline = timerInitial == 0 ? 0 : now &+ UInt64(timerInitial) * nanosecondsPerCount
    }

    public func currentCount(now: UInt64) -> UInt32 {
        guard timerDeadline != 0, now < timerDeadline else { return 0 }
        return UInt32(truncatingIfNeeded: (timerDeadline - now) / nanosecondsPerCount)
    }

    /// Called as time passes: an expired timer raises its LVT vector
    /// (unless masked) and rearms if periodic. True if it fired.
    public mutating func updateTimer(now: UInt64) -> Bool {
        guard timerDeadline != 0, now >= timerDeadline else { return false }
        let entry = lvt[1]
        if entry & VirtualLAPIC.lvtTimerPeriodic != 0 && timerInitial != 0 {
            let period = UInt64(timerInitial) * nanosecondsPerCount
            // Skip the periods that were missed: one interrupt, as a busy CPU would.
            let missed = (now - timerDeadline) / period
            timerStart = timerDeadline &+ missed * period
            timerDeadline = timerStart &+ period
        } else {
            timerDeadline = 0
            tscDeadline = 0   // a TSC deadline that fired reads 0, as KVM's and Xen's
        }
        guard entry & VirtualLAPIC.lvtMasked == 0 else { return false }
        accept(UInt8(truncatingIfNeeded: entry), level: false)
        return true
    }
}

extension VirtualLAPIC {
    /// The timer is in TSC-deadline mode (LVT timer bits 18:17 = 10b).
    public var isTSCDeadlineMode: Bool { lvt[1] & VirtualLAPIC.lvtTimerModeMask == VirtualLAPIC.lvtTimerTSCDeadline }

    /// RDMSR IA32_TSC_DEADLINE: 0 outside TSC-deadline mode (SDM 10.5.4.1).
    public func readTSCDeadline() -> UInt64 { isTSCDeadlineMode ? tscDeadline : 0 }

    /// WRMSR IA32_TSC_DEADLINE (SDM 10.5.4.1): in TSC-deadline mode, arms
    /// the timer to fire when the TSC reaches `value` (at once if it has;
    /// 0 disarms); ignored in the other modes. The TSC (`tscNow`, counting
    /// at `tscHz`) is converted to the model's nanosecond clock (`now`).
    public mutating func writeTSCDeadline(_ value: UInt64, tscNow: UInt64, tscHz: UInt64, now: UInt64) {
        guard isTSCDeadlineMode else { return }
        tscDeadline = value
        guard value != 0 else { timerDeadline = 0; return }
        let cycles = value > tscNow ? value - tscNow : 0
        // In kHz, so that the product stays in 64 bits for any deadline
        // up to about 2 hours ahead at 2.6 GHz (beyond, kHz precision).
        let khz = max(tscHz / 1000, 1)
        let nsPerMs = VirtualLAPIC.nanosecondsPerSecond / 1000
        let ns = cycles <= UInt64.max / nsPerMs ? cycles * nsPerMs / khz : cycles / khz * nsPerMs
        let far = UInt64.max / 4   // centuries: never, in practice
        timerDeadline = max(now + min(ns, far), 1)
    }

    static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    /// A vector set's register at `offset` from its block (0x00, 0x10, ...
    /// 0x70: eight 32-bit registers 16 bytes apart); 0 between registers.
    static func register(_ set: VectorSet, at offset: Int) -> UInt32 {
        offset % 16 == 0 ? set.register(offset / 16) : 0
    }
}
