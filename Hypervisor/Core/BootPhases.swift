/// Boot phase timing: each `mark(name, tsc)` closes the phase that began
/// at the previous mark (the first begins at Tern's first instruction).
/// Durations are kept in TSC cycles and turned into microseconds once the
/// TSC frequency is known, so the earliest phases can be timed too.
public struct BootPhases {
    public struct Phase {
        public var name: StaticString
        public var cycles: UInt64
    }

    public private(set) var phases: [Phase] = []
    private var lastTSC: UInt64
    public let startTSC: UInt64

    public init(startTSC: UInt64) {
        self.startTSC = startTSC
        lastTSC = startTSC
    }

    public mutating func mark(_ name: StaticString, tsc: UInt64) {
        phases.append(Phase(name: name, cycles: tsc &- lastTSC))
        lastTSC = tsc
    }

    public var totalCycles: UInt64 { lastTSC &- startTSC }

    /// cycles * 1e6 / hz, split so that nothing overflows for any TSC
    /// below 18 THz (and no 128-bit division, which needs compiler-rt).
    public static func microseconds(cycles: UInt64, tscHz: UInt64) -> UInt64 {
        guard tscHz > 0 else { return 0 }
        let perSecond: UInt64 = 1_000_000
        return (cycles / tscHz) &* perSecond &+ (cycles % tscHz) &* perSecond / tscHz
    }

    /// The table, one `phase NAME US us` line per phase, then the total.
    /// The boot tests parse these lines (parse_phases in Tests/Boot/tests_boot.py).
    public func log(tscHz: UInt64) {
        Log.info("Boot phases (TSC \(tscHz / 1_000_000) MHz):")
        for phase in phases {
            let us = BootPhases.microseconds(cycles: phase.cycles, tscHz: tscHz)
            Log.info("  phase \(phase.name, width: 20) \(us, width: 9) us")
        }
        let total = BootPhases.microseconds(cycles: totalCycles, tscHz: tscHz)
        Log.info("  phase \("total", width: 20) \(total, width: 9) us")
    }
}
